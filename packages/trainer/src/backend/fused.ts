// The fused batch-norm + LeakyReLU + max-pool op: the wasm kernel where it is registered, the same
// maths from stock ops elsewhere (tfjs-node, cpu), so that a model trains and predicts on every backend.
import * as tf from '@tensorflow/tfjs';
import { FUSED_BN_ACT_POOL, type FusedBnActPoolAttrs } from './bn-act-pool.js';
import { fusedKernelAvailable } from './wasm-kernels.js';

/** Result of {@link bnLeakyPool}: the activations and the statistics that normalized them. */
export interface BnLeakyPoolResult {
  output: tf.Tensor4D;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Adds a per-channel bias (the preceding convolution's), batch-normalizes x (NHWC) per channel, applies LeakyReLU and a 2×2 max-pool.
 *
 * @example
 * ```ts
 * const { output } = bnLeakyPool(x, bias, gamma, beta, movingMean, movingVar,
 *   { training: true, epsilon: 1e-5, alpha: 0.1, pool: 2 });
 * ```
 */
export function bnLeakyPool(
  x: tf.Tensor4D,
  bias: tf.Tensor1D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  movingMean: tf.Tensor1D,
  movingVariance: tf.Tensor1D,
  attrs: FusedBnActPoolAttrs,
  forceStock = false,
): BnLeakyPoolResult {
  if (!forceStock && fusedKernelAvailable()) {
    const [output, mean, variance] = tf
      .engine()
      .runKernel(
        FUSED_BN_ACT_POOL,
        { x, bias, gamma, beta, mean: movingMean, variance: movingVariance },
        attrs,
      ) as tf.Tensor[];
    return { output: output as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return tf.tidy(() => {
    x = tf.add(x, bias);
    let mean = movingMean;
    let variance = movingVariance;
    if (attrs.training) {
      const m = tf.moments(x, [0, 1, 2]);
      mean = m.mean as tf.Tensor1D;
      variance = m.variance as tf.Tensor1D;
    }
    const y = tf.batchNorm(x, mean, variance, beta, gamma, attrs.epsilon);
    const z = tf.leakyRelu(y, attrs.alpha);
    const output = attrs.pool === 2 ? tf.maxPool(z, 2, 2, 'valid') : z;
    return { output, mean, variance };
  });
}
