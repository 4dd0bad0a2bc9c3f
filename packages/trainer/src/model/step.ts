// One forward and backward pass over a batch: loss, correct predictions and gradients. The training
// loop and each data-parallel worker run this same function, so both paths compute alike.
import type { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { SIDE } from '../data/dataset.js';
import type { Model } from './index.js';

/** What one gradient step computed; the caller disposes `grads`. */
export interface StepResult {
  /** Mean cross-entropy over the batch. */
  loss: number;
  /** Images whose arg-max prediction equals the label. */
  correct: number;
  /** Gradients keyed by variable name. */
  grads: tf.NamedTensorMap;
}

/**
 * Runs the model in training mode on `labels.length` normalized images (NHWC, 784 floats each) and
 * returns the loss, the number of correct predictions and the gradients of `variables`.
 *
 * @example
 * ```ts
 * const { loss, grads } = gradientStep(model, images, labels, rng, trainables.map((v) => v.variable));
 * optimizer.apply(trainables, grads);
 * tf.dispose(grads);
 * ```
 */
export function gradientStep(
  model: Model,
  images: Float32Array,
  labels: Int32Array,
  rng: Rng,
  variables: tf.Variable[],
): StepResult {
  const n = labels.length;
  const x = tf.tensor4d(images, [n, SIDE, SIDE, 1]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), model.options.numClasses));
  // The predictions are taken inside the taped function, from the same logits as the loss.
  const kept: { predicted?: tf.Tensor } = {};
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.forward(x, { training: true, rng });
    kept.predicted = tf.keep(tf.argMax(logits, 1));
    return tf.losses.softmaxCrossEntropy(y, logits);
  }, variables);
  const loss = value.dataSync()[0] ?? Number.NaN;
  let correct = 0;
  if (kept.predicted) {
    const predicted = kept.predicted.dataSync();
    for (const [i, label] of labels.entries()) if (predicted[i] === label) correct++;
  }
  tf.dispose([x, y, value, kept.predicted]);
  return { loss, correct, grads };
}
