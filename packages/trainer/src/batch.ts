// Batched inference shared by training (validation), evaluation, prediction and the server.
import * as tf from '@tensorflow/tfjs';
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
 * Runs the model in inference mode over normalized images in batches.
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
  const classes = model.options.numClasses;
  const probabilities = new Float32Array(count * classes);
  const predictions = new Int32Array(count);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const probs = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * PIXELS, (start + n) * PIXELS), [n, 28, 28, 1]);
      return tf.softmax(model.forward(x, { training: false }));
    });
    const p = probs.dataSync() as Float32Array;
    probs.dispose();
    probabilities.set(p, start * classes);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < classes; k++) if (p[i * classes + k]! > p[i * classes + best]!) best = k;
      predictions[start + i] = best;
      if (labels) {
        const y = labels[start + i]!;
        lossSum -= Math.log(Math.max(p[i * classes + y]!, 1e-12));
        if (best === y) correct++;
      }
    }
  }
  return {
    probabilities,
    predictions,
    loss: labels ? lossSum / count : null,
    accuracy: labels ? correct / count : null,
  };
}
