// The course's Corrupt MNIST recipe: torchvision's `RandomRotation(50)` applied to a whole shard,
// so ONE angle, uniform in [−50°, 50°], per 5 000-digit shard; nearest-neighbour, fill 0, about
// the centre, no expand. The rotation below reproduces torchvision's `F.rotate` bit for bit:
// the same float32 steps (inverse matrix, pixel-centre grid, grid_sample's unnormalization,
// round-half-to-even), with our polynomial sin/cos so that every machine gets the same bytes.
import type { Rng } from '@dataver/foundation';
import { cosPoly, radians, sinPoly } from './fixed-math.js';

export const SIDE = 28;

/** The course recipe's constants (tools/corrupt_mnist.py of the course). */
export const COURSE_RECIPE = {
  /** `RandomRotation(50)`: angles uniform in [−50°, 50°]. */
  maxDegrees: 50,
  /** One angle per shard of this many digits. */
  shardSize: 5000,
} as const;

const f32 = Math.fround;

/** Rounds half to even, as `nearbyint` and `_mm256_round_ps` do. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Rotates one square uint8 image by `degrees` (counter-clockwise for positive angles, as
 * torchvision) with nearest-neighbour sampling and fill 0, exactly as
 * `torchvision.transforms.functional.rotate(img, degrees, InterpolationMode.NEAREST)`.
 * `degrees` must lie within ±90. To rotate many images by one angle, make its
 * {@link nearestRotationMap} once and {@link remapPixels} each image.
 *
 * @example
 * const out = new Uint8Array(784);
 * rotateNearest(digit, out, -37.5);
 */
export function rotateNearest(src: Uint8Array, dst: Uint8Array, degrees: number, side = SIDE): void {
  remapPixels(src, dst, nearestRotationMap(degrees, side));
}

/**
 * Where each output pixel of a nearest-neighbour rotation by `degrees` reads from: the index of a
 * source pixel, or −1 for the fill (0). The arithmetic is torchvision's, float32 step by step.
 *
 * @example
 * const map = nearestRotationMap(12.5);
 * for (const [src, dst] of pairs) remapPixels(src, dst, map);
 */
export function nearestRotationMap(degrees: number, side = SIDE): Int32Array {
  // torchvision passes −angle to its inverse-matrix helper: [cos, sin, 0, −sin, cos, 0] of radians(−angle),
  // as a float32 tensor, transposed and divided by (w/2, h/2).
  const rot = radians(-degrees);
  const cos = f32(cosPoly(rot));
  const sin = f32(sinPoly(rot));
  const half = side / 2;
  const r00 = f32(cos / half);
  const r10 = f32(sin / half);
  const r01 = f32(-sin / half);
  const r11 = r00;
  const map = new Int32Array(side * side);
  for (let i = 0; i < side; i++) {
    const yb = i + 0.5 - half; // pixel centres, as torch.linspace(-h/2 + 0.5, h/2 - 0.5)
    for (let j = 0; j < side; j++) {
      const xb = j + 0.5 - half;
      const gx = f32(f32(xb * r00) + f32(yb * r10));
      const gy = f32(f32(xb * r01) + f32(yb * r11));
      // grid_sample, align_corners=False: ((g + 1) · size − 1) / 2, then the nearest pixel
      const ix = roundHalfEven(f32(f32(f32(f32(gx + 1) * side) - 1) / 2));
      const iy = roundHalfEven(f32(f32(f32(f32(gy + 1) * side) - 1) / 2));
      map[i * side + j] = ix >= 0 && ix < side && iy >= 0 && iy < side ? iy * side + ix : -1;
    }
  }
  return map;
}

/** `dst[p] = src[map[p]]`, 0 where the map says −1 (see {@link nearestRotationMap}). */
export function remapPixels(src: Uint8Array, dst: Uint8Array, map: Int32Array): void {
  for (let p = 0; p < map.length; p++) {
    const from = map[p]!;
    dst[p] = from >= 0 ? src[from]! : 0;
  }
}

/**
 * The angle of one shard: uniform in [−max, max], like `RandomRotation(max).get_params`.
 *
 * @example
 * const angle = courseAngle(new Rng(deriveSeed(0, 1, shard)));
 */
export function courseAngle(rng: Rng, maxDegrees: number = COURSE_RECIPE.maxDegrees): number {
  return rng.uniform(-maxDegrees, maxDegrees);
}

/**
 * uint8 → float32 pixels as the course stores them (`x / 255.0` on a uint8 tensor: one float32
 * division, correctly rounded).
 *
 * @example
 * const floats = toUnitFloat(rotatedBytes);
 */
export function toUnitFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] ?? 0) / 255;
  return out;
}
