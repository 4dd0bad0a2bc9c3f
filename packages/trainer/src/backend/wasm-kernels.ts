// Gradient kernels for the tfjs wasm backend: the ones it lacks (Conv2DBackpropFilter), the one it gets
// wrong (MaxPoolGrad), faster replacements (Conv2DBackpropInput) and a fused batch-norm + LeakyReLU +
// max-pool kernel with its own gradient, which removes the Tile-heavy stock batch-norm gradient.
// Loops are plain, branch-free JS over views of the wasm heap; heavy products go to XNNPACK through
// the backend's own Conv2D and BatchMatMul kernels.
import { types } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  booleanAttr,
  input,
  numberAttr,
  numberOrPair,
  optionalString,
  type Padding,
  padding,
  type RoundingMode,
  roundingMode,
  type Shape4,
  shape4,
} from './kernel-args.js';

type DataId = object;
type TensorInfo = tf.TensorInfo;

/** The part of the wasm backend these kernels use (its class is not part of the public typings). */
interface WasmBackendLike {
  dataIdMap: { get(dataId: DataId): { id: number; memoryOffset: number; refCount: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: DataId, force?: boolean): boolean;
}

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

/** The wasm backend behind a kernel call's untyped `backend` argument. */
function wasmBackend(backend: object): WasmBackendLike {
  const isWasm =
    'dataIdMap' in backend &&
    'makeOutput' in backend &&
    typeof backend.makeOutput === 'function' &&
    'typedArrayFromHeap' in backend &&
    typeof backend.typedArrayFromHeap === 'function' &&
    'disposeData' in backend &&
    typeof backend.disposeData === 'function';
  if (!isWasm) throw new Error('these kernels run on the wasm backend only');
  // Checked above: the members these kernels call are there.
  return backend as WasmBackendLike;
}

function f32(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(t);
  if (!types.isFloat32Array(view)) throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return view;
}

function i32(backend: WasmBackendLike, t: TensorInfo): Int32Array {
  const view = backend.typedArrayFromHeap(t);
  if (!types.isInt32Array(view)) throw new Error(`expected an int32 tensor, got ${t.dtype}`);
  return view;
}

function callKernel(
  name: string,
  backend: WasmBackendLike,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
): TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is missing`);
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned ${out.length} tensors, not one`);
  return out;
}

/** The arguments tfjs passes every kernel function. */
type KernelArgs = Parameters<tf.KernelFunc>[0];

interface ConvShape {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
}

function convShape(
  xShape: Shape4,
  filterShape: Shape4,
  strides: number | [number, number],
  pad: Padding,
  dimRoundingMode: RoundingMode | undefined,
): ConvShape {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: info.padInfo.bottom,
    padRight: info.padInfo.right,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    dilationH: info.dilationHeight,
    dilationW: info.dilationWidth,
  };
}

/**
 * Writes the im2col matrix already transposed: row k = (kh·KW + kw)·Cin + ci, column m = (n·OH + oh)·OW + ow,
 * so that dW = colT · dy is a plain (non-transposed) matmul — the wasm matmul is many times slower with
 * transposeA.
 *
 * @example
 * ```ts
 * im2colTransposed(x, shape, new Float32Array(k * m));
 * ```
 */
export function im2colTransposed(x: Float32Array, s: ConvShape, out: Float32Array): void {
  const { batch, inH, inW, inC, outH, outW, kH, kW, padTop, padLeft, strideH, strideW } = s;
  const m = batch * outH * outW;
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      // Output columns whose input column lies inside the image; the rest read zero padding.
      let owStart = 0;
      while (owStart < outW && owStart * strideW + kw - padLeft < 0) owStart++;
      let owEnd = outW;
      while (owEnd > owStart && (owEnd - 1) * strideW + kw - padLeft >= inW) owEnd--;
      for (let ci = 0; ci < inC; ci++) {
        let o = ((kh * kW + kw) * inC + ci) * m;
        for (let n = 0; n < batch; n++) {
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh * strideH + kh - padTop;
            if (ih < 0 || ih >= inH) {
              out.fill(0, o, o + outW);
              o += outW;
              continue;
            }
            for (let ow = 0; ow < owStart; ow++) out[o++] = 0;
            const stride = strideW * inC;
            let src = ((n * inH + ih) * inW + owStart * strideW + kw - padLeft) * inC + ci;
            for (let ow = owStart; ow < owEnd; ow++) {
              out[o++] = x[src]!;
              src += stride;
            }
            for (let ow = owEnd; ow < outW; ow++) out[o++] = 0;
          }
        }
      }
    }
  }
}

