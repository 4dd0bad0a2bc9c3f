// Rotation canonicalization on real MNIST digits: a digit rotated the course's way comes out upright
// as nearly the same image as the digit itself, and the augmentation's one warp turns a training digit
// exactly as inference turns it.
import { Rng } from '@dataver/foundation';
import { rotateNearest } from 'corrupt-mnist';
import { applyPlan, planAugmentation } from '../src/data/augment';
import { canonicalizeImages, canonicalTurn, inkLean, inkLeans, wrapHalfTurn } from '../src/data/canonical';
import { loadMnist, MNIST_MEAN, MNIST_STD } from './helpers/mnist';

const PIXELS = 784;
const BACKGROUND = -MNIST_MEAN / MNIST_STD;
const options = { probability: 0, rotation: 50, shift: 0, scale: 0, jitter: 0 };

function normalize(bytes: Uint8Array): Float32Array {
  return Float32Array.from(bytes, (v) => (v / 255 - MNIST_MEAN) / MNIST_STD);
}

function meanAbs(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

test('wrapHalfTurn and canonicalTurn: an axis has no direction', () => {
  expect(wrapHalfTurn(0.3)).toBeCloseTo(0.3, 12);
  expect(wrapHalfTurn(0.3 + Math.PI)).toBeCloseTo(0.3, 12);
  expect(wrapHalfTurn(-Math.PI / 2)).toBeCloseTo(Math.PI / 2, 12);
  expect(canonicalTurn(0.2, 0)).toBeCloseTo(0.2, 12);
  // a lean of 80° turned by −30° more wraps: the total gains a half turn
  expect(canonicalTurn((80 * Math.PI) / 180, (-30 * Math.PI) / 180)).toBeCloseTo(
    ((80 - 180) * Math.PI) / 180,
    12,
  );
});

test('a digit rotated by the course rotation canonicalizes to nearly the digit canonicalized', () => {
  const { raw, count } = loadMnist('test', 200);
  let rotatedErr = 0;
  let canonicalErr = 0;
  for (let i = 0; i < count; i++) {
    const digit = raw.subarray(i * PIXELS, (i + 1) * PIXELS);
    const turned = new Uint8Array(PIXELS);
    rotateNearest(digit, turned, 40);
    const a = normalize(digit);
    const b = normalize(turned);
    rotatedErr += meanAbs(a, b);
    canonicalizeImages(a, 1);
    canonicalizeImages(b, 1);
    canonicalErr += meanAbs(a, b);
  }
  // Upright copies differ by resampling and the axis estimate's error, far less than the rotation does.
  expect(canonicalErr / count).toBeLessThan(0.45 * (rotatedErr / count));
});

test('the lean follows the rotation: a 40° turn moves it by 40° for a clearly elongated digit', () => {
  const { raw } = loadMnist('test', 10);
  const one = raw.subarray(2 * PIXELS, 3 * PIXELS); // a 1
  const turned = new Uint8Array(PIXELS);
  rotateNearest(one, turned, 40);
  const delta = wrapHalfTurn(inkLean(normalize(turned)) - inkLean(normalize(one)));
  expect(Math.abs(Math.abs(delta) - (40 * Math.PI) / 180)).toBeLessThan((4 * Math.PI) / 180);
});

test('a plan with leans and no random transform turns each image exactly as inference does', () => {
  const set = loadMnist('train', 64);
  const leans = inkLeans(set);
  const planned = set.images.slice();
  applyPlan(planned, set.count, planAugmentation(set.count, options, new Rng(1), leans), BACKGROUND);
  const inferred = set.images.slice();
  canonicalizeImages(inferred, set.count);
  expect(meanAbs(planned, inferred)).toBeLessThan(1e-5);
});

test('with random turns the plan still yields upright digits (or their half turns), never a tilted one', () => {
  const set = loadMnist('train', 64);
  const leans = inkLeans(set);
  const images = set.images.slice();
  const random = { ...options, probability: 1 };
  applyPlan(images, set.count, planAugmentation(set.count, random, new Rng(2), leans), BACKGROUND);
  for (let i = 0; i < set.count; i++) {
    const lean = inkLean(images.subarray(i * PIXELS, (i + 1) * PIXELS));
    expect(Math.abs(lean)).toBeLessThan((6 * Math.PI) / 180);
  }
});
