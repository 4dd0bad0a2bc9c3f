// The recipe's building blocks: the polynomial sin/cos are accurate on the range used, and one
// digit's corruption depends only on its own stream. (The PRNG, whose numbers are part of the
// data set, is pinned in @dataver/foundation's tests.)
import { deriveSeed, Rng } from '@dataver/foundation';
import { corruptDigit } from '../src/index';
import { cosPoly, radians, sinPoly } from '../src/recipe/fixed-math';

test('polynomial sin/cos match Math.sin/cos to 1e-14 on ±60°', () => {
  for (let d = -60; d <= 60; d += 0.25) {
    expect(Math.abs(sinPoly(radians(d)) - Math.sin(radians(d)))).toBeLessThan(1e-14);
    expect(Math.abs(cosPoly(radians(d)) - Math.cos(radians(d)))).toBeLessThan(1e-14);
  }
});

test('a digit depends only on its source and its own stream', () => {
  const src = Uint8Array.from({ length: 784 }, (_, i) =>
    ((i % 28) - 14) ** 2 + (Math.floor(i / 28) - 14) ** 2 < 60 ? 255 : 0,
  );
  const a = new Uint8Array(784);
  const b = new Uint8Array(784);
  const logA = corruptDigit(src, a, new Rng(deriveSeed(5, 1, 42)));
  corruptDigit(src, new Uint8Array(784), new Rng(deriveSeed(5, 1, 41)));
  const logB = corruptDigit(src, b, new Rng(deriveSeed(5, 1, 42)));
  expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  expect(logA).toEqual(logB);
});

test('the mix of corruptions matches the documented probabilities', () => {
  const src = new Uint8Array(784).fill(128);
  const counts = { rotate: 0, blur: 0, occlude: 0, gaussian: 0, impulse: 0, contrast: 0 };
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const log = corruptDigit(src, new Uint8Array(784), new Rng(deriveSeed(9, 1, i)));
    if (log.rotate !== 0) counts.rotate++;
    if (log.blur) counts.blur++;
    if (log.occlude) counts.occlude++;
    if (log.noise === 'gaussian') counts.gaussian++;
    if (log.noise === 'impulse') counts.impulse++;
    if (log.contrast) counts.contrast++;
  }
  const near = (count: number, p: number): void => expect(Math.abs(count / n - p)).toBeLessThan(0.04);
  near(counts.rotate, 0.8);
  near(counts.blur, 0.2);
  near(counts.occlude, 0.05);
  near(counts.gaussian, 0.3);
  near(counts.impulse, 0.1);
  near(counts.contrast, 0.1);
});
