// `process`: raw shards → one normalized train set and test set (float32 [N,1,28,28], int64 [N]),
// with the train mean/std in stats.json. Summation order is fixed, so results are bit-reproducible.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { TensorError } from './errors.js';
import { writeAllOrNothing } from './fs-util.js';
import { readTensor, writeFileAtomic, writeTensor } from './tensor/io.js';
import type { Tensor, TensorFormat } from './tensor/types.js';

export interface ProcessOptions {
  /** Raw folder with `train_images_{i}.pt`, `train_target_{i}.pt`, `test_images.pt`, `test_target.pt`. */
  in: string;
  /** Output folder (the course's `data/processed`). */
  out: string;
  /** Output format; default `pt`. */
  format?: TensorFormat;
}

export interface SplitStats {
  count: number;
  mean: number;
  std: number;
}

/** Contents of `stats.json`. */
export interface ProcessStats {
  /** Mean and (population) std of the train pixels after scaling to [0,1]: the normalization constants. */
  normalization: { mean: number; std: number };
  /** How raw values were scaled to [0,1]: 1/255 for uint8 or 0–255 floats, 1 for floats already in [0,1]. */
  scale: number;
  /** Statistics of the written tensors (train: mean 0, std 1). */
  train: SplitStats;
  test: SplitStats;
  format: TensorFormat;
  files: string[];
}

const SIDE = 28;

interface Split {
  images: Tensor;
  targets: BigInt64Array;
}

function checkImages(t: Tensor, file: string): number {
  const s = t.shape;
  const ok =
    (s.length === 3 && s[1] === SIDE && s[2] === SIDE) ||
    (s.length === 4 && s[1] === 1 && s[2] === SIDE && s[3] === SIDE);
  if (!ok)
    throw new TensorError('SHAPE_MISMATCH', `images must be [N,28,28] or [N,1,28,28], got [${s.join(',')}]`, {
      file,
    });
  if (t.dtype !== 'uint8' && t.dtype !== 'float32' && t.dtype !== 'float64') {
    throw new TensorError('UNSUPPORTED_DTYPE', `images must be uint8, float32 or float64, got ${t.dtype}`, {
      file,
    });
  }
  return s[0]!;
}

function checkTargets(t: Tensor, n: number, file: string): BigInt64Array {
  if (t.shape.length !== 1)
    throw new TensorError('SHAPE_MISMATCH', `targets must be [N], got [${t.shape.join(',')}]`, { file });
  if (t.shape[0] !== n)
    throw new TensorError('SHAPE_MISMATCH', `${t.shape[0]} targets for ${n} images`, { file });
  if (t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16' || t.dtype === 'bool') {
    throw new TensorError('UNSUPPORTED_DTYPE', `targets must be integers, got ${t.dtype}`, { file });
  }
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(t.data[i]);
    if (!(v >= 0 && v <= 9))
      throw new TensorError('CORRUPT', `target ${i} is ${v}, not a digit 0–9`, { file });
    out[i] = BigInt(v);
  }
  return out;
}

async function readPair(imagesFile: string, targetsFile: string): Promise<Split> {
  const images = await readTensor(imagesFile);
  const n = checkImages(images, imagesFile);
  const targets = checkTargets(await readTensor(targetsFile), n, targetsFile);
  return { images, targets };
}

/** Lists the train shards 0..k-1; a gap, or images without targets, is an error. */
export async function findShards(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (cause) {
    throw new TensorError('NOT_FOUND', 'raw data folder does not exist', {
      file: dir,
      hint: 'run `corrupt-mnist generate --out ' + dir + '` first',
      cause,
    });
  }
  const indices = new Set<number>();
  for (const n of names) {
    const m = /^train_(images|target)_(\d+)\.pt$/.exec(n);
    if (m) indices.add(Number(m[2]));
  }
  if (indices.size === 0)
    throw new TensorError('NOT_FOUND', 'no train_images_{i}.pt shards', {
      file: dir,
      hint: 'run `corrupt-mnist generate` first',
    });
  const max = Math.max(...indices);
  for (let i = 0; i <= max; i++) {
    for (const kind of ['images', 'target']) {
      if (!names.includes(`train_${kind}_${i}.pt`)) {
        throw new TensorError(
          'NOT_FOUND',
          `missing shard train_${kind}_${i}.pt (shards 0..${max} expected)`,
          { file: dir },
        );
      }
    }
  }
  for (const f of ['test_images.pt', 'test_target.pt']) {
    if (!names.includes(f)) throw new TensorError('NOT_FOUND', `missing ${f}`, { file: dir });
  }
  return max + 1;
}

function concat(splits: Split[]): Split {
  const total = splits.reduce((n, s) => n + s.targets.length, 0);
  const uint8 = splits.every((s) => s.images.dtype === 'uint8');
  const per = SIDE * SIDE;
  const data = uint8 ? new Uint8Array(total * per) : new Float64Array(total * per);
  const targets = new BigInt64Array(total);
  let o = 0;
  for (const s of splits) {
    if (uint8 || s.images.data instanceof Float64Array || s.images.data instanceof Float32Array) {
      (data as Float64Array).set(s.images.data as Float64Array, o * per);
    } else {
      const src = s.images.data as Uint8Array;
      for (let i = 0; i < src.length; i++) (data as Float64Array)[o * per + i] = src[i]!;
    }
    targets.set(s.targets, o);
    o += s.targets.length;
  }
  return { images: { dtype: uint8 ? 'uint8' : 'float64', shape: [total, 1, SIDE, SIDE], data }, targets };
}

