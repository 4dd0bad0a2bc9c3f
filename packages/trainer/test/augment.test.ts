// Training-time augmentation: the stroke-width change thins or thickens strokes,
// and leaves the random stream of configurations without it untouched.
import { Rng } from '@dataver/foundation';
import { augmentImage } from '../src/data/augment';

const SIDE = 28;
const BACKGROUND = -0.4;

/** A plus-shaped digit-like stroke, 3 pixels wide, on the normalized background. */
function strokeImage(): Float32Array {
  const img = new Float32Array(SIDE * SIDE).fill(BACKGROUND);
  for (let y = 6; y < 22; y++) for (let x = 12; x < 15; x++) img[y * SIDE + x] = 2.5;
  for (let x = 6; x < 22; x++) for (let y = 12; y < 15; y++) img[y * SIDE + x] = 2.5;
  return img;
}

const ink = (img: Float32Array) => img.filter((v) => v > 0).length;
const base = { probability: 0, rotation: 0, shift: 0, scale: 0 };

it('strokeWidth 1 always thins or thickens the strokes', () => {
  const src = strokeImage();
  const seen = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const dst = new Float32Array(src.length);
    augmentImage(src, dst, { ...base, strokeWidth: 1 }, new Rng(seed), BACKGROUND);
    const change = Math.sign(ink(dst) - ink(src));
    expect(change).not.toBe(0);
    seen.add(change > 0 ? 'bolder' : 'thinner');
  }
  expect([...seen].sort()).toEqual(['bolder', 'thinner']);
});

it('strokeWidth 0 draws nothing from the random stream', () => {
  const src = strokeImage();
  const a = new Rng(7);
  const b = new Rng(7);
  const dst = new Float32Array(src.length);
  augmentImage(src, dst, { ...base, probability: 0.5, rotation: 10 }, a, BACKGROUND);
  augmentImage(src, dst, { ...base, probability: 0.5, rotation: 10, strokeWidth: 0 }, b, BACKGROUND);
  expect(a.float()).toBe(b.float());
});

describe('corruption: the mixed recipe pixel stage', () => {
  // Raw 0 is the background and raw 255 full ink, as after normalization with mean 0.1307, std 0.3081.
  const white = BACKGROUND + 1 / 0.3081;
  const corruptOnly = { ...base, corruption: 1 };

  it('changes images with the recipe share, stays within [background, white], repeats per seed', () => {
    const src = strokeImage().map((v) => (v > 0 ? white : v));
    const rng = new Rng(3);
    let changed = 0;
    const runs = 400;
    for (let i = 0; i < runs; i++) {
      const dst = new Float32Array(src.length);
      const state = rng.state();
      augmentImage(src, dst, corruptOnly, rng, BACKGROUND, white);
      const again = new Float32Array(src.length);
      augmentImage(src, again, corruptOnly, Rng.fromState(state), BACKGROUND, white);
      expect(again).toEqual(dst);
      expect(Math.min(...dst)).toBeGreaterThanOrEqual(BACKGROUND - 1e-6);
      expect(Math.max(...dst)).toBeLessThanOrEqual(white + 1e-6);
      if (dst.some((v, j) => Math.abs(v - (src[j] ?? 0)) > 1e-4)) changed++;
    }
    // contrast 0.1, blur 0.2, occlusion 0.05, noise 0.4: none of them in 0.9 × 0.8 × 0.95 × 0.6 = 41 %
    // (an occlusion or noise can also miss the ink and the background alike, rarely).
    expect(changed / runs).toBeGreaterThan(0.5);
    expect(changed / runs).toBeLessThan(0.68);
  });

  it('corruption 0 draws nothing from the random stream', () => {
    const src = strokeImage();
    const a = new Rng(7);
    const b = new Rng(7);
    const dst = new Float32Array(src.length);
    augmentImage(src, dst, { ...base, probability: 0.5, rotation: 10 }, a, BACKGROUND, white);
    augmentImage(src, dst, { ...base, probability: 0.5, rotation: 10, corruption: 0 }, b, BACKGROUND, white);
    expect(a.float()).toBe(b.float());
  });
});
