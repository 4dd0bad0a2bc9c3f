// Random affine augmentation (rotation, shift, scale) of normalized 28×28 digits, applied per image with
// a probability, and optionally a stroke-width change (grey-level erosion or dilation with a 3×3 cross),
// so that the model also meets thinner and bolder pens than the training data has, and the `mixed`
// recipe's pixel corruptions (contrast, blur, occlusion, Gaussian or impulse noise, each with the
// recipe's own probability and strength, by corrupt-mnist's own code). Bilinear sampling; outside pixels
// take the background (the normalized value of 0).
// Two steps: a *plan* draws every random number of a batch (on the thread that owns the generator, in
// one fixed order), then the plan is applied — here in JS (the reference), or by a backend's SIMD warp
// on whichever thread holds the images.
import { Rng } from '@dataver/foundation';
import { applyCorruption, type CorruptionKind, RECIPE } from 'corrupt-mnist';
import { canonicalTurn } from './canonical.js';
import { PIXELS, SIDE } from './dataset.js';
import { warpBilinear } from './warp.js';

/** Augmentation settings (angles in degrees, shift in pixels, scale as a ± fraction). */
export interface AugmentOptions {
  probability: number;
  rotation: number;
  shift: number;
  scale: number;
  /**
   * Share of transformed images whose rotation is drawn in ± `nearRotation` degrees instead of
   * ± `rotation`: more upright digits, as clean data and the `mixed` recipe's ±18° hold them [0].
   */
  nearUpright?: number;
  /** The range of the {@link AugmentOptions.nearUpright} draws, degrees [18]. */
  nearRotation?: number;
  /** Probability of a stroke-width change (half erosion, half dilation); 0 turns it off. */
  strokeWidth?: number;
  /**
   * With canonicalization: ± degrees added to each transformed image's upright turn, for the error of
   * the ink-axis estimate on resampled digits.
   */
  jitter?: number;
  /**
   * Probability that an image goes through the `mixed` recipe's pixel stage after the warp: contrast,
   * blur, occlusion and noise, each with the recipe's probability; 0 turns it off.
   */
  corruption?: number;
}

/** The normalized values of a blank pixel (raw 0) and of full ink (raw 255). */
export interface PixelLevels {
  background: number;
  white: number;
}

/**
 * Numbers per image in a plan: [warp (0 or 1), cos/s, sin/s, tx, ty, stroke (0 none, 1 thinner, 2 bolder),
 * corruption (0 none, else 1 + the seed of its draws), the normalized value of full ink] — the inverse
 * map of the affine warp, with the rotation's cos and sin divided by the scale, then the pixel steps.
 */
export const PLAN_STRIDE = 8;

/**
 * Draws the random transforms of `count` images, in the order and number of draws that augmenting them
 * one after the other takes. With `leans` (each image's {@link inkLean}, for a model that
 * canonicalizes its inputs), every image is also turned upright, exactly as inference would turn the
 * same digit after a rotation of up to ± `rotation` degrees: the augmentation's rotation stands for the
 * data's, and the warp applies both in one resampling. With `angles` (the rotation each image already
 * carries, in degrees, where the data records it), a transformed image's total rotation is drawn in
 * ± `rotation` instead of adding to what it carries.
 *
 * @example
 * ```ts
 * const plan = planAugmentation(64, config.augmentation, rng);
 * ```
 */
export function planAugmentation(
  count: number,
  options: AugmentOptions,
  rng: Rng,
  leans?: ArrayLike<number>,
  levels: PixelLevels = { background: 0, white: 1 },
  angles?: ArrayLike<number>,
): Float64Array {
  const plan = new Float64Array(count * PLAN_STRIDE);
  for (let i = 0; i < count; i++)
    drawTransform(plan, i * PLAN_STRIDE, options, rng, leans?.[i], levels, angles?.[i] ?? 0);
  return plan;
}

const RADIANS = Math.PI / 180;

