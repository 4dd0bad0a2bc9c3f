// The Corrupt MNIST recipe: for each digit a seeded mix of moderate affine distortion (rotate,
// shear, scale, shift), light contrast loss, blur and noise, and a rare small occlusion, in
// integer or exact float64 arithmetic. Every digit stays legible, as in the course's data set.

import type { Rng } from '@dataver/foundation';
import { cosPoly, radians, sinPoly } from './fixed-math.js';

export const SIDE = 28;
const N = SIDE * SIDE;

/** The recipe's knobs (documented in docs/corrupt-mnist.md); defaults are the data set's. */
export const RECIPE = {
  rotate: { p: 0.8, maxDegrees: 18 },
  shear: { p: 0.3, max: 0.15 },
  scale: { p: 0.4, min: 0.9, max: 1.1 },
  shift: { p: 0.6, maxPixels: 2 },
  contrast: { p: 0.1, minGain: 0.7, maxGain: 0.95, maxOffset: 30 },
  blur: { p: 0.2, twiceP: 0.2 },
  occlude: { p: 0.05, minSide: 3, maxSide: 5, stripeP: 0.3, stripeWidth: 1 },
  gaussianNoise: { p: 0.3, minSigma: 8, maxSigma: 25 },
  impulseNoise: { p: 0.1, minDensity: 0.01, maxDensity: 0.03 },
} as const;

/** What was applied to one digit (for tests and the docs figure). */
export interface CorruptionLog {
  rotate: number;
  shear: number;
  scale: number;
  shiftX: number;
  shiftY: number;
  contrast: boolean;
  blur: number;
  occlude: '' | 'box' | 'stripe';
  noise: '' | 'gaussian' | 'impulse';
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Inverse-mapped bilinear resampling of `src` under x' = A(x − c) + c + t. */
function affine(
  src: Uint8Array,
  dst: Uint8Array,
  a: number,
  b: number,
  c: number,
  d: number,
  tx: number,
  ty: number,
): void {
  const det = a * d - b * c;
  const ia = d / det;
  const ib = -b / det;
  const ic = -c / det;
  const id = a / det;
  const center = (SIDE - 1) / 2;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const ux = x - center - tx;
      const uy = y - center - ty;
      const sx = ia * ux + ib * uy + center;
      const sy = ic * ux + id * uy + center;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      let v = 0;
      if (x0 >= -1 && x0 < SIDE && y0 >= -1 && y0 < SIDE) {
        const p00 = x0 >= 0 && y0 >= 0 ? src[y0 * SIDE + x0]! : 0;
        const p10 = x0 + 1 < SIDE && y0 >= 0 ? src[y0 * SIDE + x0 + 1]! : 0;
        const p01 = x0 >= 0 && y0 + 1 < SIDE ? src[(y0 + 1) * SIDE + x0]! : 0;
        const p11 = x0 + 1 < SIDE && y0 + 1 < SIDE ? src[(y0 + 1) * SIDE + x0 + 1]! : 0;
        v = (p00 * (1 - fx) + p10 * fx) * (1 - fy) + (p01 * (1 - fx) + p11 * fx) * fy;
      }
      dst[y * SIDE + x] = clampByte(v);
    }
  }
}

/** 3×3 binomial blur ([1 2 1]ᵀ[1 2 1]/16) in integers, zero padding. */
function blur3(img: Uint8Array, tmp: Uint16Array): void {
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const i = y * SIDE + x;
      tmp[i] = (x > 0 ? img[i - 1]! : 0) + 2 * img[i]! + (x < SIDE - 1 ? img[i + 1]! : 0);
    }
  }
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const i = y * SIDE + x;
      const s = (y > 0 ? tmp[i - SIDE]! : 0) + 2 * tmp[i]! + (y < SIDE - 1 ? tmp[i + SIDE]! : 0);
      img[i] = (s + 8) >> 4;
    }
  }
}

