// Batched inference shared by training (validation), evaluation, prediction and the server. The model
// runs in inference mode (moving statistics, the fused wasm kernels); the softmax, loss and arg-max of
// the few logits per image are computed here in JS, which for one image (the server's case) saves a
// kernel call that costs more than the arithmetic.
import * as tf from '@tensorflow/tfjs';
import { canonicalizeImages } from './data/canonical.js';
import { PIXELS } from './data/dataset.js';
import type { Model } from './model/index.js';

/** Softmax probabilities and loss of a batched forward pass. */
export interface InferenceResult {
  /** N×classes probabilities, row-major. */
  probabilities: Float32Array;
  predictions: Int32Array;
  /** Mean cross-entropy when labels were given. */
  loss: number | null;
  accuracy: number | null;
}

/**
 * Runs the model in inference mode over normalized images in batches. A model that canonicalizes its
 * inputs gets each batch turned upright first (on a copy: the caller's images stay as they are).
 *
 * @example
 * ```ts
 * const { predictions } = infer(model, ds.images, ds.count, ds.labels);
 * ```
 */
export function infer(
  model: Model,
  images: Float32Array,
  count: number,
  labels?: Int32Array,
  batchSize = 1000,
): InferenceResult {
  return scoreLogits(inferLogits(model, images, count, batchSize), count, model.options.numClasses, labels);
}

/**
 * The model's logits (count × classes, row-major) over normalized images, in batches of `batchSize`,
 * written to `out` when given. An image's logits do not depend on the others of its batch, so slices of
 * a set classified apart (on other threads) give the logits of the whole set.
 *
 * @example
 * ```ts
 * const z = inferLogits(model, ds.images, ds.count);
 * ```
 */
export function inferLogits(
  model: Model,
  images: Float32Array,
  count: number,
  batchSize = 1000,
  out: Float32Array = new Float32Array(count * model.options.numClasses),
): Float32Array {
  const classes = model.options.numClasses;
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    let pixels = images.subarray(start * PIXELS, (start + n) * PIXELS);
    if (model.options.canonicalize) {
      pixels = pixels.slice();
      canonicalizeImages(pixels, n);
    }
    const logits = tf.tidy(() => {
      const x = tf.tensor4d(pixels, [n, 28, 28, 1]);
      return model.forward(x, { training: false });
    });
    out.set(logits.dataSync(), start * classes);
    logits.dispose();
  }
  return out;
}

/**
 * Softmax probabilities, predictions and (with labels) the mean cross-entropy and accuracy of
 * logits, summed in image order.
 *
 * @example
 * ```ts
 * const { loss, accuracy } = scoreLogits(inferLogits(model, ds.images, ds.count), ds.count, 10, ds.labels);
 * ```
 */
export function scoreLogits(
  z: Float32Array,
  count: number,
  classes: number,
  labels?: Int32Array,
): InferenceResult {
  const probabilities = new Float32Array(count * classes);
  const predictions = new Int32Array(count);
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < count; i++) {
    const row = i * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) if (z[row + k]! > z[row + best]!) best = k;
    const max = z[row + best]!;
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(z[row + k]! - max);
    for (let k = 0; k < classes; k++) probabilities[row + k] = Math.exp(z[row + k]! - max) / sum;
    predictions[i] = best;
    if (labels) {
      const y = labels[i]!;
      // log-sum-exp form: exact for confident predictions where a probability would round to 0.
      lossSum += Math.log(sum) - (z[row + y]! - max);
      if (best === y) correct++;
    }
  }
  return {
    probabilities,
    predictions,
    loss: labels ? lossSum / count : null,
    accuracy: labels ? correct / count : null,
  };
}