function drawTransform(
  plan: Float64Array,
  at: number,
  options: AugmentOptions,
  rng: Rng,
  lean: number | undefined,
  levels: PixelLevels,
  carried: number,
): void {
  const random = options.probability > 0 && rng.float() < options.probability;
  if (random || lean !== undefined) {
    // The warp with angle θ turns the image by −θ (the course's convention), so an image that already
    // carries a rotation c gets θ = draw + c: its total rotation, c − θ = −draw, lies in ± rotation.
    let angle = 0;
    if (random) {
      const range = rotationRange(options, rng);
      angle = (rng.uniform(-range, range) + carried) * RADIANS;
    }
    let s = 1;
    if (random) s = 1 + rng.uniform(-options.scale, options.scale);
    if (lean !== undefined) {
      // The warp below maps with R(−angle) where canonicalization turns by R(turn): hence the signs.
      const jitter = random && options.jitter ? rng.uniform(-options.jitter, options.jitter) * RADIANS : 0;
      angle = -(canonicalTurn(lean, -angle) + jitter);
    }
    plan[at] = 1;
    plan[at + 1] = Math.cos(angle) / s;
    plan[at + 2] = Math.sin(angle) / s;
    if (random) {
      plan[at + 3] = rng.uniform(-options.shift, options.shift);
      plan[at + 4] = rng.uniform(-options.shift, options.shift);
    }
  }
  // Drawn only when enabled, so configurations without it keep their exact random stream.
  if (options.strokeWidth && rng.float() < options.strokeWidth) plan[at + 5] = rng.float() < 0.5 ? 1 : 2;
  if (options.corruption && rng.float() < options.corruption) {
    plan[at + 6] = 1 + rng.uint32();
    plan[at + 7] = levels.white;
  }
}

/** The ± degrees of one image's rotation draw; the `nearUpright` coin is drawn only where it is on. */
function rotationRange(options: AugmentOptions, rng: Rng): number {
  if (options.nearUpright && rng.float() < options.nearUpright)
    return Math.min(options.nearRotation ?? 18, options.rotation);
  return options.rotation;
}

/**
 * Whether a plan has pixel steps (a stroke change, a corruption), which the SIMD warp does not do.
 *
 * @example
 * ```ts
 * if (!planHasPixelSteps(plan, n)) simdWarp(x, plan); else applyPlan(images, n, plan, background);
 * ```
 */
export function planHasPixelSteps(plan: Float64Array, count: number): boolean {
  for (let i = 0; i < count; i++) {
    const at = i * PLAN_STRIDE;
    if (plan[at + 5] !== 0 || plan[at + 6] !== 0) return true;
  }
  return false;
}

/**
 * Applies a plan to `count` consecutive images of a batch buffer in place (the JS reference): the
 * warps, then {@link applyPixelSteps}.
 *
 * @example
 * ```ts
 * applyPlan(images, 64, planAugmentation(64, options, rng), background);
 * ```
 */
export function applyPlan(batch: Float32Array, count: number, plan: Float64Array, background: number): void {
  const scratch = new Float32Array(PIXELS);
  for (let i = 0; i < count; i++) {
    const at = i * PLAN_STRIDE;
    if (plan[at] !== 1) continue;
    const img = batch.subarray(i * PIXELS, (i + 1) * PIXELS);
    warpBilinear(img, scratch, plan[at + 1]!, plan[at + 2]!, plan[at + 3]!, plan[at + 4]!, background);
    img.set(scratch);
  }
  applyPixelSteps(batch, count, plan, background);
}

/**
 * The pixel steps of a plan (stroke-width changes, corruptions) on `count` consecutive images that
 * are already warped, in place: what follows the SIMD warp, on the images that have any.
 *
 * @example
 * ```ts
 * if (planHasPixelSteps(plan, n)) applyPixelSteps(warpedPixels, n, plan, background);
 * ```
 */
export function applyPixelSteps(
  batch: Float32Array,
  count: number,
  plan: Float64Array,
  background: number,
): void {
  for (let i = 0; i < count; i++) {
    const at = i * PLAN_STRIDE;
    const stroke = plan[at + 5];
    const corruption = plan[at + 6] ?? 0;
    if (stroke === 0 && corruption === 0) continue;
    const img = batch.subarray(i * PIXELS, (i + 1) * PIXELS);
    if (stroke === 1 || stroke === 2) morph(img, stroke === 2);
    if (corruption !== 0) corrupt(img, corruption - 1, { background, white: plan[at + 7] ?? 1 });
  }
}

