// One forward and backward pass over a batch (or over this thread's slice of one): augmentation of the
// images by the batch's plan, loss, correct predictions and gradients. The training loop and each
// data-parallel worker run this same function, so every path computes alike.
import type { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { type BatchSlice, type BatchSync, withBatchSlice } from '../backend/batch-sync.js';
import { softmaxCrossEntropy } from '../backend/loss-kernel.js';
import { simdAffineWarp } from '../backend/warp-kernel.js';
import { applyPixelSteps, applyPlan, PLAN_STRIDE, planHasPixelSteps } from '../data/augment.js';
import { SIDE } from '../data/dataset.js';
import type { Model } from './index.js';

/** What one gradient step computed; the caller disposes `grads`. */
export interface StepResult {
  /** This slice's share of the batch's mean cross-entropy (Σ loss / batch size): shares add up. */
  loss: number;
  /** Images whose arg-max prediction equals the label. */
  correct: number;
  /** Gradients keyed by variable name (this slice's share of the batch's gradient). */
  grads: tf.NamedTensorMap;
}

/** A slice's input tensors made ahead of its step (the data pipeline's prefetch). */
export interface PreparedInput {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  labels: Int32Array;
}

/**
 * Makes the input tensors of a step: the images augmented by the plan (the SIMD warp on wasm, else the
 * JS reference in place on `images`) and the labels. The step disposes them.
 *
 * @example
 * ```ts
 * const next = prepareInput(images, labels, { plan, background }); // while another step runs
 * gradientStep(model, images, labels, rng, vars, { prepared: next });
 * ```
 */
export function prepareInput(
  images: Float32Array,
  labels: Int32Array,
  augment?: { plan: Float64Array; background: number },
): PreparedInput {
  const n = labels.length;
  return { x: inputTensor(images, n, augment), y: tf.tensor1d(labels, 'int32'), labels: labels.slice() };
}

/** Optional parts of a step. */
export interface StepOptions {
  /** Inputs made ahead by {@link prepareInput}; `images`, `labels` and `augment` are then not used. */
  prepared?: PreparedInput;
  /** Augmentation plan of these images (data/augment.ts) and the normalized background value. */
  augment?: { plan: Float64Array; background: number };
  /** Where these images sit in the batch, when the batch is split over threads. */
  slice?: BatchSlice;
  /** The thread group's batch-statistics exchange, when split. */
  sync?: BatchSync;
}

function inputTensor(images: Float32Array, n: number, augment: StepOptions['augment']): tf.Tensor4D {
  if (augment) {
    const { plan, background } = augment;
    const x = tf.tensor4d(images, [n, SIDE, SIDE, 1]);
    // The warp on the SIMD kernels, then the pixel steps in JS on its output, where any image has them.
    const pixelSteps = planHasPixelSteps(plan, n)
      ? (pixels: Float32Array) => applyPixelSteps(pixels, n, plan, background)
      : undefined;
    const warped = simdAffineWarp(x, plan, PLAN_STRIDE, background, pixelSteps);
    x.dispose();
    if (warped) return warped;
    // The JS reference works in place on the caller's staging buffer.
    applyPlan(images, n, plan, background);
  }
  return tf.tensor4d(images, [n, SIDE, SIDE, 1]);
}

/**
 * Runs the model in training mode on `labels.length` normalized images (NHWC, 784 floats each) and
 * returns the loss, the number of correct predictions and the gradients of `variables`. With a slice,
 * batch-norm statistics, dropout masks and the loss's scale are those of the whole batch.
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
  options: StepOptions = {},
): StepResult {
  const input = options.prepared ?? prepareInput(images, labels, options.augment);
  const { x, y } = input;
  const n = input.labels.length;
  const slice = options.slice ?? { offset: 0, count: n, total: n };
  return withBatchSlice(slice, options.sync ?? null, () => {
    // The predictions are taken inside the taped function, from the same logits as the loss.
    const kept: { predicted?: tf.Tensor } = {};
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.forward(x, { training: true, rng });
      const { loss, predicted } = softmaxCrossEntropy(logits, y, 1 / slice.total);
      kept.predicted = tf.keep(predicted);
      return loss;
    }, variables);
    const loss = value.dataSync()[0] ?? Number.NaN;
    let correct = 0;
    if (kept.predicted) {
      const predicted = kept.predicted.dataSync();
      for (const [i, label] of input.labels.entries()) if (predicted[i] === label) correct++;
    }
    tf.dispose([x, y, value, kept.predicted]);
    return { loss, correct, grads };
  });
}
