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
