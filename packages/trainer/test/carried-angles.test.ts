// Data that records the rotation its images carry (corrupt-mnist process writes it into stats.json
// from the generator's manifest): the trainer reads it with the images, keeps it through subsets,
// and its augmentation draws each image's total rotation instead of adding to the carried one.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '@dataver/foundation';
import { writeTensor } from '@dataver/tensor';
import { rotateNearest } from 'corrupt-mnist';
import { PLAN_STRIDE, planAugmentation } from '../src/data/augment';
import { loadProcessed, subset } from '../src/data/dataset';
import { warpBilinear } from '../src/data/warp';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-angles-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function processedFolder(name: string, rotations: unknown): Promise<string> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const split of ['train', 'test']) {
    await writeTensor(path.join(dir, `${split}_images.pt`), {
      dtype: 'float32',
      shape: [6, 1, 28, 28],
      data: new Float32Array(6 * 784),
    });
    await writeTensor(path.join(dir, `${split}_target.pt`), {
      dtype: 'int64',
      shape: [6],
      data: BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 5n]),
    });
  }
  const stats = { normalization: { mean: 0.13, std: 0.31 }, ...(rotations ? { rotations } : {}) };
  fs.writeFileSync(path.join(dir, 'stats.json'), JSON.stringify(stats));
  return dir;
}

test('the carried angles load with the images and follow them into a subset', async () => {
  const dir = await processedFolder('with', {
    train: [
      { start: 0, count: 4, angle: -30 },
      { start: 4, count: 2, angle: 45 },
    ],
    test: [],
  });
  const { train, test } = await loadProcessed(dir);
  expect(Array.from(train.angles ?? [])).toEqual([-30, -30, -30, -30, 45, 45]);
  expect(Array.from(test.angles ?? [])).toEqual([0, 0, 0, 0, 0, 0]);
  expect(Array.from(subset(train, [5, 0]).angles ?? [])).toEqual([45, -30]);
  const without = await loadProcessed(await processedFolder('without', undefined));
  expect(without.train.angles).toBeUndefined();
});

test('rotations naming rows that are not there are refused', async () => {
  const dir = await processedFolder('bad', { train: [{ start: 4, count: 5, angle: 10 }] });
  await expect(loadProcessed(dir)).rejects.toThrow(/rotations\.train names rows that are not in the data/);
});

test('augmentation draws the total rotation: the warp undoes the carried angle, then turns by the draw', () => {
  const options = { probability: 1, rotation: 50, shift: 0, scale: 0 };
  const n = 2000;
  const carried = new Float64Array(n).fill(40);
  const plan = planAugmentation(n, options, new Rng(1), undefined, undefined, carried);
  const plain = planAugmentation(n, options, new Rng(1));
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    // A plan's angle θ turns the image by −θ in the course's convention (checked below).
    const at = i * PLAN_STRIDE;
    const theta = (Math.atan2(plan[at + 2]!, plan[at + 1]!) * 180) / Math.PI;
    const drawn = (Math.atan2(plain[at + 2]!, plain[at + 1]!) * 180) / Math.PI;
    expect(theta).toBeCloseTo(drawn + 40, 6);
    const total = 40 - theta;
    lo = Math.min(lo, total);
    hi = Math.max(hi, total);
  }
  // the total spans the whole ± 50° and no more
  expect(lo).toBeGreaterThanOrEqual(-50);
  expect(hi).toBeLessThanOrEqual(50);
  expect(lo).toBeLessThan(-48);
  expect(hi).toBeGreaterThan(48);
});

test('nearUpright draws that share of the total rotations in ± nearRotation, and costs no draw when off', () => {
  const n = 4000;
  const carried = new Float64Array(n).fill(-20);
  const totals = (options: Parameters<typeof planAugmentation>[1]) => {
    const plan = planAugmentation(n, options, new Rng(3), undefined, undefined, carried);
    return Array.from({ length: n }, (_, i) => {
      const at = i * PLAN_STRIDE;
      return -20 - (Math.atan2(plan[at + 2]!, plan[at + 1]!) * 180) / Math.PI;
    });
  };
  const base = { probability: 1, rotation: 50, shift: 0, scale: 0 };
  const near = totals({ ...base, nearUpright: 0.4, nearRotation: 10 });
  expect(Math.max(...near.map(Math.abs))).toBeLessThanOrEqual(50 + 1e-9);
  // Uniform in ± 50 puts 20 % within ± 10; with 40 % drawn there: 0.4 + 0.6 × 0.2 = 52 %.
  const share = near.filter((t) => Math.abs(t) <= 10 + 1e-9).length / n;
  expect(share).toBeGreaterThan(0.49);
  expect(share).toBeLessThan(0.55);
  // Off (0, or absent) draws exactly the plan of a configuration without the key.
  expect(totals({ ...base, nearUpright: 0, nearRotation: 10 })).toEqual(totals(base));
});

test("a plan angle of θ turns an image by −θ in the course's convention, which the carried angle assumes", () => {
  // An L: a vertical bar and a foot to the right.
  const img = new Uint8Array(784);
  for (let y = 4; y <= 20; y++) img[y * 28 + 14] = 255;
  for (let x = 14; x <= 22; x++) img[20 * 28 + x] = 255;
  const course = new Uint8Array(784);
  rotateNearest(img, course, 30);
  const unit = Float32Array.from(img, (v) => v / 255);
  const diff = (theta: number) => {
    const out = new Float32Array(784);
    const t = (theta * Math.PI) / 180;
    warpBilinear(unit, out, Math.cos(t), Math.sin(t), 0, 0, 0);
    return out.reduce((sum, v, i) => sum + Math.abs(v - (course[i] ?? 0) / 255), 0);
  };
  expect(diff(-30)).toBeLessThan(0.4 * diff(30));
});
