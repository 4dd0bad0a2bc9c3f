// The Adam (AdamW) update of one variable as the SIMD kernel on the wasm heap: gradient and parameters
// are read where they lie, the optimizer's m and v (plain arrays, so checkpoints stay simple) are copied
// in and out, and the new parameters are written straight into a new tensor.
import * as tf from '@tensorflow/tfjs';
import { carve, ptr, simdFor, wasmBackend } from './wasm-backend.js';

/** The constants of one step (the optimizer's `AdamStep`). */
export interface AdamConstants {
  stepSize: number;
  rc2: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  decoupled: boolean;
  learningRate: number;
}

/**
 * One Adam step of `variable` on the wasm SIMD kernel; m and v are updated in place. Returns the new
 * parameters, or null where the kernel cannot run (another backend, the reference kernels asked for).
 *
 * @example
 * ```ts
 * const optimizer = new Optimizer({ name: 'adam', learningRate: 1e-3 }, simdAdamUpdate);
 * ```
 */
export function simdAdamUpdate(
  variable: tf.Variable,
  grad: tf.Tensor,
  m: Float32Array,
  v: Float32Array,
  s: AdamConstants,
): tf.Tensor | null {
  if (tf.getBackend() !== 'wasm' || grad.dtype !== 'float32') return null;
  const backend = wasmBackend(tf.backend());
  const simd = simdFor(backend);
  if (!simd) return null;
  const len = variable.size;
  const out = backend.makeOutput([...variable.shape], 'float32');
  const [pm = 0, pv = 0] = carve(simd.scratch, [len * 4, len * 4]);
  const buffer = backend.wasm.asm.memory.buffer;
  new Float32Array(buffer, pm, len).set(m);
  new Float32Array(buffer, pv, len).set(v);
  simd.kernels.adamUpdate(
    ptr(backend, variable),
    ptr(backend, grad),
    pm,
    pv,
    ptr(backend, out),
    len,
    s.stepSize,
    s.rc2,
    s.beta1,
    s.beta2,
    s.epsilon,
    s.weightDecay,
    s.decoupled ? 1 : 0,
    s.learningRate,
  );
  m.set(new Float32Array(buffer, pm, len));
  v.set(new Float32Array(buffer, pv, len));
  return tf.engine().makeTensorFromTensorInfo(out);
}
