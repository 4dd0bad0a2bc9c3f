// Building blocks of the models: parameters as named tf.Variables and forward functions over NHWC
// tensors. Plain functions instead of tf.layers: the training flag, the fused kernel and seeded dropout
// are explicit, and weights save as one flat binary with a manifest.
import type { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { currentSlice } from '../backend/batch-sync.js';
import { bnLeakyPool } from '../backend/fused.js';

/** A named parameter or state tensor of a model. */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
  trainable: boolean;
}

/** Holds a model's variables and draws their initial values from a seeded generator. */
export class ParameterStore {
  readonly variables: NamedVariable[] = [];
  constructor(private readonly rng: Rng) {}

  /** Uniform(-bound, bound) parameter. */
  uniform(name: string, shape: number[], bound: number): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = this.rng.uniform(-bound, bound);
    return this.add(name, tf.tensor(values, shape), true);
  }

  /** Constant-filled parameter (trainable) or state (not trainable). */
  constant(name: string, shape: number[], value: number, trainable: boolean): tf.Variable {
    return this.add(name, tf.fill(shape, value), trainable);
  }

  private add(name: string, init: tf.Tensor, trainable: boolean): tf.Variable {
    // Variable names are global in tfjs; a unique suffix lets several models live in one process.
    const variable = tf.variable(init, trainable, `${name}_${nextId++}`);
    init.dispose();
    this.variables.push({ name, variable, trainable });
    return variable;
  }
}

let nextId = 0;

/** Convolution weights and bias, initialised like PyTorch's default (Kaiming-uniform, a=√5).
 *
 * @example
 * ```ts
 * const conv = convParams(store, 'conv1', 3, 1, 12);
 * ```
 */
export function convParams(store: ParameterStore, name: string, k: number, inC: number, outC: number) {
  const fanIn = k * k * inC;
  const bound = 1 / Math.sqrt(fanIn);
  return {
    kernel: store.uniform(`${name}.kernel`, [k, k, inC, outC], bound),
    bias: store.uniform(`${name}.bias`, [outC], bound),
  };
}

/** Dense weights and bias, initialised like PyTorch's nn.Linear.
 *
 * @example
 * ```ts
 * const fc = denseParams(store, 'fc1', 180, 32);
 * ```
 */
export function denseParams(store: ParameterStore, name: string, inF: number, outF: number) {
  const bound = 1 / Math.sqrt(inF);
  return {
    kernel: store.uniform(`${name}.kernel`, [inF, outF], bound),
    bias: store.uniform(`${name}.bias`, [outF], bound),
  };
}

/** Batch-norm scale/shift and moving statistics.
 *
 * @example
 * ```ts
 * const bn = batchNormParams(store, 'bn1', 12);
 * ```
 */
export function batchNormParams(store: ParameterStore, name: string, channels: number) {
  return {
    gamma: store.constant(`${name}.gamma`, [channels], 1, true),
    beta: store.constant(`${name}.beta`, [channels], 0, true),
    movingMean: store.constant(`${name}.moving_mean`, [channels], 0, false),
    movingVariance: store.constant(`${name}.moving_variance`, [channels], 1, false),
  };
}

/** Conv → batch norm → LeakyReLU → 2×2 max-pool, the fused kernel where available.
 *
 * @example
 * ```ts
 * const h = convBnLeakyPool(x, conv, bn, { training: true, alpha: 0.1, epsilon: 1e-5, momentum: 0.1 });
 * ```
 */
export function convBnLeakyPool(
  x: tf.Tensor4D,
  conv: ReturnType<typeof convParams>,
  bn: ReturnType<typeof batchNormParams>,
  opts: { training: boolean; alpha: number; epsilon: number; momentum: number },
): tf.Tensor4D {
  // The conv bias goes into the fused op: with batch statistics it cancels, so no add and no reduction.
  const y = tf.conv2d(x, conv.kernel as tf.Tensor4D, 1, 'same');
  const r = bnLeakyPool(
    y,
    conv.bias as tf.Tensor1D,
    bn.gamma as tf.Tensor1D,
    bn.beta as tf.Tensor1D,
    bn.movingMean as tf.Tensor1D,
    bn.movingVariance as tf.Tensor1D,
    {
      training: opts.training,
      epsilon: opts.epsilon,
      alpha: opts.alpha,
      pool: 2,
    },
  );
  if (opts.training) {
    // Moving statistics follow PyTorch: new = (1 - momentum)·old + momentum·batch, unbiased variance.
    const m = opts.momentum;
    // The statistics are the whole batch's, also when this thread holds only a slice of it.
    const n = currentSlice(y.shape[0]).total * y.shape[1] * y.shape[2];
    const unbiased = n > 1 ? n / (n - 1) : 1;
    bn.movingMean.assign(tf.tidy(() => tf.add(tf.mul(bn.movingMean, 1 - m), tf.mul(r.mean, m))));
    bn.movingVariance.assign(
      tf.tidy(() => tf.add(tf.mul(bn.movingVariance, 1 - m), tf.mul(r.variance, m * unbiased))),
    );
  }
  return r.output;
}

/** Inverted dropout with a mask drawn from our seeded generator (tf.dropout's seed reuses one mask).
 * The mask is drawn for the whole batch and this thread keeps its slice's rows, so that a batch split
 * over threads (each given the same generator state) drops exactly what one thread would.
 *
 * @example
 * ```ts
 * const d = seededDropout(h, 0.5, rng);
 * ```
 */
export function seededDropout(x: tf.Tensor2D, rate: number, rng: Rng): tf.Tensor2D {
  if (rate <= 0) return x;
  const [rows, features] = x.shape;
  const { offset, total } = currentSlice(rows);
  const mask = new Float32Array(total * features);
  const keep = 1 - rate;
  for (let i = 0; i < mask.length; i++) mask[i] = rng.float() < keep ? 1 / keep : 0;
  const mine = mask.subarray(offset * features, (offset + rows) * features);
  return tf.mul(x, tf.tensor2d(mine, x.shape));
}
