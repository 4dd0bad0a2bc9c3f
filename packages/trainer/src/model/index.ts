// Model factories: `createModel(name, options)` returns a seeded, initialised model with a forward
// function and its variables. Three architectures: the course's small CNN, the same design wider
// (`cnn-medium`), and a larger plain one with dropout.
import { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import {
  batchNormParams,
  convBnLeakyPool,
  convParams,
  denseParams,
  type NamedVariable,
  ParameterStore,
  seededDropout,
} from './layers.js';

/** Names accepted by {@link createModel}. */
export const MODEL_NAMES = ['cnn-small', 'cnn-medium', 'cnn-large'] as const;
/** A model architecture name. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** Architecture options (all optional; defaults in brackets). */
export interface ModelOptions {
  /** Output classes [10]. */
  numClasses?: number;
  /** Seed of the initial weights [0]. */
  seed?: number;
  /** LeakyReLU slope of cnn-small [0.1]. */
  alpha?: number;
  /** Batch-norm momentum, PyTorch convention [0.1]. */
  momentum?: number;
  /** Batch-norm epsilon [1e-5]. */
  epsilon?: number;
  /** Dropout rate before the first dense layer [cnn-small and cnn-medium 0.1, cnn-large 0.5]. */
  dropout?: number;
  /**
   * Whether every input is first turned upright by the principal axis of its ink [false]
   * (data/canonical.ts): inference does it in {@link infer}, training folds it into augmentation.
   */
  canonicalize?: boolean;
  /**
   * Whether every input is first scaled to mean 0 and standard deviation 1 of its own [false]: the
   * network then sees the same image whatever its contrast gain and background level (a grey-level
   * affine change of the pixels), in training and inference alike.
   */
  standardize?: boolean;
}

/** Per-call options of {@link Model.forward}. */
export interface ForwardOptions {
  training: boolean;
  /** Generator for dropout masks while training. */
  rng?: Rng;
}

/** An initialised model. Inputs are NHWC `[N, 28, 28, 1]` float32, outputs are logits `[N, classes]`. */
export interface Model {
  readonly name: ModelName;
  readonly options: Required<ModelOptions>;
  readonly variables: NamedVariable[];
  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D;
  dispose(): void;
}

/** Trainable and non-trainable (batch-norm statistics) element counts. */
export interface ParamCount {
  trainable: number;
  nonTrainable: number;
  total: number;
}

/**
 * Counts a model's parameters.
 *
 * @example
 * ```ts
 * countParams(createModel('cnn-small')); // { trainable: 10982, nonTrainable: 96, total: 11078 }
 * ```
 */
export function countParams(model: Model): ParamCount {
  let trainable = 0;
  let nonTrainable = 0;
  for (const v of model.variables) {
    if (v.trainable) trainable += v.variable.size;
    else nonTrainable += v.variable.size;
  }
  return { trainable, nonTrainable, total: trainable + nonTrainable };
}

/** Each architecture's dropout rate before its first dense layer. */
const DEFAULT_DROPOUT: Record<ModelName, number> = { 'cnn-small': 0.1, 'cnn-medium': 0.1, 'cnn-large': 0.5 };

function resolveOptions(name: ModelName, options: ModelOptions): Required<ModelOptions> {
  return {
    numClasses: options.numClasses ?? 10,
    seed: options.seed ?? 0,
    alpha: options.alpha ?? 0.1,
    momentum: options.momentum ?? 0.1,
    epsilon: options.epsilon ?? 1e-5,
    dropout: options.dropout ?? DEFAULT_DROPOUT[name] ?? 0,
    canonicalize: options.canonicalize ?? false,
    standardize: options.standardize ?? false,
  };
}

/** Variance floor of {@link standardizeImages}: a blank image stays blank (all zeros). */
const STANDARDIZE_EPSILON = 1e-4;

/**
 * Each image of a batch (N×H×W×C) shifted and scaled to mean 0 and standard deviation 1 of its own;
 * one image's result depends on no other, so the threads of a training step agree bit for bit.
 */
function standardizeImages(x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2, 3], true);
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, STANDARDIZE_EPSILON))) as tf.Tensor4D;
}