/** Mean and population std of values·scale, summed in index order in float64 (uint8: by histogram). */
function moments(images: Tensor, scale: number): { mean: number; std: number } {
  const d = images.data;
  const n = d.length;
  if (d instanceof Uint8Array) {
    const hist = histogram(d);
    let sum = 0;
    for (let k = 0; k < 256; k++) sum += hist[k]! * k;
    const mean = (sum * scale) / n;
    let ss = 0;
    for (let k = 0; k < 256; k++) {
      const dv = k * scale - mean;
      ss += hist[k]! * dv * dv;
    }
    return { mean, std: Math.sqrt(ss / n) };
  }
  const f = d as Float64Array;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += f[i]! * scale;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const dv = f[i]! * scale - mean;
    ss += dv * dv;
  }
  return { mean, std: Math.sqrt(ss / n) };
}

function histogram(d: Uint8Array): Float64Array {
  const h = new Uint32Array(256);
  for (let i = 0; i < d.length; i++) h[d[i]!]!++;
  return Float64Array.from(h);
}

/** (x·scale − mean)/std as float32, plus the moments of what was written. */
function normalize(
  images: Tensor,
  scale: number,
  mean: number,
  std: number,
): { tensor: Tensor; stats: SplitStats } {
  const n = images.data.length;
  const out = new Float32Array(n);
  if (images.data instanceof Uint8Array) {
    // 256 possible inputs: a lookup table is exact and fast
    const lut = new Float32Array(256);
    for (let k = 0; k < 256; k++) lut[k] = (k * scale - mean) / std;
    const src = images.data;
    for (let i = 0; i < n; i++) out[i] = lut[src[i]!]!;
    const hist = histogram(src);
    let sum = 0;
    for (let k = 0; k < 256; k++) sum += hist[k]! * lut[k]!;
    const m = sum / n;
    let ss = 0;
    for (let k = 0; k < 256; k++) {
      const dv = lut[k]! - m;
      ss += hist[k]! * dv * dv;
    }
    return {
      tensor: { dtype: 'float32', shape: images.shape, data: out },
      stats: { count: images.shape[0]!, mean: m, std: Math.sqrt(ss / n) },
    };
  }
  const src = images.data as Float64Array;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = (src[i]! * scale - mean) / std;
    sum += out[i]!;
  }
  const m = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const dv = out[i]! - m;
    ss += dv * dv;
  }
  return {
    tensor: { dtype: 'float32', shape: images.shape, data: out },
    stats: { count: images.shape[0]!, mean: m, std: Math.sqrt(ss / n) },
  };
}

function maxOf(images: Tensor): number {
  if (images.data instanceof Uint8Array) return 255;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of images.data as Float64Array) if (v > hi) hi = v;
  return hi;
}

/**
 * Concatenates the raw shards, scales to [0,1], normalizes train and test with the train
 * mean/std, and writes `train_images`, `train_target`, `test_images`, `test_target` and `stats.json`.
 *
 * @example
 * const stats = await processRaw({ in: 'data/raw', out: 'data/processed' });
 * console.log(stats.train.mean, stats.train.std); // ~0, ~1
 */
export async function processRaw(options: ProcessOptions): Promise<ProcessStats> {
  const format = options.format ?? 'pt';
  if (!['pt', 'npy', 'safetensors'].includes(format))
    throw new TensorError('USAGE', `--format must be pt, npy or safetensors, got ${format}`);
  const shards = await findShards(options.in);
  const trainParts = await Promise.all(
    Array.from({ length: shards }, (_, i) =>
      readPair(path.join(options.in, `train_images_${i}.pt`), path.join(options.in, `train_target_${i}.pt`)),
    ),
  );
  const train = concat(trainParts);
  const test = concat([
    await readPair(path.join(options.in, 'test_images.pt'), path.join(options.in, 'test_target.pt')),
  ]);
  // floats in 0–255 (some course exports) are scaled like bytes; floats already in [0,1] are kept
  const scale = train.images.dtype === 'uint8' || maxOf(train.images) > 1 ? 1 / 255 : 1;
  const { mean, std } = moments(train.images, scale);
  if (!(std > 0))
    throw new TensorError('CORRUPT', 'train images are constant (std 0); cannot normalize', {
      file: options.in,
    });
  const trainOut = normalize(train.images, scale, mean, std);
  const testOut = normalize(test.images, scale, mean, std);
  const ext = format === 'pt' ? 'pt' : format;
  const files = [
    `train_images.${ext}`,
    `train_target.${ext}`,
    `test_images.${ext}`,
    `test_target.${ext}`,
    'stats.json',
  ];
  const stats: ProcessStats = {
    normalization: { mean, std },
    scale,
    train: trainOut.stats,
    test: testOut.stats,
    format,
    files,
  };
  await writeAllOrNothing(options.out, async (tmp) => {
    await writeTensor(path.join(tmp, files[0]!), trainOut.tensor);
    await writeTensor(path.join(tmp, files[1]!), {
      dtype: 'int64',
      shape: [train.targets.length],
      data: train.targets,
    });
    await writeTensor(path.join(tmp, files[2]!), testOut.tensor);
    await writeTensor(path.join(tmp, files[3]!), {
      dtype: 'int64',
      shape: [test.targets.length],
      data: test.targets,
    });
    await writeFileAtomic(path.join(tmp, 'stats.json'), [Buffer.from(`${JSON.stringify(stats, null, 2)}\n`)]);
  });
  return stats;
}
