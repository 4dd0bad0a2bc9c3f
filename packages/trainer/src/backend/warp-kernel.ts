// The augmentation's bilinear affine warp of a whole batch as the SIMD module's loop on the wasm heap:
// the images go from their input tensor to a new one, with the per-image transforms of an augmentation
// plan (data/augment.ts draws the plan; its JS loop is the reference).
import * as tf from '@tensorflow/tfjs';
import { carve, f32, ptr, simdFor, wasmBackend } from './wasm-backend.js';

/** Numbers per image the SIMD kernel reads (the first five are the warp's: apply flag, cos/s, sin/s, tx, ty). */
const KERNEL_STRIDE = 6;

/**
 * Warps square images x [n, side, side, 1] by the plan (`stride` numbers per image, the warp's first);
 * images whose flag is 0 are copied. `then`, if given, works in place on the warped pixels (on the wasm
 * heap) before they become a tensor: the plan's pixel steps. Returns null where the SIMD kernels do not
 * run (another backend, the reference kernels asked for).
 *
 * @example
 * ```ts
 * const warped = simdAffineWarp(x, plan, 8, background, (px) => applyPixelSteps(px, n, plan, bg)) ?? reference();
 * ```
 */
export function simdAffineWarp(
  x: tf.Tensor4D,
  plan: Float64Array,
  stride: number,
  background: number,
  then?: (pixels: Float32Array) => void,
): tf.Tensor4D | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = wasmBackend(tf.backend());
  const simd = simdFor(backend);
  if (!simd) return null;
  const [n, side] = x.shape;
  const out = backend.makeOutput([...x.shape], 'float32');
  const [pp = 0] = carve(simd.scratch, [n * KERNEL_STRIDE * 4]);
  const params = new Float32Array(backend.wasm.asm.memory.buffer, pp, n * KERNEL_STRIDE);
  for (let i = 0; i < n; i++)
    params.set(plan.subarray(i * stride, i * stride + KERNEL_STRIDE), i * KERNEL_STRIDE);
  simd.kernels.affineWarp(ptr(backend, x), n, side, pp, background, ptr(backend, out));
  then?.(f32(backend, out));
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor4D;
}