/**
 * The course's design: three blocks of conv 3×3 (same) → batch norm → LeakyReLU → max-pool 2 with
 * `widths` channels, dropout, a dense layer of `hidden` units and the classifier.
 */
function createBlocks(
  name: 'cnn-small' | 'cnn-medium',
  widths: readonly [number, number, number],
  hidden: number,
  opts: Required<ModelOptions>,
): Model {
  const store = new ParameterStore(new Rng(opts.seed));
  const inputs = [1, widths[0], widths[1]] as const;
  const blocks = widths.map((w, i) => ({
    conv: convParams(store, `conv${i + 1}`, 3, inputs[i] ?? 1, w),
    bn: batchNormParams(store, `bn${i + 1}`, w),
  }));
  // 28 → 14 → 7 → 3 after three floor-pools.
  const flat = 3 * 3 * widths[2];
  const fc1 = denseParams(store, 'fc1', flat, hidden);
  const fc2 = denseParams(store, 'fc2', hidden, opts.numClasses);
  return {
    name,
    options: opts,
    variables: store.variables,
    forward(x, { training, rng }) {
      let h = opts.standardize ? standardizeImages(x) : x;
      for (const b of blocks) {
        h = convBnLeakyPool(h, b.conv, b.bn, { training, ...opts });
      }
      let f = tf.reshape(h, [h.shape[0], flat]) as tf.Tensor2D;
      // The course model's Dropout(0.1) before the first dense layer.
      if (training && rng) f = seededDropout(f, opts.dropout, rng);
      const d = tf.leakyRelu(
        tf.add(tf.matMul(f, fc1.kernel as tf.Tensor2D), fc1.bias),
        opts.alpha,
      ) as tf.Tensor2D;
      return tf.add(tf.matMul(d, fc2.kernel as tf.Tensor2D), fc2.bias) as tf.Tensor2D;
    },
    dispose() {
      for (const v of store.variables) v.variable.dispose();
    },
  };
}

function createLarge(opts: Required<ModelOptions>): Model {
  const store = new ParameterStore(new Rng(opts.seed));
  const c1 = convParams(store, 'conv1', 3, 1, 32);
  const c2 = convParams(store, 'conv2', 3, 32, 64);
  // 28 → conv 26 → pool 13 → conv 11 → pool 5.
  const flat = 5 * 5 * 64;
  const fc1 = denseParams(store, 'fc1', flat, 128);
  const fc2 = denseParams(store, 'fc2', 128, opts.numClasses);
  return {
    name: 'cnn-large',
    options: opts,
    variables: store.variables,
    forward(x, { training, rng }) {
      const block = (h: tf.Tensor4D, c: typeof c1) =>
        tf.maxPool(
          tf.relu(tf.add(tf.conv2d(h, c.kernel as tf.Tensor4D, 1, 'valid'), c.bias)) as tf.Tensor4D,
          2,
          2,
          'valid',
        );
      const h = block(block(opts.standardize ? standardizeImages(x) : x, c1), c2);
      const f = tf.reshape(h, [h.shape[0], flat]) as tf.Tensor2D;
      let d = tf.relu(tf.add(tf.matMul(f, fc1.kernel as tf.Tensor2D), fc1.bias)) as tf.Tensor2D;
      if (training && rng) d = seededDropout(d, opts.dropout, rng);
      return tf.add(tf.matMul(d, fc2.kernel as tf.Tensor2D), fc2.bias) as tf.Tensor2D;
    },
    dispose() {
      for (const v of store.variables) v.variable.dispose();
    },
  };
}

/**
 * Creates an initialised model by architecture name.
 *
 * @example
 * ```ts
 * const model = createModel('cnn-small', { seed: 1 });
 * const logits = model.forward(tf.zeros([2, 28, 28, 1]), { training: false });
 * ```
 */
export function createModel(name: ModelName, options: ModelOptions = {}): Model {
  const opts = resolveOptions(name, options);
  switch (name) {
    case 'cnn-small':
      return createBlocks('cnn-small', [12, 16, 20], 32, opts);
    case 'cnn-medium':
      return createBlocks('cnn-medium', [16, 24, 32], 40, opts);
    case 'cnn-large':
      return createLarge(opts);
    default:
      throw new Error(`unknown model '${String(name)}' (allowed: ${MODEL_NAMES.join(', ')})`);
  }
}
