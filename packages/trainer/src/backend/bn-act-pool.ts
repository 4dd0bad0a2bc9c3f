// The fused batch-norm + LeakyReLU + max-pool kernel of the wasm backend and its gradient kernel, which
// replace the Tile-heavy stock batch-norm gradient. Each runs as per-image partial sums → batch-wide
// statistics (across threads when a step is split, see batch-sync.ts) → one elementwise pass; the
// loops are the SIMD module's, or the JS reference ones.
import * as tf from '@tensorflow/tfjs';
import { currentSlice, reduceOverBatch, sumImages } from './batch-sync.js';
import { booleanAttr, input, numberAttr, type Shape4, shape4 } from './kernel-args.js';
import { bnActPoolBackward1, bnActPoolForward, bnBackward2, bnPartialSums } from './reference-kernels.js';
import { carve, f32, i32, ptr, simdFor, type WasmBackendLike, wasmBackend } from './wasm-backend.js';

/** Name of the fused batch-norm + LeakyReLU + max-pool kernel. */
export const FUSED_BN_ACT_POOL = 'DataverBnLeakyPool';
/** Name of its gradient kernel. */
export const FUSED_BN_ACT_POOL_GRAD = 'DataverBnLeakyPoolGrad';

/**
 * Attributes of the fused kernel. A type alias, not an interface, so that it is a `tf.NamedAttrMap`
 * as it is (aliases get an implicit index signature).
 */
export type FusedBnActPoolAttrs = {
  /** Batch statistics (true) or the given moving statistics (false). */
  training: boolean;
  epsilon: number;
  /** LeakyReLU negative slope. */
  alpha: number;
  /** 2: 2×2 max-pool with stride 2 (floor), 1: no pooling. */
  pool: 1 | 2;
};

function fusedAttrs(attrs: tf.NamedAttrMap | undefined): FusedBnActPoolAttrs {
  const pool = numberAttr(attrs?.pool, 'pool');
  if (pool !== 1 && pool !== 2) throw new Error(`kernel argument pool is ${pool}, not 1 or 2`);
  return {
    training: booleanAttr(attrs?.training, 'training'),
    epsilon: numberAttr(attrs?.epsilon, 'epsilon'),
    alpha: numberAttr(attrs?.alpha, 'alpha'),
    pool,
  };
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

function pooledShape(shape: Shape4, pool: number): Shape4 {
  const [n, h, w, c] = shape;
  return pool === 2 ? [n, Math.floor(h / 2), Math.floor(w / 2), c] : [n, h, w, c];
}

/** Per-channel y = x·scale + shift of batch norm (bias is the preceding convolution's). */
function scaleAndShift(
  gamma: Float32Array,
  beta: Float32Array,
  bias: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  epsilon: number,
  scale: Float32Array,
  shift: Float32Array,
): void {
  for (let ch = 0; ch < gamma.length; ch++) {
    scale[ch] = gamma[ch]! / Math.sqrt(variance[ch]! + epsilon);
    shift[ch] = beta[ch]! + (bias[ch]! - mean[ch]!) * scale[ch]!;
  }
}

/** Heap views over scratch pointers (taken after every allocation of the kernel call). */
function heapF32(backend: WasmBackendLike, pointer: number, length: number): Float32Array {
  return new Float32Array(backend.wasm.asm.memory.buffer, pointer, length);
}
function heapF64(backend: WasmBackendLike, pointer: number, length: number): Float64Array {
  return new Float64Array(backend.wasm.asm.memory.buffer, pointer, length);
}

function forwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = wasmBackend(args.backend);
  const attrs = fusedAttrs(args.attrs);
  const x = input(args.inputs, 'x');
  const shape = shape4(x.shape, 'x.shape');
  const [n, h, w, c] = shape;
  const outShape = pooledShape(shape, attrs.pool);
  const out = backend.makeOutput(outShape, 'float32');
  const meanOut = backend.makeOutput([c], 'float32');
  const varOut = backend.makeOutput([c], 'float32');
  const argmax = backend.makeOutput(outShape, 'int32');
  const simd = simdFor(backend);
  const width = 2 * c;
  const [pPartials = 0, pScale = 0, pShift = 0] = simd
    ? carve(simd.scratch, [n * width * 8, c * 4, c * 4])
    : [];
  const mean = f32(backend, meanOut);
  const variance = f32(backend, varOut);
  const bias = f32(backend, input(args.inputs, 'bias'));
  if (attrs.training) {
    const partials = simd ? heapF64(backend, pPartials, n * width) : new Float64Array(n * width);
    if (simd) simd.kernels.bnPartialSums(ptr(backend, x), n, h * w, c, pPartials);
    else bnPartialSums(f32(backend, x), n, h * w, c, partials);
    const sums = reduceOverBatch(partials, n, width);
    const positions = currentSlice(n).total * h * w;
    for (let ch = 0; ch < c; ch++) {
      const m = sums[2 * ch]! / positions;
      mean[ch] = m + bias[ch]!;
      variance[ch] = Math.max(0, sums[2 * ch + 1]! / positions - m * m);
    }
  } else {
    mean.set(f32(backend, input(args.inputs, 'mean')));
    variance.set(f32(backend, input(args.inputs, 'variance')));
  }
  const scale = simd ? heapF32(backend, pScale, c) : new Float32Array(c);
  const shift = simd ? heapF32(backend, pShift, c) : new Float32Array(c);
  const gamma = f32(backend, input(args.inputs, 'gamma'));
  scaleAndShift(
    gamma,
    f32(backend, input(args.inputs, 'beta')),
    bias,
    mean,
    variance,
    attrs.epsilon,
    scale,
    shift,
  );
  const a = (1 + attrs.alpha) / 2;
  const b = (1 - attrs.alpha) / 2;
  if (simd) {
    simd.kernels.bnActPoolForward(
      ptr(backend, x),
      n,
      h,
      w,
      c,
      pScale,
      pShift,
      a,
      b,
      attrs.pool,
      ptr(backend, out),
      ptr(backend, argmax),
    );
  } else {
    bnActPoolForward(
      f32(backend, x),
      shape,
      scale,
      shift,
      a,
      b,
      attrs.pool,
      f32(backend, out),
      i32(backend, argmax),
    );
  }
  return [out, meanOut, varOut, argmax];
}

function backwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = wasmBackend(args.backend);
  const attrs = fusedAttrs(args.attrs);
  const x = input(args.inputs, 'x');
  const shape = shape4(x.shape, 'x.shape');
  const [n, h, w, c] = shape;
  const dx = backend.makeOutput([n, h, w, c], 'float32');
  const dGammaOut = backend.makeOutput([c], 'float32');
  const dBetaOut = backend.makeOutput([c], 'float32');
  const dBiasOut = backend.makeOutput([c], 'float32');
  const simd = simdFor(backend);
  const width = 2 * c;
  const [pSums = 0, pScale = 0, pShift = 0, pA = 0, pB = 0, pD = 0] = simd
    ? carve(simd.scratch, [n * width * 8, c * 4, c * 4, c * 4, c * 4, c * 4])
    : [];
  const view = (name: string) => f32(backend, input(args.inputs, name));
  const mean = view('mean');
  const variance = view('variance');
  const bias = view('bias');
  const scale = simd ? heapF32(backend, pScale, c) : new Float32Array(c);
  const shift = simd ? heapF32(backend, pShift, c) : new Float32Array(c);
  scaleAndShift(view('gamma'), view('beta'), bias, mean, variance, attrs.epsilon, scale, shift);
  const partials = simd ? heapF64(backend, pSums, n * width) : new Float64Array(n * width);
  const dy = input(args.inputs, 'dy');
  const argmax = input(args.inputs, 'argmax');
  if (simd) {
    simd.kernels.bnActPoolBackward1(
      ptr(backend, x),
      n,
      h,
      w,
      c,
      attrs.pool,
      ptr(backend, argmax),
      ptr(backend, dy),
      pScale,
      pShift,
      attrs.alpha,
      ptr(backend, dx),
      pSums,
    );
  } else {
    const dxView = f32(backend, dx);
    bnActPoolBackward1(
      view('x'),
      shape,
      attrs.pool,
      i32(backend, argmax),
      f32(backend, dy),
      scale,
      shift,
      attrs.alpha,
      dxView,
      partials,
    );
  }
  // This thread's sums give its share of dγ, dβ (the step adds the shares); the batch-wide sums give the
  // terms of dx that come from the statistics depending on every image of the batch.
  const local = sumImages(partials, n, width);
  const global = attrs.training ? reduceOverBatch(partials, n, width) : local;
  const positions = currentSlice(n).total * h * w;
  const dGamma = f32(backend, dGammaOut);
  const dBeta = f32(backend, dBetaOut);
  const dBias = f32(backend, dBiasOut);
  const A = simd ? heapF32(backend, pA, c) : new Float32Array(c);
  const B = simd ? heapF32(backend, pB, c) : new Float32Array(c);
  const D = simd ? heapF32(backend, pD, c) : new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    const invStd = 1 / Math.sqrt(variance[ch]! + attrs.epsilon);
    const sc = scale[ch]!;
    // Statistics are of u = x + bias; the sums are over x.  Σ dy·x̂ = σ⁻¹·(Σ dy·x − mean·Σ dy).
    const meanX = mean[ch]! - bias[ch]!;
    dGamma[ch] = invStd * (local[2 * ch + 1]! - meanX * local[2 * ch]!);
    dBeta[ch] = local[2 * ch]!;
    // With batch statistics the bias cancels exactly (its gradient is 0, not rounding noise that Adam
    // would amplify); with moving statistics it shifts the output like beta.
    dBias[ch] = attrs.training ? 0 : sc * local[2 * ch]!;
    A[ch] = sc;
    B[ch] = 0;
    D[ch] = 0;
    if (attrs.training) {
      // dx = γ·σ⁻¹·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), expanded into A·dy + B·x + D per channel.
      const sdxh = invStd * (global[2 * ch + 1]! - meanX * global[2 * ch]!);
      const k = (sc * invStd * sdxh) / positions;
      B[ch] = -k;
      D[ch] = (-sc * global[2 * ch]!) / positions + k * meanX;
    }
  }
  if (simd) simd.kernels.bnBackward2(ptr(backend, x), n * h * w, c, pA, pB, pD, ptr(backend, dx));
  else bnBackward2(view('x'), n * h * w, c, A, B, D, f32(backend, dx));
  return [dx, dGammaOut, dBetaOut, dBiasOut];
}