/**
 * Corrupts one 28×28 uint8 digit into `out`, drawing every choice from `rng`.
 *
 * @example
 * const out = new Uint8Array(784);
 * corruptDigit(mnistImage, out, new Rng(deriveSeed(0, 1, 7)));
 */
export function corruptDigit(src: Uint8Array, out: Uint8Array, rng: Rng): CorruptionLog {
  const r = RECIPE;
  const log: CorruptionLog = {
    rotate: 0,
    shear: 0,
    scale: 1,
    shiftX: 0,
    shiftY: 0,
    contrast: false,
    blur: 0,
    occlude: '',
    noise: '',
  };
  // Every draw happens whether or not its step applies, so one step's choice never shifts another's numbers.
  const rotOn = rng.chance(r.rotate.p);
  const rot = rng.uniform(-r.rotate.maxDegrees, r.rotate.maxDegrees);
  const shearOn = rng.chance(r.shear.p);
  const shear = rng.uniform(-r.shear.max, r.shear.max);
  const scaleOn = rng.chance(r.scale.p);
  const scale = rng.uniform(r.scale.min, r.scale.max);
  const shiftOn = rng.chance(r.shift.p);
  const sx = rng.uniform(-r.shift.maxPixels, r.shift.maxPixels);
  const sy = rng.uniform(-r.shift.maxPixels, r.shift.maxPixels);
  if (rotOn) log.rotate = rot;
  if (shearOn) log.shear = shear;
  if (scaleOn) log.scale = scale;
  if (shiftOn) {
    log.shiftX = sx;
    log.shiftY = sy;
  }
  const th = radians(log.rotate);
  const cs = cosPoly(th);
  const sn = sinPoly(th);
  // A = R(θ) · [[1, shear], [0, 1]] · s
  const s = log.scale;
  affine(
    src,
    out,
    cs * s,
    (cs * log.shear - sn) * s,
    sn * s,
    (sn * log.shear + cs) * s,
    log.shiftX,
    log.shiftY,
  );

  const contrastOn = rng.chance(r.contrast.p);
  const gain = rng.uniform(r.contrast.minGain, r.contrast.maxGain);
  const offset = rng.uniform(0, r.contrast.maxOffset);
  if (contrastOn) {
    log.contrast = true;
    for (let i = 0; i < N; i++) out[i] = clampByte(out[i]! * gain + offset);
  }

  const blurOn = rng.chance(r.blur.p);
  const twice = rng.chance(r.blur.twiceP);
  if (blurOn) {
    const tmp = new Uint16Array(N);
    blur3(out, tmp);
    log.blur = 1;
    if (twice) {
      blur3(out, tmp);
      log.blur = 2;
    }
  }

  const occOn = rng.chance(r.occlude.p);
  const stripe = rng.chance(r.occlude.stripeP);
  const w = r.occlude.minSide + rng.int(r.occlude.maxSide - r.occlude.minSide + 1);
  const h = r.occlude.minSide + rng.int(r.occlude.maxSide - r.occlude.minSide + 1);
  const ox = 4 + rng.int(SIDE - 8 - w + 1);
  const oy = 4 + rng.int(SIDE - 8 - h + 1);
  const vertical = rng.chance(0.5);
  const line = 4 + rng.int(SIDE - 8);
  if (occOn) {
    if (stripe) {
      // a thin bright scratch across the digit
      log.occlude = 'stripe';
      for (let k = 0; k < SIDE; k++) {
        for (let t = 0; t < r.occlude.stripeWidth; t++)
          out[vertical ? k * SIDE + line + t : (line + t) * SIDE + k] = 255;
      }
    } else {
      log.occlude = 'box';
      for (let y = oy; y < oy + h; y++) out.fill(0, y * SIDE + ox, y * SIDE + ox + w);
    }
  }

  const noiseKind = rng.float();
  const sigma = rng.uniform(r.gaussianNoise.minSigma, r.gaussianNoise.maxSigma);
  const density = rng.uniform(r.impulseNoise.minDensity, r.impulseNoise.maxDensity);
  if (noiseKind < r.gaussianNoise.p) {
    log.noise = 'gaussian';
    for (let i = 0; i < N; i++) out[i] = clampByte(out[i]! + sigma * rng.normal());
  } else if (noiseKind < r.gaussianNoise.p + r.impulseNoise.p) {
    log.noise = 'impulse';
    for (let i = 0; i < N; i++) {
      const u = rng.float();
      if (u < density) out[i] = u < density / 2 ? 0 : 255;
    }
  }
  return log;
}