function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const backend = wasmBackend(args.backend);
  const x = input(args.inputs, 'x');
  const dy = input(args.inputs, 'dy');
  const { attrs } = args;
  if (optionalString(attrs?.dataFormat, 'dataFormat') === 'NCHW')
    throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const filterShape = shape4(attrs?.filterShape, 'filterShape');
  const s = convShape(
    shape4(x.shape, 'x.shape'),
    filterShape,
    numberOrPair(attrs?.strides, 'strides'),
    padding(attrs?.pad, 'pad'),
    roundingMode(attrs?.dimRoundingMode, 'dimRoundingMode'),
  );
  // One input channel: the gather is cheap and the padded grid would only add matmul work.
  if (s.strideH === 1 && s.strideW === 1 && s.inC > 1)
    return backpropFilterPadded(backend, x, dy, s, filterShape);
  const k = s.kH * s.kW * s.inC;
  const m = s.batch * s.outH * s.outW;
  const colT = backend.makeOutput([1, k, m], 'float32');
  // Views are taken after every allocation: a heap growth detaches older views.
  im2colTransposed(f32(backend, x), s, f32(backend, colT));
  const dy3 = { dataId: dy.dataId, shape: [1, m, s.outC], dtype: 'float32' as const };
  const dw = callKernel(
    'BatchMatMul',
    backend,
    { a: colT, b: dy3 },
    { transposeA: false, transposeB: false },
  );
  backend.disposeData(colT.dataId);
  return { dataId: dw.dataId, shape: [...filterShape], dtype: 'float32' as const };
}

let planeScratch = new Float32Array(0);

/**
 * Stride-1 filter gradient over the zero-padded grid: with positions q = (n·Hp + oh)·Wp + ow on the
 * padded image, the input under tap (kh, kw) is at q + kh·Wp + kw, so every im2col row is one contiguous
 * slice of a channel-major padded copy of x (a memcpy) instead of a gather. Grid positions outside the
 * output get a zero dy, so they add nothing; the matmul grows by (Hp·Wp)/(OH·OW) but the copies are cheap.
 */
function backpropFilterPadded(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  s: ConvShape,
  filterShape: number[],
) {
  const { batch, inH, inW, inC, outH, outW, outC, kH, kW, padTop, padLeft } = s;
  const hp = inH + s.padTop + s.padBottom;
  const wp = inW + s.padLeft + s.padRight;
  const grid = batch * hp * wp;
  const planeLen = grid + (kH - 1) * wp + (kW - 1);
  if (planeScratch.length < planeLen * inC) planeScratch = new Float32Array(planeLen * inC);
  const planes = planeScratch;
  planes.fill(0, 0, planeLen * inC);
  const xs = f32(backend, x);
  let i = 0;
  for (let n = 0; n < batch; n++) {
    for (let h = 0; h < inH; h++) {
      let q = (n * hp + h + padTop) * wp + padLeft;
      for (let w = 0; w < inW; w++) {
        for (let ci = 0; ci < inC; ci++) planes[ci * planeLen + q] = xs[i++]!;
        q++;
      }
    }
  }
  const k = kH * kW * inC;
  const colT = backend.makeOutput([1, k, grid], 'float32');
  const dyPad = backend.makeOutput([1, grid, outC], 'float32');
  const col = f32(backend, colT);
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const shift = kh * wp + kw;
      for (let ci = 0; ci < inC; ci++) {
        const start = ci * planeLen + shift;
        col.set(planes.subarray(start, start + grid), ((kh * kW + kw) * inC + ci) * grid);
      }
    }
  }
  const dyp = f32(backend, dyPad);
  const dys = f32(backend, dy);
  dyp.fill(0);
  const rowLen = outW * outC;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const src = (n * outH + oh) * rowLen;
      dyp.set(dys.subarray(src, src + rowLen), (n * hp + oh) * wp * outC);
    }
  }
  const dw = callKernel(
    'BatchMatMul',
    backend,
    { a: colT, b: dyPad },
    { transposeA: false, transposeB: false },
  );
  backend.disposeData(colT.dataId);
  backend.disposeData(dyPad.dataId);
  return { dataId: dw.dataId, shape: [...filterShape], dtype: 'float32' as const };
}

