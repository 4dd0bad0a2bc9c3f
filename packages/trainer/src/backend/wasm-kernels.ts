// Convolution and gradient kernels for the tfjs wasm backend: the one it lacks (Conv2DBackpropFilter),
// the one it gets wrong (MaxPoolGrad), faster replacements (Conv2D of 3×3 filters at stride 1 by
// Winograd, Conv2DBackpropInput, transposed BatchMatMul, an Identity that shares instead of copying),
// and the registration of the trainer's fused kernels (batch-norm + LeakyReLU + max-pool, softmax
// cross-entropy). The 3×3 convolutions and their filter gradient run Winograd on the SIMD module; other
// shapes fall back to XNNPACK through the backend's own Conv2D and BatchMatMul, and data shuffles to
// the JS reference loops when SIMD is missing.
import * as tf from '@tensorflow/tfjs';
import { registerBnActPool } from './bn-act-pool.js';
import {
  booleanAttr,
  input,
  numberOrPair,
  optionalString,
  type Padding,
  padding,
  type RoundingMode,
  roundingMode,
  type Shape4,
  shape4,
} from './kernel-args.js';
import { registerSoftmaxCrossEntropy } from './loss-kernel.js';
import { type ConvShape, im2colTransposed, paddedGrid, paddedOperands } from './reference-kernels.js';
import { callKernel, carve, f32, ptr, simdFor, type WasmBackendLike, wasmBackend } from './wasm-backend.js';

type TensorInfo = tf.TensorInfo;

/** The arguments tfjs passes every kernel function. */
type KernelArgs = Parameters<tf.KernelFunc>[0];