/** The mixed recipe's corruptions one at a time, for robustness reports (`trainer evaluate --sweep`). */
export const CORRUPTIONS = [
  'noise',
  'impulse',
  'blur',
  'occlusion',
  'contrast',
  'stroke-thin',
  'stroke-bold',
] as const;
export type CorruptionKind = (typeof CORRUPTIONS)[number];

/** 3×3 grey-level erosion (`Math.min`) or dilation (`Math.max`) with a plus-shaped element. */
function morph3(img: Uint8Array, pick: (a: number, b: number) => number): void {
  const src = img.slice();
  const at = (x: number, y: number, fallback: number): number =>
    x < 0 || y < 0 || x >= SIDE || y >= SIDE ? fallback : (src[y * SIDE + x] ?? 0);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const c = at(x, y, 0);
      img[y * SIDE + x] = pick(
        pick(pick(c, at(x - 1, y, c)), pick(at(x + 1, y, c), at(x, y - 1, c))),
        at(x, y + 1, c),
      );
    }
  }
}

/**
 * Applies ONE corruption of the mixed recipe to a 28×28 uint8 digit, at the strength the recipe
 * draws it (noise σ 8–25, impulse density 1–3 %, one or two blurs, a 3–5 px box, contrast gain
 * 0.7–0.95 with an offset up to 30), or a one-pixel thinner or bolder pen (`stroke-thin`,
 * `stroke-bold`), drawing its parameters from `rng`.
 *
 * @example
 * const out = new Uint8Array(784);
 * applyCorruption('blur', digit, out, new Rng(deriveSeed(0, 5, i)));
 */
export function applyCorruption(kind: CorruptionKind, src: Uint8Array, out: Uint8Array, rng: Rng): void {
  const r = RECIPE;
  out.set(src);
  switch (kind) {
    case 'noise': {
      const sigma = rng.uniform(r.gaussianNoise.minSigma, r.gaussianNoise.maxSigma);
      for (let i = 0; i < N; i++) out[i] = clampByte((out[i] ?? 0) + sigma * rng.normal());
      return;
    }
    case 'impulse': {
      const density = rng.uniform(r.impulseNoise.minDensity, r.impulseNoise.maxDensity);
      for (let i = 0; i < N; i++) {
        const u = rng.float();
        if (u < density) out[i] = u < density / 2 ? 0 : 255;
      }
      return;
    }
    case 'blur': {
      const tmp = new Uint16Array(N);
      blur3(out, tmp);
      if (rng.chance(r.blur.twiceP)) blur3(out, tmp);
      return;
    }
    case 'occlusion': {
      const w = r.occlude.minSide + rng.int(r.occlude.maxSide - r.occlude.minSide + 1);
      const h = r.occlude.minSide + rng.int(r.occlude.maxSide - r.occlude.minSide + 1);
      const ox = 4 + rng.int(SIDE - 8 - w + 1);
      const oy = 4 + rng.int(SIDE - 8 - h + 1);
      for (let y = oy; y < oy + h; y++) out.fill(0, y * SIDE + ox, y * SIDE + ox + w);
      return;
    }
    case 'contrast': {
      const gain = rng.uniform(r.contrast.minGain, r.contrast.maxGain);
      const offset = rng.uniform(0, r.contrast.maxOffset);
      for (let i = 0; i < N; i++) out[i] = clampByte((out[i] ?? 0) * gain + offset);
      return;
    }
    case 'stroke-thin':
      morph3(out, Math.min);
      return;
    case 'stroke-bold':
      morph3(out, Math.max);
      return;
  }
}