function conv2DBackpropInput(args: KernelArgs): TensorInfo | TensorInfo[] {
  const backend = wasmBackend(args.backend);
  const dy = input(args.inputs, 'dy');
  const filter = input(args.inputs, 'filter');
  const { attrs } = args;
  const s = convShape(
    shape4(attrs?.inputShape, 'inputShape'),
    shape4(filter.shape, 'filter.shape'),
    numberOrPair(attrs?.strides, 'strides'),
    padding(attrs?.pad, 'pad'),
    roundingMode(attrs?.dimRoundingMode, 'dimRoundingMode'),
  );
  if (s.strideH !== 1 || s.strideW !== 1 || optionalString(attrs?.dataFormat, 'dataFormat') === 'NCHW') {
    if (!stockConv2DBackpropInput) throw new Error('the stock wasm Conv2DBackpropInput is missing');
    return stockConv2DBackpropInput(args);
  }
  // dx = conv(dy, W flipped in space with in/out channels swapped), padded by K-1-pad on each side.
  const { kH, kW, inC, outC } = s;
  const flipped = backend.makeOutput([kH, kW, outC, inC], 'float32');
  const w = f32(backend, filter);
  const wf = f32(backend, flipped);
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const src = ((kH - 1 - kh) * kW + (kW - 1 - kw)) * inC * outC;
      const dst = (kh * kW + kw) * outC * inC;
      for (let ci = 0; ci < inC; ci++) {
        for (let co = 0; co < outC; co++) wf[dst + co * inC + ci] = w[src + ci * outC + co]!;
      }
    }
  }
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [kH - 1 - s.padTop, kH - 1 - s.padBottom],
    [kW - 1 - s.padLeft, kW - 1 - s.padRight],
    [0, 0],
  ];
  const dx = callKernel(
    'Conv2D',
    backend,
    { x: dy, filter: flipped },
    { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
  );
  backend.disposeData(flipped.dataId);
  return dx;
}

function maxPoolGrad(args: KernelArgs): TensorInfo {
  // The stock wasm kernel starts its running max at the smallest positive float instead of -Infinity,
  // so windows of negative values send their gradient to the wrong place.
  const backend = wasmBackend(args.backend);
  const dy = input(args.inputs, 'dy');
  const source = input(args.inputs, 'input');
  const { attrs } = args;
  const info = tf.backend_util.computePool2DInfo(
    shape4(source.shape, 'input.shape'),
    numberOrPair(attrs?.filterSize, 'filterSize'),
    numberOrPair(attrs?.strides, 'strides'),
    1,
    padding(attrs?.pad, 'pad'),
    roundingMode(attrs?.dimRoundingMode, 'dimRoundingMode'),
  );
  const dx = backend.makeOutput([...source.shape], 'float32');
  const out = f32(backend, dx);
  const x = f32(backend, source);
  const g = f32(backend, dy);
  out.fill(0);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let gi = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        for (let c = 0; c < inChannels; c++) {
          let best = Number.NEGATIVE_INFINITY;
          let bestIndex = -1;
          for (let fh = 0; fh < filterHeight; fh++) {
            const ih = oh * strideHeight - top + fh;
            if (ih < 0 || ih >= inHeight) continue;
            for (let fw = 0; fw < filterWidth; fw++) {
              const iw = ow * strideWidth - left + fw;
              if (iw < 0 || iw >= inWidth) continue;
              const idx = ((n * inHeight + ih) * inWidth + iw) * inChannels + c;
              const v = x[idx]!;
              if (v > best || bestIndex < 0) {
                best = v;
                bestIndex = idx;
              }
            }
          }
          if (bestIndex >= 0) out[bestIndex]! += g[gi]!;
          gi++;
        }
      }
    }
  }
  return dx;
}

