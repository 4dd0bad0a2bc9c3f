// The one bilinear resampler of 28×28 digits, shared by augmentation and canonicalization: each
// output pixel samples the source at the inverse-mapped point, what falls outside the image takes
// the background value. The backends' SIMD warp (wasm/kernels) is its port.
import { SIDE } from './dataset.js';

const CENTRE = (SIDE - 1) / 2;

/**
 * dst = src warped about the centre: output pixel p samples M·(p − c − t) + c, with
 * M = [[cos, sin], [−sin, cos]] (a rotation by −atan2(sin, cos), scaled by 1 / √(cos² + sin²)).
 *
 * @example
 * ```ts
 * warpBilinear(src, dst, Math.cos(a), Math.sin(a), 0, 0, background);
 * ```
 */
export function warpBilinear(
  src: Float32Array,
  dst: Float32Array,
  cos: number,
  sin: number,
  tx: number,
  ty: number,
  background: number,
): void {
  const pixel = (xx: number, yy: number) =>
    xx < 0 || yy < 0 || xx >= SIDE || yy >= SIDE ? background : src[yy * SIDE + xx]!;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const dx = x - CENTRE - tx;
      const dy = y - CENTRE - ty;
      const sx = cos * dx + sin * dy + CENTRE;
      const sy = -sin * dx + cos * dy + CENTRE;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const top = pixel(x0, y0) * (1 - fx) + pixel(x0 + 1, y0) * fx;
      const bottom = pixel(x0, y0 + 1) * (1 - fx) + pixel(x0 + 1, y0 + 1) * fx;
      dst[y * SIDE + x] = top * (1 - fy) + bottom * fy;
    }
  }
}