/**
 * Registers the fused kernel, its gradient kernel and the gradient function on the wasm backend.
 *
 * @example
 * ```ts
 * registerBnActPool();
 * ```
 */
export function registerBnActPool(): void {
  tf.registerKernel({ kernelName: FUSED_BN_ACT_POOL, backendName: 'wasm', kernelFunc: forwardKernel });
  tf.registerKernel({ kernelName: FUSED_BN_ACT_POOL_GRAD, backendName: 'wasm', kernelFunc: backwardKernel });
  tf.registerGradient({
    kernelName: FUSED_BN_ACT_POOL,
    inputsToSave: ['x', 'bias', 'gamma', 'beta', 'mean', 'variance'],
    outputsToSave: [false, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, bias, gamma, beta, movingMean, movingVariance, usedMean, usedVariance, argmax] =
        saved as tf.Tensor[];
      const dy = (dys as tf.Tensor[])[0]!;
      const [dx, dGamma, dBeta, dBias] = tf.engine().runKernel(
        FUSED_BN_ACT_POOL_GRAD,
        {
          x: x!,
          bias: bias!,
          gamma: gamma!,
          beta: beta!,
          mean: usedMean!,
          variance: usedVariance!,
          argmax: argmax!,
          dy,
        },
        attrs,
      ) as tf.Tensor[];
      return {
        x: () => dx!,
        bias: () => dBias!,
        gamma: () => dGamma!,
        beta: () => dBeta!,
        mean: () => tf.zerosLike(movingMean!),
        variance: () => tf.zerosLike(movingVariance!),
      };
    },
  });
}