/**
 * Forward pass of the fused kernel on flat NHWC arrays. Returns nothing; fills `out` (pooled
 * activations), `mean`/`variance` (the statistics used) and `argmax` (flat input index of each pooled
 * value). Pure so that it can be tested and reused by any backend.
 *
 * @example
 * ```ts
 * fusedBnActPoolForward(x, [n, h, w, c], bias, gamma, beta, null, attrs, out, mean, variance, argmax);
 * ```
 */
export function fusedBnActPoolForward(
  x: Float32Array,
  shape: readonly number[],
  bias: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  statsIn: { mean: Float32Array; variance: Float32Array } | null,
  attrs: FusedBnActPoolAttrs,
  out: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  argmax: Int32Array,
): void {
  const [n, h, w, c] = shape as [number, number, number, number];
  const positions = n * h * w;
  if (statsIn === null) {
    // Channel-outer strided sums with two accumulators: no loop-carried store per element, and float64
    // so that sum/sum² stays exact enough for conv outputs of modest range.
    const len = positions * c;
    for (let ch = 0; ch < c; ch++) {
      let s0 = 0;
      let s1 = 0;
      let q0 = 0;
      let q1 = 0;
      let i = ch;
      for (const end = len - c; i < end; i += 2 * c) {
        const v0 = x[i]!;
        const v1 = x[i + c]!;
        s0 += v0;
        s1 += v1;
        q0 += v0 * v0;
        q1 += v1 * v1;
      }
      for (; i < len; i += c) {
        const v0 = x[i]!;
        s0 += v0;
        q0 += v0 * v0;
      }
      const m = (s0 + s1) / positions;
      mean[ch] = m + bias[ch]!;
      variance[ch] = Math.max(0, (q0 + q1) / positions - m * m);
    }
  } else {
    mean.set(statsIn.mean);
    variance.set(statsIn.variance);
  }
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    scale[ch] = gamma[ch]! / Math.sqrt(variance[ch]! + attrs.epsilon);
    shift[ch] = beta[ch]! + (bias[ch]! - mean[ch]!) * scale[ch]!;
  }
  // LeakyReLU as a·y + b·|y| with a = (1+α)/2, b = (1-α)/2: no data-dependent branch.
  const a = (1 + attrs.alpha) / 2;
  const b = (1 - attrs.alpha) / 2;
  if (attrs.pool === 1) {
    let i = 0;
    for (let p = 0; p < positions; p++) {
      for (let ch = 0; ch < c; ch++) {
        const y = x[i]! * scale[ch]! + shift[ch]!;
        out[i] = a * y + b * Math.abs(y);
        argmax[i] = i;
        i++;
      }
    }
    return;
  }
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const rs = w * c;
  let o = 0;
  for (let bn = 0; bn < n; bn++) {
    for (let r = 0; r < oh; r++) {
      const rowBase = (bn * h + 2 * r) * rs;
      for (let q = 0; q < ow; q++) {
        const b0 = rowBase + 2 * q * c;
        for (let ch = 0; ch < c; ch++) {
          // LeakyReLU is increasing, so the max of z is at the max of y, and the shift does not change
          // the order: compare x·scale only. Selections are index arithmetic on 0/1 comparison results,
          // because data-dependent branches here mispredict half the time (measured 4× slower).
          const i0 = b0 + ch;
          const sc = scale[ch]!;
          const y0 = x[i0]! * sc;
          const y1 = x[i0 + c]! * sc;
          const y2 = x[i0 + rs]! * sc;
          const y3 = x[i0 + rs + c]! * sc;
          const i01 = i0 + +(y1 > y0) * c;
          const i23 = i0 + rs + +(y3 > y2) * c;
          const t = +(x[i23]! * sc > x[i01]! * sc);
          const im = i01 + t * (i23 - i01);
          const y = x[im]! * sc + shift[ch]!;
          out[o] = a * y + b * Math.abs(y);
          argmax[o] = im;
          o++;
        }
      }
    }
  }
}

