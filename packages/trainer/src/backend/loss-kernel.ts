// Softmax cross-entropy as one wasm kernel: the loss, its gradient and the predicted classes in one pass
// over the logits, instead of the dozen small stock kernels (and their gradients) of
// tf.losses.softmaxCrossEntropy. Other backends get the same value from stock ops.
import * as tf from '@tensorflow/tfjs';
import { input, numberAttr } from './kernel-args.js';
import { f32, i32, ptr, simdFor, wasmBackend } from './wasm-backend.js';

/** Name of the fused softmax cross-entropy kernel. */
export const SOFTMAX_CROSS_ENTROPY = 'DataverSoftmaxCrossEntropy';

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Reference loop: per-row log-sum-exp loss, (softmax − one-hot)·gradScale into dLogits, arg-max into
 * predicted; returns Σ loss.
 *
 * @example
 * ```ts
 * const sum = softmaxCrossEntropyReference(logits, labels, n, 10, 1 / n, dLogits, predicted);
 * ```
 */
export function softmaxCrossEntropyReference(
  logits: Float32Array,
  labels: Int32Array,
  n: number,
  k: number,
  gradScale: number,
  dLogits: Float32Array,
  predicted: Int32Array,
): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = i * k;
    let best = 0;
    let max = logits[row]!;
    for (let j = 1; j < k; j++) {
      if (logits[row + j]! > max) {
        max = logits[row + j]!;
        best = j;
      }
    }
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(logits[row + j]! - max);
      dLogits[row + j] = e;
      sum += e;
    }
    const label = labels[i]!;
    for (let j = 0; j < k; j++) dLogits[row + j] = (dLogits[row + j]! * gradScale) / sum;
    dLogits[row + label] = dLogits[row + label]! - gradScale;
    total += Math.log(sum) - (logits[row + label]! - max);
    predicted[i] = best;
  }
  return total;
}

function kernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = wasmBackend(args.backend);
  const logits = input(args.inputs, 'logits');
  const labels = input(args.inputs, 'labels');
  const gradScale = numberAttr(args.attrs?.gradScale, 'gradScale');
  const [n = 0, k = 0] = logits.shape;
  const loss = backend.makeOutput([], 'float32');
  const dLogits = backend.makeOutput([n, k], 'float32');
  const predicted = backend.makeOutput([n], 'int32');
  const simd = simdFor(backend);
  const total = simd
    ? simd.kernels.softmaxCrossEntropy(
        ptr(backend, logits),
        ptr(backend, labels),
        n,
        k,
        gradScale,
        ptr(backend, dLogits),
        ptr(backend, predicted),
      )
    : softmaxCrossEntropyReference(
        f32(backend, logits),
        i32(backend, labels),
        n,
        k,
        gradScale,
        f32(backend, dLogits),
        i32(backend, predicted),
      );
  f32(backend, loss)[0] = total * gradScale;
  return [loss, dLogits, predicted];
}

/**
 * Registers the kernel and its gradient on the wasm backend.
 *
 * @example
 * ```ts
 * registerSoftmaxCrossEntropy();
 * ```
 */
export function registerSoftmaxCrossEntropy(): void {
  tf.registerKernel({ kernelName: SOFTMAX_CROSS_ENTROPY, backendName: 'wasm', kernelFunc: kernel });
  tf.registerGradient({
    kernelName: SOFTMAX_CROSS_ENTROPY,
    inputsToSave: ['labels'],
    outputsToSave: [false, true, false],
    gradFunc: (dys, saved) => {
      const [labels, dLogits] = saved as tf.Tensor[];
      const dLoss = (dys as tf.Tensor[])[0]!;
      return { logits: () => tf.mul(dLogits!, dLoss), labels: () => tf.zerosLike(labels!) };
    },
  });
}

/** Loss (Σ over the rows · gradScale) and arg-max predictions of {@link softmaxCrossEntropy}. */
export interface LossResult {
  loss: tf.Scalar;
  predicted: tf.Tensor1D;
}

/**
 * Σᵢ CE(softmax(logitsᵢ), labelsᵢ) · gradScale with its gradient, and the predicted classes; the fused
 * kernel on wasm, stock ops elsewhere.
 *
 * @example
 * ```ts
 * const { loss } = softmaxCrossEntropy(logits, labels, 1 / batchSize);
 * ```
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, gradScale: number): LossResult {
  if (tf.getBackend() === 'wasm' && tf.getKernel(SOFTMAX_CROSS_ENTROPY, 'wasm')) {
    const [loss, , predicted] = tf
      .engine()
      .runKernel(SOFTMAX_CROSS_ENTROPY, { logits, labels }, { gradScale }) as tf.Tensor[];
    return { loss: loss as tf.Scalar, predicted: predicted as tf.Tensor1D };
  }
  const k = logits.shape[1];
  const onehot = tf.oneHot(labels, k);
  const perRow = tf.losses.softmaxCrossEntropy(onehot, logits, undefined, undefined, tf.Reduction.NONE);
  return {
    loss: tf.mul(tf.sum(perRow), gradScale) as tf.Scalar,
    predicted: tf.argMax(logits, 1) as tf.Tensor1D,
  };
}