function convShape(
  xShape: Shape4,
  filterShape: Shape4,
  strides: number | [number, number],
  pad: Padding,
  dimRoundingMode: RoundingMode | undefined,
  dilations: number | [number, number] = 1,
): ConvShape {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    dilations,
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
  // The kernels read dy by the convolution's output shape: a dy of another shape would be read past its end.
  const dyShape = shape4(dy.shape, 'dy.shape');
  const outShape = [s.batch, s.outH, s.outW, s.outC];
  if (dyShape.some((d, i) => d !== outShape[i]))
    throw new Error(
      `Conv2DBackpropFilter: dy is [${dyShape.join(', ')}], the convolution gives [${outShape.join(', ')}]`,
    );
  const simd = simdFor(backend);
  if (
    simd &&
    s.kH === 3 &&
    s.kW === 3 &&
    s.strideH === 1 &&
    s.strideW === 1 &&
    s.inC >= WINOGRAD_GRAD_MIN_IN &&
    s.outC >= 4
  ) {
    const dw = backend.makeOutput([...filterShape], 'float32');
    const chunk = winogradChunk(s.inC, s.outC);
    const [v = 0, e = 0, m = 0] = carve(simd.scratch, [
      chunk * 64 * s.inC,
      chunk * 64 * s.outC,
      64 * s.inC * s.outC,
    ]);
    simd.kernels.winogradFilterGrad(
      ptr(backend, x),
      ptr(backend, dy),
      s.batch,
      s.inH,
      s.inW,
      s.inC,
      s.outH,
      s.outW,
      s.outC,
      s.padTop,
      s.padLeft,
      v,
      e,
      m,
      chunk,
      ptr(backend, dw),
    );
    return dw;
  }
  if (simd && s.strideH === 1 && s.strideW === 1) {
    // Dot products straight from the padded planes: no im2col matrix, no matmul operator to set up.
    const g = paddedGrid(s);
    const dw = backend.makeOutput([...filterShape], 'float32');
    const [planes = 0, dyT = 0] = carve(simd.scratch, [g.planeLen * s.inC * 4, g.grid * s.outC * 4]);
    simd.kernels.paddedFilterGrad(
      ptr(backend, x),
      ptr(backend, dy),
      s.batch,
      s.inH,
      s.inW,
      s.inC,
      s.outH,
      s.outW,
      s.outC,
      s.kH,
      s.kW,
      s.padTop,
      s.padLeft,
      g.hp,
      g.wp,
      g.planeLen,
      planes,
      dyT,
      ptr(backend, dw),
    );
    return dw;
  }
  // One input channel: the gather is cheap and the padded grid would only add matmul work.
  if (s.strideH === 1 && s.strideW === 1 && s.inC > 1)
    return backpropFilterPadded(backend, x, dy, s, filterShape);
  const k = s.kH * s.kW * s.inC;
  const m = s.batch * s.outH * s.outW;
  const colT = backend.makeOutput([1, k, m], 'float32');
  if (simd) {
    simd.kernels.im2colTransposed(
      ptr(backend, x),
      s.batch,
      s.inH,
      s.inW,
      s.inC,
      s.outH,
      s.outW,
      s.kH,
      s.kW,
      s.padTop,
      s.padLeft,
      s.strideH,
      s.strideW,
      ptr(backend, colT),
    );
  } else {
    // Views are taken after every allocation: a heap growth detaches older views.
    im2colTransposed(f32(backend, x), s, f32(backend, colT));
  }
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

/** The reference stride-1 filter gradient: one matmul over the zero-padded grid (see paddedOperands). */
function backpropFilterPadded(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  s: ConvShape,
  filterShape: number[],
) {
  const g = paddedGrid(s);
  const k = s.kH * s.kW * s.inC;
  const colT = backend.makeOutput([1, k, g.grid], 'float32');
  const dyPad = backend.makeOutput([1, g.grid, s.outC], 'float32');
  if (planeScratch.length < g.planeLen * s.inC) planeScratch = new Float32Array(g.planeLen * s.inC);
  paddedOperands(
    f32(backend, x),
    f32(backend, dy),
    s,
    g,
    planeScratch,
    f32(backend, colT),
    f32(backend, dyPad),
  );
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

/** Bytes of transformed tiles (V and M) a Winograd chunk may take: about what L2 holds beside the filter. */
const WINOGRAD_CHUNK_BYTES = 192 * 1024;

/**
 * The fewest input channels for which the Winograd filter gradient beats the direct SIMD one (it also
 * needs four or more output channels: below that its products run one column at a time). Measured
 * on one thread, 32 images, ms per call direct → Winograd: 28×28 1→16 0.62 → 1.01 and 2→16
 * 0.84 → 1.68 (the channel transforms run one lane wide), 14×14 8→24 0.87 → 0.65, 12→24
 * 1.23 → 0.87, 16→24 1.59 → 1.07, 7×7 24→32 1.03 → 0.62.
 */
export const WINOGRAD_GRAD_MIN_IN = 8;

/** Tiles per Winograd chunk for these channel counts: a multiple of 4, from 4 to 512. */
function winogradChunk(inC: number, outC: number): number {
  return Math.min(512, Math.max(4, Math.floor(WINOGRAD_CHUNK_BYTES / (64 * (inC + outC))) & ~3));
}

/**
 * Conv2D of 3×3 filters at stride 1 (every convolution of the models, forward and as the input
 * gradient) by Winograd F(2×2, 3×3) on the SIMD kernels: 16 products per 2×2 outputs and channel pair
 * instead of XNNPACK's 36. Other filters, strides, dilations, NCHW and the reference kernels use the
 * stock kernel. An image's output does not depend on the rest of its batch.
 */
function conv2D(args: KernelArgs): TensorInfo | TensorInfo[] {
  if (!stockConv2D) throw new Error('the stock wasm Conv2D is missing');
  const backend = wasmBackend(args.backend);
  const x = input(args.inputs, 'x');
  const filter = input(args.inputs, 'filter');
  const { attrs } = args;
  const simd = simdFor(backend);
  if (
    !simd ||
    x.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    optionalString(attrs?.dataFormat, 'dataFormat') === 'NCHW'
  )
    return stockConv2D(args);
  const s = convShape(
    shape4(x.shape, 'x.shape'),
    shape4(filter.shape, 'filter.shape'),
    numberOrPair(attrs?.strides, 'strides'),
    padding(attrs?.pad, 'pad'),
    roundingMode(attrs?.dimRoundingMode, 'dimRoundingMode'),
    numberOrPair(attrs?.dilations ?? 1, 'dilations'),
  );
  if (
    s.kH !== 3 ||
    s.kW !== 3 ||
    s.strideH !== 1 ||
    s.strideW !== 1 ||
    s.dilationH !== 1 ||
    s.dilationW !== 1
  )
    return stockConv2D(args);
  const { batch, inH, inW, inC, outH, outW, outC } = s;
  const out = backend.makeOutput([batch, outH, outW, outC], 'float32');
  if (out.shape.some((d) => d === 0)) return out;
  if (inC === 1 && outC % 4 === 0) {
    // The first layer: the whole tile in registers, the same results bit for bit.
    const [u = 0] = carve(simd.scratch, [64 * outC]);
    simd.kernels.winogradFilter(ptr(backend, filter), 1, outC, u);
    simd.kernels.winogradConv3x3One(
      ptr(backend, x),
      batch,
      inH,
      inW,
      outH,
      outW,
      outC,
      s.padTop,
      s.padLeft,
      u,
      ptr(backend, out),
    );
    return out;
  }
  const chunk = winogradChunk(inC, outC);
  const [u = 0, v = 0, m = 0] = carve(simd.scratch, [64 * inC * outC, chunk * 64 * inC, chunk * 64 * outC]);
  simd.kernels.winogradFilter(ptr(backend, filter), inC, outC, u);
  simd.kernels.winogradConv3x3(
    ptr(backend, x),
    batch,
    inH,
    inW,
    inC,
    outH,
    outW,
    outC,
    s.padTop,
    s.padLeft,
    u,
    v,
    m,
    chunk,
    ptr(backend, out),
  );
  return out;
}

let stockConv2D: tf.KernelFunc | null = null;

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
 * BatchMatMul with a transposed operand (the dense layers' gradients) on the SIMD kernel: the stock one
 * sends those through a scalar loop, ten times slower than its XNNPACK path. The kernel sums every
 * output in the same order as that loop, so the results are bit for bit the stock ones; untransposed
 * products, batches of several matrices, other types and the reference kernels use the stock kernel.
 */
function batchMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  if (!stockBatchMatMul) throw new Error('the stock wasm BatchMatMul is missing');
  const backend = wasmBackend(args.backend);
  const a = input(args.inputs, 'a');
  const b = input(args.inputs, 'b');
  const transposeA = booleanAttr(args.attrs?.transposeA ?? false, 'transposeA');
  const transposeB = booleanAttr(args.attrs?.transposeB ?? false, 'transposeB');
  const simd = transposeA || transposeB ? simdFor(backend) : null;
  const aMatrix = singleMatrix(a.shape);
  const bMatrix = singleMatrix(b.shape);
  if (!simd || !aMatrix || !bMatrix || a.dtype !== 'float32' || b.dtype !== 'float32')
    return stockBatchMatMul(args);
  const [aRows, aCols] = aMatrix;
  const [bRows, bCols] = bMatrix;
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  if (k !== (transposeB ? bCols : bRows)) return stockBatchMatMul(args);
  const out = backend.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
  const [rows = 0] = carve(simd.scratch, [transposeB ? k * n * 4 : 0]);
  simd.kernels.matmulBlocked(
    ptr(backend, a),
    transposeA ? 1 : k,
    transposeA ? m : 1,
    ptr(backend, b),
    transposeB ? 1 : n,
    transposeB ? k : 1,
    m,
    n,
    k,
    rows,
    ptr(backend, out),
  );
  return out;
}

let stockBatchMatMul: tf.KernelFunc | null = null;

/** Rows and columns of a shape that holds one matrix ([r, c], or [1, …, 1, r, c]); null for a batch. */
function singleMatrix(shape: readonly number[]): [number, number] | null {
  if (shape.length < 2 || shape.slice(0, -2).some((d) => d !== 1)) return null;
  return [shape[shape.length - 2] ?? 0, shape[shape.length - 1] ?? 0];
}
/**
 * Identity without a copy: the tensor's memory is shared and counted, as the Reshape kernel does. tfjs
 * saves every tensor a gradient needs through Identity (86 copies a step, up to 3 MB each), and tensors
 * are never written in place here (the optimizer assigns new ones), so a shared buffer is the same value.
 */
function identity(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = input(args.inputs, 'x');
  if (x.dtype === 'string') {
    if (!stockIdentity) throw new Error('the stock wasm Identity is missing');
    return stockIdentity(args);
  }
  wasmBackend(args.backend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

let stockIdentity: tf.KernelFunc | null = null;
let stockConv2DBackpropInput: tf.KernelFunc | null = null;
let registered = false;

/**
 * Registers `kernelFunc` as the wasm kernel `name` in place of the stock one (if any), whose function
 * it returns for the cases it hands back. The stock setup is kept: it binds the stock kernel's wasm
 * function, which the backend runs for registered kernels when it starts, so without it the stock
 * path would have no function to call.
 */
function replaceKernel(name: string, kernelFunc: tf.KernelFunc): tf.KernelFunc | null {
  const stock = tf.getKernel(name, 'wasm');
  if (stock) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc,
    ...(stock?.setupFunc ? { setupFunc: stock.setupFunc } : {}),
  });
  return stock?.kernelFunc ?? null;
}

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
  stockConv2D = replaceKernel('Conv2D', conv2D);
  stockConv2DBackpropInput = replaceKernel('Conv2DBackpropInput', conv2DBackpropInput);
  replaceKernel('Conv2DBackpropFilter', conv2DBackpropFilter);
  stockIdentity = replaceKernel('Identity', identity);
  stockBatchMatMul = replaceKernel('BatchMatMul', batchMatMul);
  replaceKernel('MaxPoolGrad', maxPoolGrad);
  registerBnActPool();
  registerSoftmaxCrossEntropy();
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