/**
 * Gradient of the fused kernel. `dx` must have the input's size; `dOut` is the pooled gradient.
 * With batch statistics the mean/variance depend on x, which adds the usual two batch-norm terms.
 *
 * @example
 * ```ts
 * fusedBnActPoolBackward(x, shape, bias, gamma, beta, mean, variance, argmax, dOut, attrs, dx, dGamma, dBeta, dBias);
 * ```
 */
export function fusedBnActPoolBackward(
  x: Float32Array,
  shape: readonly number[],
  bias: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  argmax: Int32Array,
  dOut: Float32Array,
  attrs: FusedBnActPoolAttrs,
  dx: Float32Array,
  dGamma: Float32Array,
  dBeta: Float32Array,
  dBias: Float32Array,
): void {
  const [n, h, w, c] = shape as [number, number, number, number];
  const positions = n * h * w;
  const invStd = new Float32Array(c);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    invStd[ch] = 1 / Math.sqrt(variance[ch]! + attrs.epsilon);
    scale[ch] = gamma[ch]! * invStd[ch]!;
    shift[ch] = beta[ch]! + (bias[ch]! - mean[ch]!) * scale[ch]!;
  }
  const sumDy = new Float64Array(c);
  const sumDyX = new Float64Array(c);
  const slopeNeg = attrs.alpha;
  const slopeGap = 1 - attrs.alpha;
  if (attrs.pool !== 1) dx.fill(0);
  // Pass 1: route each pooled gradient to its argmax and through the LeakyReLU; only those positions
  // have a non-zero dy, so the channel sums need only them.
  if (attrs.pool === 1) {
    let o = 0;
    for (let p = 0; p < positions; p++) {
      for (let ch = 0; ch < c; ch++) {
        const xv = x[o]!;
        const y = xv * scale[ch]! + shift[ch]!;
        const d = dOut[o]! * (slopeNeg + slopeGap * +(y > 0));
        dx[o] = d;
        sumDy[ch]! += d;
        sumDyX[ch]! += d * xv;
        o++;
      }
    }
  } else {
    const pooled = dOut.length / c;
    let o = 0;
    for (let p = 0; p < pooled; p++) {
      for (let ch = 0; ch < c; ch++) {
        const idx = argmax[o]!;
        const xv = x[idx]!;
        const y = xv * scale[ch]! + shift[ch]!;
        const d = dOut[o]! * (slopeNeg + slopeGap * +(y > 0));
        // Pooling windows do not overlap, so each input receives at most one gradient.
        dx[idx] = d;
        sumDy[ch]! += d;
        sumDyX[ch]! += d * xv;
        o++;
      }
    }
  }
  // Σ dy·x̂ = invStd · (Σ dy·x − mean · Σ dy)
  const A = new Float32Array(c);
  const B = new Float32Array(c);
  const D = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    // Statistics are of u = x + bias; the loops above summed over x.
    const meanX = mean[ch]! - bias[ch]!;
    const sdxh = invStd[ch]! * (sumDyX[ch]! - meanX * sumDy[ch]!);
    dGamma[ch] = sdxh;
    // With batch statistics the bias cancels exactly (its gradient is 0, not rounding noise that Adam
    // would amplify); with moving statistics it shifts the output like beta.
    dBias[ch] = attrs.training ? 0 : scale[ch]! * sumDy[ch]!;
    dBeta[ch] = sumDy[ch]!;
    A[ch] = scale[ch]!;
    if (attrs.training) {
      // dx = γ·σ⁻¹·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), expanded into A·dy + B·x + D per channel.
      const k = (scale[ch]! * invStd[ch]! * sdxh) / positions;
      B[ch] = -k;
      D[ch] = (-scale[ch]! * sumDy[ch]!) / positions + k * meanX;
    }
  }
  // Pass 2: every position (pooling or not) gets the batch-statistics terms. Channel-outer with the
  // per-channel constants in registers beats channel-inner table lookups.
  const len = positions * c;
  for (let ch = 0; ch < c; ch++) {
    const a = A[ch]!;
    const b = B[ch]!;
    const d = D[ch]!;
    for (let i = ch; i < len; i += c) dx[i] = a * dx[i]! + b * x[i]! + d;
  }
}