/** The recipe's pixel steps before its noise, in its order, each with the probability it has there. */
const PIXEL_STEPS: ReadonlyArray<[CorruptionKind, number]> = [
  ['contrast', RECIPE.contrast.p],
  ['blur', RECIPE.blur.p],
  ['occlusion', RECIPE.occlude.p],
];

const corruptBytes = new Uint8Array(PIXELS);
const corruptOut = new Uint8Array(PIXELS);

/**
 * The `mixed` recipe's pixel stage on one normalized image, drawn from `seed`: the image is taken to raw
 * bytes (0 at the background, 255 at full ink), corrupted by corrupt-mnist's own {@link applyCorruption},
 * and normalized back. Noise is Gaussian or impulse or none, with the recipe's shares.
 */
function corrupt(img: Float32Array, seed: number, levels: PixelLevels): void {
  const rng = new Rng(seed);
  const unit = (levels.white - levels.background) / 255;
  for (let i = 0; i < PIXELS; i++) {
    const raw = Math.round(((img[i] ?? 0) - levels.background) / unit);
    corruptBytes[i] = Math.min(255, Math.max(0, raw));
  }
  const noise = rng.float();
  const steps = PIXEL_STEPS.filter(([, p]) => rng.chance(p)).map(([kind]) => kind);
  if (noise < RECIPE.gaussianNoise.p) steps.push('noise');
  else if (noise < RECIPE.gaussianNoise.p + RECIPE.impulseNoise.p) steps.push('impulse');
  for (const kind of steps) {
    applyCorruption(kind, corruptBytes, corruptOut, rng);
    corruptBytes.set(corruptOut);
  }
  for (let i = 0; i < PIXELS; i++) img[i] = levels.background + (corruptBytes[i] ?? 0) * unit;
}

/**
 * Writes a randomly transformed copy of `src` (one image) to `dst`; with probability 1 − p, a copy.
 * `white` is the normalized value of full ink (for the pixel corruptions) [background + 1]; `carried`
 * the rotation the image already has (degrees), where the data records it [0].
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
  white = background + 1,
  carried = 0,
): void {
  dst.set(src);
  const plan = planAugmentation(1, options, rng, undefined, { background, white }, [carried]);
  applyPlan(dst, 1, plan, background);
}

/** Augments `count` consecutive images of a batch buffer in place.
 *
 * @example
 * ```ts
 * augmentBatch(batch, 64, config.augmentation, rng, -mean / std, (1 - mean) / std);
 * ```
 */
export function augmentBatch(
  batch: Float32Array,
  count: number,
  options: AugmentOptions,
  rng: Rng,
  background: number,
  white = background + 1,
): void {
  applyPlan(
    batch,
    count,
    planAugmentation(count, options, rng, undefined, { background, white }),
    background,
  );
}

const morphScratch = new Float32Array(PIXELS);

/** Grey-level erosion (min) or, `bolder`, dilation (max) over a 3×3 cross; the border replicates itself. */
function morph(img: Float32Array, bolder: boolean): void {
  const s = morphScratch;
  s.set(img);
  for (let y = 0; y < SIDE; y++) {
    const row = y * SIDE;
    const up = y === 0 ? row : row - SIDE;
    const down = y === SIDE - 1 ? row : row + SIDE;
    for (let x = 0; x < SIDE; x++) {
      const left = row + (x === 0 ? x : x - 1);
      const right = row + (x === SIDE - 1 ? x : x + 1);
      // Two loops rather than a chosen function: V8 inlines Math.min and Math.max only when called by name.
      img[row + x] = bolder
        ? Math.max(s[row + x]!, s[left]!, s[right]!, s[up + x]!, s[down + x]!)
        : Math.min(s[row + x]!, s[left]!, s[right]!, s[up + x]!, s[down + x]!);
    }
  }
}
