// Optimizers that keep their state in plain Float32Arrays and update every parameter in one loop — the
// JS reference below, or a backend's kernel (the wasm SIMD one) handed in as an `AdamKernel`:
// tfjs optimizers run ~10 small kernels per variable per step, which on wasm costs more than the
// arithmetic. Plain arrays also make the state trivial to checkpoint.
import * as tf from '@tensorflow/tfjs';

/** Optimizer names accepted by the config. */
export const OPTIMIZER_NAMES = ['adam', 'adamw', 'sgd'] as const;
/** An optimizer name. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Hyper-parameters (defaults: PyTorch's). */
export interface OptimizerOptions {
  name: OptimizerName;
  learningRate: number;
  /** Adam β1 [0.9] / SGD momentum [0.9]. */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
}

/** Step constants of one Adam update: stepSize = lr / (1 − β1ᵗ), rc2 = 1 / √(1 − β2ᵗ). */
export interface AdamStep {
  stepSize: number;
  rc2: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** AdamW: weight decay applied to the parameters, not added to the gradient. */
  decoupled: boolean;
  learningRate: number;
}

/**
 * A backend's Adam update of one variable: updates m and v in place and returns the new parameter
 * values as a tensor (a new tensor: wasm caches packed conv weights by tensor id), or null when it cannot
 * run here (the JS loop runs instead).
 */
export type AdamKernel = (
  variable: tf.Variable,
  grad: tf.Tensor,
  m: Float32Array,
  v: Float32Array,
  step: AdamStep,
) => tf.Tensor | null;

/**
 * The JS reference Adam update over flat arrays (p updated in place).
 *
 * @example
 * ```ts
 * adamReference(p, g, m, v, { stepSize: 1e-3 / 0.1, rc2: 1 / Math.sqrt(0.001), beta1: 0.9, beta2: 0.999,
 *   epsilon: 1e-8, weightDecay: 0, decoupled: false, learningRate: 1e-3 });
 * ```
 */
export function adamReference(
  p: Float32Array,
  g: ArrayLike<number>,
  m: Float32Array,
  v: Float32Array,
  s: AdamStep,
): void {
  const {
    stepSize,
    rc2,
    beta1: b1,
    beta2: b2,
    epsilon: eps,
    weightDecay: wd,
    decoupled,
    learningRate: lr,
  } = s;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (decoupled) p[i]! -= lr * wd * p[i]!;
    else gi += wd * p[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * gi;
    v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
    p[i]! -= (stepSize * m[i]!) / (Math.sqrt(v[i]!) * rc2 + eps);
  }
}

/** Serializable optimizer state (for checkpoints). */
export interface OptimizerState {
  name: OptimizerName;
  step: number;
  slots: Record<string, Float32Array[]>;
}

/** An optimizer over named variables. */
export class Optimizer {
  learningRate: number;
  private step = 0;
  private slots = new Map<string, Float32Array[]>();

  /**
   * @example
   * ```ts
   * const opt = new Optimizer({ name: 'adam', learningRate: 1e-3 }); // or with a backend's AdamKernel
   * opt.apply(vars, grads);
   * ```
   */
  constructor(
    readonly options: OptimizerOptions,
    private readonly kernel: AdamKernel | null = null,
  ) {
    this.learningRate = options.learningRate;
  }

  /** Applies one update from gradients keyed like `variables`. Disposes nothing it was given. */
  apply(variables: Array<{ name: string; variable: tf.Variable }>, grads: Record<string, tf.Tensor>): void {
    this.step++;
    const { name } = this.options;
    const b1 = this.options.beta1 ?? 0.9;
    const b2 = this.options.beta2 ?? 0.999;
    const eps = this.options.epsilon ?? 1e-8;
    const wd = this.options.weightDecay ?? (name === 'adamw' ? 0.01 : 0);
    const lr = this.learningRate;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    for (const { name: key, variable } of variables) {
      const grad = grads[variable.name];
      if (!grad) continue;
      let slots = this.slots.get(key);
      if (!slots) {
        slots =
          name === 'sgd'
            ? [new Float32Array(variable.size)]
            : [new Float32Array(variable.size), new Float32Array(variable.size)];
        this.slots.set(key, slots);
      }
      const adam: AdamStep = {
        stepSize: lr / c1,
        rc2: 1 / Math.sqrt(c2),
        beta1: b1,
        beta2: b2,
        epsilon: eps,
        weightDecay: wd,
        decoupled: name === 'adamw',
        learningRate: lr,
      };
      if (name !== 'sgd' && this.kernel) {
        const [m, v] = slots as [Float32Array, Float32Array];
        const updated = this.kernel(variable, grad, m, v, adam);
        if (updated) {
          variable.assign(updated);
          updated.dispose();
          continue;
        }
      }
      const g = grad.dataSync() as Float32Array;
      const p = (variable.dataSync() as Float32Array).slice();
      if (name === 'sgd') {
        const [m] = slots as [Float32Array];
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]! + wd * p[i]!;
          m[i] = b1 * m[i]! + gi;
          p[i]! -= lr * m[i]!;
        }
      } else {
        const [m, v] = slots as [Float32Array, Float32Array];
        adamReference(p, g, m, v, adam);
      }
      // A new tensor rather than an in-place write: wasm caches packed conv weights by tensor id.
      const next = tf.tensor(p, variable.shape, 'float32');
      variable.assign(next);
      next.dispose();
    }
  }

  /** Copy of the state for a checkpoint. */
  getState(): OptimizerState {
    const slots: Record<string, Float32Array[]> = {};
    for (const [k, v] of this.slots) slots[k] = v.map((a) => a.slice());
    return { name: this.options.name, step: this.step, slots };
  }

  /** Restores a state written by {@link getState}. */
  setState(state: OptimizerState): void {
    if (state.name !== this.options.name) {
      throw new Error(`checkpoint optimizer is ${state.name}, config asks for ${this.options.name}`);
    }
    this.step = state.step;
    this.slots = new Map(Object.entries(state.slots).map(([k, v]) => [k, v.map((a) => a.slice())]));
  }
}