function fusedShapes(shape: number[], pool: number): number[] {
  const [n, h, w, c] = shape as [number, number, number, number];
  return pool === 2 ? [n, Math.floor(h / 2), Math.floor(w / 2), c] : [n, h, w, c];
}

function fusedWasmForward(args: KernelArgs): TensorInfo[] {
  const backend = wasmBackend(args.backend);
  const attrs = fusedAttrs(args.attrs);
  const x = input(args.inputs, 'x');
  const c = shape4(x.shape, 'x.shape')[3];
  const outShape = fusedShapes(x.shape, attrs.pool);
  const out = backend.makeOutput(outShape, 'float32');
  const meanOut = backend.makeOutput([c], 'float32');
  const varOut = backend.makeOutput([c], 'float32');
  const argmax = backend.makeOutput(outShape, 'int32');
  const stats = attrs.training
    ? null
    : {
        mean: f32(backend, input(args.inputs, 'mean')),
        variance: f32(backend, input(args.inputs, 'variance')),
      };
  fusedBnActPoolForward(
    f32(backend, x),
    x.shape,
    f32(backend, input(args.inputs, 'bias')),
    f32(backend, input(args.inputs, 'gamma')),
    f32(backend, input(args.inputs, 'beta')),
    stats,
    attrs,
    f32(backend, out),
    f32(backend, meanOut),
    f32(backend, varOut),
    i32(backend, argmax),
  );
  return [out, meanOut, varOut, argmax];
}

function fusedWasmBackward(args: KernelArgs): TensorInfo[] {
  const backend = wasmBackend(args.backend);
  const attrs = fusedAttrs(args.attrs);
  const x = input(args.inputs, 'x');
  const c = shape4(x.shape, 'x.shape')[3];
  const dx = backend.makeOutput([...x.shape], 'float32');
  const dGamma = backend.makeOutput([c], 'float32');
  const dBeta = backend.makeOutput([c], 'float32');
  const dBias = backend.makeOutput([c], 'float32');
  const view = (name: string) => f32(backend, input(args.inputs, name));
  fusedBnActPoolBackward(
    view('x'),
    x.shape,
    view('bias'),
    view('gamma'),
    view('beta'),
    view('mean'),
    view('variance'),
    i32(backend, input(args.inputs, 'argmax')),
    view('dy'),
    attrs,
    f32(backend, dx),
    f32(backend, dGamma),
    f32(backend, dBeta),
    f32(backend, dBias),
  );
  return [dx, dGamma, dBeta, dBias];
}

let stockConv2DBackpropInput: tf.KernelFunc | null = null;
let registered = false;

/**
 * Registers the kernel fixes on the wasm backend (idempotent). Call before training on wasm.
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * registerWasmKernels();
 * ```
 */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const stock = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (stock) {
    stockConv2DBackpropInput = stock.kernelFunc;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  }
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropInput,
  });
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilter,
  });
  if (tf.getKernel('MaxPoolGrad', 'wasm')) tf.unregisterKernel('MaxPoolGrad', 'wasm');
  tf.registerKernel({
    kernelName: 'MaxPoolGrad',
    backendName: 'wasm',
    kernelFunc: maxPoolGrad,
  });
  tf.registerKernel({
    kernelName: FUSED_BN_ACT_POOL,
    backendName: 'wasm',
    kernelFunc: fusedWasmForward,
  });
  tf.registerKernel({
    kernelName: FUSED_BN_ACT_POOL_GRAD,
    backendName: 'wasm',
    kernelFunc: fusedWasmBackward,
  });
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

/** Whether the fused kernel can run on the active backend.
 *
 * @example
 * ```ts
 * if (fusedKernelAvailable()) tf.engine().runKernel(FUSED_BN_ACT_POOL, inputs, attrs);
 * ```
 */
export function fusedKernelAvailable(): boolean {
  return registered && tf.getBackend() === 'wasm';
}
