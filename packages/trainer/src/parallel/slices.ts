// What every training thread does with its slice of a batch: gather its images from the training set
// into a reused staging buffer, and move weights and gradients between tfjs variables and flat arrays.
import * as tf from '@tensorflow/tfjs';
import { PIXELS } from '../data/dataset.js';
import type { NamedVariable } from '../model/layers.js';

/** Reused per-thread buffers for one slice. */
export interface Staging {
  images: Float32Array;
  labels: Int32Array;
}

/**
 * Staging buffers for up to `capacity` images.
 *
 * @example
 * ```ts
 * const staging = createStaging(64);
 * ```
 */
export function createStaging(capacity: number): Staging {
  return { images: new Float32Array(capacity * PIXELS), labels: new Int32Array(capacity) };
}

/**
 * Copies the images and labels at `indices` into the staging buffers and returns views of their length.
 *
 * @example
 * ```ts
 * const { images, labels } = gatherSlice(train.images, train.labels, order.subarray(0, 64), staging);
 * ```
 */
export function gatherSlice(
  images: Float32Array,
  labels: Int32Array,
  indices: Int32Array,
  staging: Staging,
): Staging {
  const n = indices.length;
  for (let i = 0; i < n; i++) {
    const j = indices[i]!;
    staging.images.set(images.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    staging.labels[i] = labels[j]!;
  }
  return { images: staging.images.subarray(0, n * PIXELS), labels: staging.labels.subarray(0, n) };
}

/**
 * Writes every variable's values, in model order, into `out`.
 *
 * @example
 * ```ts
 * writeVariables(model.variables, new Float32Array(sharedWeights));
 * ```
 */
export function writeVariables(variables: readonly NamedVariable[], out: Float32Array): void {
  let o = 0;
  for (const v of variables) {
    out.set(v.variable.dataSync(), o);
    o += v.variable.size;
  }
}

/**
 * Assigns every variable from `values` (model order), each as a new tensor.
 *
 * @example
 * ```ts
 * readVariables(replica.variables, new Float32Array(sharedWeights));
 * ```
 */
export function readVariables(variables: readonly NamedVariable[], values: Float32Array): void {
  let o = 0;
  for (const v of variables) {
    const t = tf.tensor(values.subarray(o, o + v.variable.size), v.variable.shape, 'float32');
    v.variable.assign(t);
    t.dispose();
    o += v.variable.size;
  }
}

/**
 * Flattens the gradients of the trainable variables (model order) into `out`; missing ones are zero.
 *
 * @example
 * ```ts
 * flattenGrads(trainables, grads, gradBlock);
 * ```
 */
export function flattenGrads(
  trainables: readonly NamedVariable[],
  grads: tf.NamedTensorMap,
  out: Float32Array,
): void {
  let o = 0;
  for (const v of trainables) {
    const g = grads[v.variable.name];
    if (g) out.set(g.dataSync(), o);
    else out.fill(0, o, o + v.variable.size);
    o += v.variable.size;
  }
}
