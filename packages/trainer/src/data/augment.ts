// Random affine augmentation (rotation, shift, scale) of normalized 28×28 digits, applied per image with
// a probability, and optionally a stroke-width change (grey-level erosion or dilation with a 3×3 cross),
// so that the model also meets thinner and bolder pens than the training data has. Bilinear sampling;
// outside pixels take the background (the normalized value of 0).
import type { Rng } from '@dataver/foundation';
import { PIXELS, SIDE } from './dataset.js';

/** Augmentation settings (angles in degrees, shift in pixels, scale as a ± fraction). */
export interface AugmentOptions {
  probability: number;
  rotation: number;
  shift: number;
  scale: number;
  /** Probability of a stroke-width change (half erosion, half dilation); 0 turns it off. */
  strokeWidth?: number;
}

/**
 * Writes a randomly transformed copy of `src` (one image) to `dst`; with probability 1 − p, a copy.
 *
 * @example
 * ```ts
 * augmentImage(src, dst, { probability: 0.8, rotation: 15, shift: 2, scale: 0.1 }, rng, background);
 * ```
 */
export function augmentImage(
  src: Float32Array,
  dst: Float32Array,
  options: AugmentOptions,
  rng: Rng,
  background: number,
): void {
  if (options.probability <= 0 || rng.float() >= options.probability) dst.set(src);
  else affine(src, dst, options, rng, background);
  // Drawn only when enabled, so configurations without it keep their exact random stream.
  if (options.strokeWidth && rng.float() < options.strokeWidth)
    morph(dst, rng.float() < 0.5 ? Math.min : Math.max);
}

const morphScratch = new Float32Array(PIXELS);

/** Grey-level erosion (min) or dilation (max) over a 3×3 cross; the border replicates itself. */
function morph(img: Float32Array, pick: (...values: number[]) => number): void {
  morphScratch.set(img);
  const at = (x: number, y: number) =>
    morphScratch[Math.min(SIDE - 1, Math.max(0, y)) * SIDE + Math.min(SIDE - 1, Math.max(0, x))]!;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      img[y * SIDE + x] = pick(at(x, y), at(x - 1, y), at(x + 1, y), at(x, y - 1), at(x, y + 1));
    }
  }
}

function affine(
  src: Float32Array,
  dst: Float32Array,
  options: AugmentOptions,
  rng: Rng,
  background: number,
): void {
  const angle = (rng.uniform(-options.rotation, options.rotation) * Math.PI) / 180;
  const s = 1 + rng.uniform(-options.scale, options.scale);
  const tx = rng.uniform(-options.shift, options.shift);
  const ty = rng.uniform(-options.shift, options.shift);
  // Inverse map: for each output pixel, where it comes from in the source.
  const cos = Math.cos(angle) / s;
  const sin = Math.sin(angle) / s;
  const c = (SIDE - 1) / 2;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const dx = x - c - tx;
      const dy = y - c - ty;
      const sx = cos * dx + sin * dy + c;
      const sy = -sin * dx + cos * dy + c;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const at = (xx: number, yy: number) =>
        xx < 0 || yy < 0 || xx >= SIDE || yy >= SIDE ? background : src[yy * SIDE + xx]!;
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      dst[y * SIDE + x] = top * (1 - fy) + bottom * fy;
    }
  }
}

/** Augments `count` consecutive images of a batch buffer in place (through a scratch image).
 *
 * @example
 * ```ts
 * augmentBatch(batch, 64, config.augmentation, rng, -mean / std);
 * ```
 */
export function augmentBatch(
  batch: Float32Array,
  count: number,
  options: AugmentOptions,
  rng: Rng,
  background: number,
): void {
  const scratch = new Float32Array(PIXELS);
  for (let i = 0; i < count; i++) {
    const img = batch.subarray(i * PIXELS, (i + 1) * PIXELS);
    augmentImage(img, scratch, options, rng, background);
    img.set(scratch);
  }
}
