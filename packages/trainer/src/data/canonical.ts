// Rotation canonicalization: each digit is turned so that the principal axis of its ink (from the
// second-order moments of the image) stands vertical. Moments rotate with the image, so a digit
// rotated by any angle comes out, up to resampling, as the same canonical image: the network
// behind it never has to learn the rotations the course's data applies. Plain float math on the
// CPU, so that training folds it into the augmentation's one resampling.

import { PIXELS, SIDE } from './dataset.js';
import { warpBilinear } from './warp.js';

/**
 * The angle (radians, in (−π/2, π/2]) by which a digit's ink axis leans from vertical, in the
 * convention of the augmentation's and the course's rotation: rotating the image by this angle
 * makes the axis vertical. Ink is each pixel above the image's darkest value, so neither the
 * normalization nor a grey background changes the result. A blank image leans 0.
 *
 * @example
 * ```ts
 * const lean = inkLean(images.subarray(i * 784, (i + 1) * 784));
 * ```
 */
export function inkLean(img: Float32Array): number {
  return leanAbove(img, darkest(img));
}

/** The image's darkest value: its background. */
function darkest(img: Float32Array): number {
  let floor = Number.POSITIVE_INFINITY;
  for (let i = 0; i < img.length; i++) {
    const v = img[i] ?? 0;
    if (v < floor) floor = v;
  }
  return floor;
}

/** {@link inkLean} with ink measured above `floor`. */
function leanAbove(img: Float32Array, floor: number): number {
  let mass = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const w = (img[y * SIDE + x] ?? 0) - floor;
      mass += w;
      sx += w * x;
      sy += w * y;
    }
  }
  if (!(mass > 0)) return 0;
  const cx = sx / mass;
  const cy = sy / mass;
  let m20 = 0;
  let m02 = 0;
  let m11 = 0;
  for (let y = 0; y < SIDE; y++) {
    const dy = y - cy;
    for (let x = 0; x < SIDE; x++) {
      const w = (img[y * SIDE + x] ?? 0) - floor;
      const dx = x - cx;
      m20 += w * dx * dx;
      m02 += w * dy * dy;
      m11 += w * dx * dy;
    }
  }
  // The axis angle against the x axis (rows grow downwards), then its lean from vertical.
  const axis = 0.5 * Math.atan2(2 * m11, m20 - m02);
  return wrapHalfTurn(axis - Math.PI / 2);
}

/**
 * An angle wrapped into (−π/2, π/2]: an axis has no direction, so θ and θ + π are one axis.
 *
 * @example
 * ```ts
 * wrapHalfTurn(2); // 2 − π
 * ```
 */
export function wrapHalfTurn(angle: number): number {
  let a = angle - Math.PI * Math.floor((angle + Math.PI / 2) / Math.PI);
  if (a <= -Math.PI / 2) a += Math.PI;
  return a;
}

/**
 * The rotation that canonicalizes a digit whose ink leans `lean` after it was first rotated by
 * `turn` (radians, the augmentation's draw): the lean a model sees at test time is that of the
 * digit rotated by an unknown angle, wrapped into (−π/2, π/2], so a training digit is turned by
 * exactly what the same digit, rotated by `turn`, would be turned by in total — its own lean, or
 * that plus a half turn where the wrap flips it. Returned as the total angle to apply to the
 * un-rotated digit.
 *
 * @example
 * ```ts
 * const angle = canonicalTurn(inkLean(digit), rng.uniform(-0.96, 0.96));
 * ```
 */
export function canonicalTurn(lean: number, turn = 0): number {
  // rotating by `turn` changes the lean by −turn; the canonical rotation of the result is its lean
  return turn + wrapHalfTurn(lean - turn);
}

/**
 * The {@link inkLean} of each image of a set (N × 784).
 *
 * @example
 * ```ts
 * const leans = inkLeans(train); // train.images, train.count
 * ```
 */
export function inkLeans(set: { images: Float32Array; count: number }): Float64Array {
  const leans = new Float64Array(set.count);
  for (let i = 0; i < set.count; i++) leans[i] = inkLean(set.images.subarray(i * PIXELS, (i + 1) * PIXELS));
  return leans;
}

/**
 * Canonicalizes normalized images in place (N × 784): each is rotated about the centre by its own
 * lean with bilinear sampling, the darkest value filling what comes in from outside.
 *
 * @example
 * ```ts
 * canonicalizeImages(batch, n);
 * ```
 */
export function canonicalizeImages(images: Float32Array, count: number): void {
  const src = new Float32Array(PIXELS);
  for (let i = 0; i < count; i++) {
    const img = images.subarray(i * PIXELS, (i + 1) * PIXELS);
    src.set(img);
    const floor = darkest(src);
    // Turning by the lean θ samples R(θ)·(p − c) + c: the warp's matrix with sin → −sin.
    const lean = leanAbove(src, floor);
    warpBilinear(src, img, Math.cos(lean), -Math.sin(lean), 0, 0, floor);
  }
}
