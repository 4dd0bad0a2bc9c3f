// `process`: raw shards → one normalized train set and test set (float32 [N,1,28,28], int64 [N]),
// with the train mean/std in stats.json. Summation order is fixed, so results are bit-reproducible.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DataverError, writeAllOrNothing, writeFileAtomic } from '@dataver/foundation';
import type { Tensor, TensorFormat } from '@dataver/tensor';
import { type ChunkFiller, readTensor, writeTensor, writeTensorStreaming } from '@dataver/tensor';
import { checkRawSet } from './raw-set.js';

export interface ProcessOptions {
  /** Raw folder with `train_images_{i}.pt`, `train_target_{i}.pt`, `test_images.pt`, `test_target.pt`. */
  in: string;
  /** Output folder (the course's `data/processed`). */
  out: string;
  /** Output format; default `pt`. */
  format?: TensorFormat;
  /** fsync every output file before it is renamed into place (default true). */
  sync?: boolean;
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
  /** How raw values were scaled to [0,1]: 1/255 for uint8, 1 for floats (which must lie in [0,1]). */
  scale: number;
  /** Statistics of the written tensors (train: mean 0, std 1). */
  train: SplitStats;
  test: SplitStats;
  format: TensorFormat;
  files: string[];
  /**
   * The rotation each range of rows already carries (degrees), from the generator's manifest.json
   * when the raw folder has one, in the rows of the written tensors; the trainer's augmentation then
   * draws each image's total rotation instead of adding to it.
   */
  rotations?: { train: RotationRange[]; test: RotationRange[] };
}

/** Rows `start .. start + count − 1` of a written split, rotated by `angle` degrees. */
export interface RotationRange {
  start: number;
  count: number;
  angle: number;
}

const SIDE = 28;

interface Split {
  images: Tensor;
  targets: BigInt64Array;
}

function checkImages(t: Tensor, file: string): number {
  const [count = 0, ...inner] = t.shape;
  const ok = [`${SIDE},${SIDE}`, `1,${SIDE},${SIDE}`].includes(inner.join(','));
  if (!ok)
    throw new DataverError(
      'SHAPE_MISMATCH',
      `images must be [N,28,28] or [N,1,28,28], got [${t.shape.join(',')}]`,
      {
        file,
      },
    );
  if (t.dtype !== 'uint8' && t.dtype !== 'float32' && t.dtype !== 'float64') {
    throw new DataverError('UNSUPPORTED_DTYPE', `images must be uint8, float32 or float64, got ${t.dtype}`, {
      file,
    });
  }
  return count;
}

function checkTargets(t: Tensor, n: number, file: string): BigInt64Array {
  if (t.shape.length !== 1)
    throw new DataverError('SHAPE_MISMATCH', `targets must be [N], got [${t.shape.join(',')}]`, { file });
  if (t.shape[0] !== n)
    throw new DataverError('SHAPE_MISMATCH', `${t.shape[0]} targets for ${n} images`, { file });
  if (t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16' || t.dtype === 'bool') {
    throw new DataverError('UNSUPPORTED_DTYPE', `targets must be integers, got ${t.dtype}`, { file });
  }
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(t.data[i]);
    if (!(v >= 0 && v <= 9))
      throw new DataverError('CORRUPT', `target ${i} is ${v}, not a digit 0–9`, { file });
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

/**
 * Lists the train shards 0..k-1; a gap, or images without targets, is an error.
 *
 * @example
 * const shards = await findShards('data/raw'); // 6
 */
export async function findShards(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (cause) {
    throw new DataverError('NOT_FOUND', 'raw data folder does not exist', {
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
    throw new DataverError('NOT_FOUND', 'no train_images_{i}.pt shards', {
      file: dir,
      hint: 'run `corrupt-mnist generate` first',
    });
  const max = Math.max(...indices);
  for (let i = 0; i <= max; i++) {
    for (const kind of ['images', 'target']) {
      if (!names.includes(`train_${kind}_${i}.pt`)) {
        throw new DataverError(
          'NOT_FOUND',
          `missing shard train_${kind}_${i}.pt (shards 0..${max} expected)`,
          { file: dir },
        );
      }
    }
  }
  for (const f of ['test_images.pt', 'test_target.pt']) {
    if (!names.includes(f)) throw new DataverError('NOT_FOUND', `missing ${f}`, { file: dir });
  }
  return max + 1;
}

/**
 * Pixel counts per byte value. Reads four pixels per 32-bit word into four tables: fewer loads,
 * and no store-to-load stalls on the long runs of one value (the black background).
 */
function histogram(d: Uint8Array, into: Float64Array = new Float64Array(256)): Float64Array {
  const h0 = new Uint32Array(256);
  const h1 = new Uint32Array(256);
  const h2 = new Uint32Array(256);
  const h3 = new Uint32Array(256);
  const aligned = d.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(d.buffer, d.byteOffset, d.length >>> 2) : new Uint32Array(0);
  for (let i = 0; i < words.length; i++) {
    const v = words[i]!;
    h0[v & 255]!++;
    h1[(v >>> 8) & 255]!++;
    h2[(v >>> 16) & 255]!++;
    h3[v >>> 24]!++;
  }
  for (let i = words.length * 4; i < d.length; i++) h0[d[i]!]!++;
  for (let k = 0; k < 256; k++) into[k] = into[k]! + h0[k]! + h1[k]! + h2[k]! + h3[k]!;
  return into;
}

/** Mean and population std of the values of a histogram (value k ↦ f(k)), summed in k order. */
function histogramMoments(
  hist: Float64Array,
  value: (k: number) => number,
  knownMean?: number,
): { mean: number; std: number } {
  let n = 0;
  let sum = 0;
  for (let k = 0; k < 256; k++) {
    n += hist[k]!;
    sum += hist[k]! * value(k);
  }
  const mean = knownMean ?? sum / n;
  let ss = 0;
  for (let k = 0; k < 256; k++) {
    const dv = value(k) - mean;
    ss += hist[k]! * dv * dv;
  }
  return { mean, std: Math.sqrt(ss / n) };
}

// Source pixels are read four at a time as one 32-bit word (little-endian: lowest byte first);
// table and output are raw 32-bit words, so the copy does no float conversions.
function mapBytes(
  src: Uint8Array,
  from: number,
  lut: Uint32Array,
  out: Uint32Array,
  offset: number,
  n: number,
): void {
  const o = out.subarray(offset, offset + n);
  let i = 0;
  if ((src.byteOffset + from) % 4 === 0 && LITTLE_ENDIAN) {
    const w = new Uint32Array(src.buffer, src.byteOffset + from, n >>> 2);
    for (let k = 0; k < w.length; k++, i += 4) {
      const v = w[k]!;
      o[i] = lut[v & 255]!;
      o[i + 1] = lut[(v >>> 8) & 255]!;
      o[i + 2] = lut[(v >>> 16) & 255]!;
      o[i + 3] = lut[v >>> 24]!;
    }
  }
  for (; i < n; i++) o[i] = lut[src[from + i]!]!;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A chunk filler that maps the concatenation of `parts` through `lut`, never materializing it. */
function byteFiller(parts: Uint8Array[], lutFloats: Float32Array): ChunkFiller {
  const lut = new Uint32Array(lutFloats.buffer, lutFloats.byteOffset, 256);
  return (out, start) => {
    const dst = new Uint32Array(out.buffer, out.byteOffset, out.length);
    let filled = 0;
    let base = 0;
    for (const p of parts) {
      const end = base + p.length;
      if (start + filled < end && filled < dst.length) {
        const from = start + filled - base;
        const n = Math.min(p.length - from, dst.length - filled);
        mapBytes(p, from, lut, dst, filled, n);
        filled += n;
      }
      base = end;
    }
  };
}

function arrayFiller(data: Float32Array): ChunkFiller {
  return (out, start) => (out as Float32Array).set(data.subarray(start, start + out.length));
}

function concatTargets(splits: Split[]): BigInt64Array {
  const out = new BigInt64Array(splits.reduce((n, s) => n + s.targets.length, 0));
  let o = 0;
  for (const s of splits) {
    out.set(s.targets, o);
    o += s.targets.length;
  }
  return out;
}

interface Normalized {
  /** Writes the normalized train (test) images, element `start` onwards, into `out`. */
  train: ChunkFiller;
  test: ChunkFiller;
  normalization: { mean: number; std: number };
  scale: number;
  trainStats: { mean: number; std: number };
  testStats: { mean: number; std: number };
}

/**
 * uint8 input: everything goes through 256-entry histograms and one lookup table, so the
 * sums have a fixed order (byte value 0..255) and each output element is one table read.
 */
function normalizeBytes(train: Uint8Array[], test: Uint8Array[]): Normalized {
  const scale = 1 / 255;
  const trainHist = new Float64Array(256);
  for (const d of train) histogram(d, trainHist);
  const testHist = new Float64Array(256);
  for (const d of test) histogram(d, testHist);
  // the mean from the exact integer pixel sum; the spread around it in byte-value order
  let count = 0;
  let pixelSum = 0;
  for (let k = 0; k < 256; k++) {
    count += trainHist[k]!;
    pixelSum += trainHist[k]! * k;
  }
  const mean = (pixelSum * scale) / count;
  const std = histogramMoments(trainHist, (k) => k * scale, mean).std;
  const normalization = { mean, std };
  const lut = new Float32Array(256);
  for (let k = 0; k < 256; k++) lut[k] = (k * scale - mean) / std;
  return {
    train: byteFiller(train, lut),
    test: byteFiller(test, lut),
    normalization,
    scale,
    trainStats: histogramMoments(trainHist, (k) => lut[k]!),
    testStats: histogramMoments(testHist, (k) => lut[k]!),
  };
}

/** Float input: sums in index order in float64. */
function floatMoments(parts: Float32Array[] | Float64Array[], scale: number): { mean: number; std: number } {
  let n = 0;
  let sum = 0;
  for (const p of parts) {
    n += p.length;
    for (let i = 0; i < p.length; i++) sum += p[i]! * scale;
  }
  const mean = sum / n;
  let ss = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      const dv = p[i]! * scale - mean;
      ss += dv * dv;
    }
  }
  return { mean, std: Math.sqrt(ss / n) };
}

function normalizeFloats(
  train: Float32Array[] | Float64Array[],
  test: Float32Array[] | Float64Array[],
): Normalized {
  // checkRawSet made sure that floats lie in [0, 1] already
  const scale = 1;
  const normalization = floatMoments(train, scale);
  const { mean, std } = normalization;
  const write = (parts: Float32Array[] | Float64Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) for (let i = 0; i < p.length; i++) out[o++] = (p[i]! * scale - mean) / std;
    return out;
  };
  const trainOut = write(train);
  const testOut = write(test);
  return {
    train: arrayFiller(trainOut),
    test: arrayFiller(testOut),
    normalization,
    scale,
    trainStats: floatMoments([trainOut], 1),
    testStats: floatMoments([testOut], 1),
  };
}

/**
 * `r` as a rotation range when it is one — integer `start` ≥ 0 and `count`, a finite `angle` — that
 * lies within the first `rows` rows; otherwise undefined. (The trainer checks stats.json's the same
 * way, in its own code: it does not load this package to read a data set.)
 */
function rotationRangeWithin(r: unknown, rows: number): RotationRange | undefined {
  const { start, count, angle } = (r ?? {}) as { start?: unknown; count?: unknown; angle?: unknown };
  if (!Number.isInteger(start) || !Number.isInteger(count) || typeof angle !== 'number') return undefined;
  if (!Number.isFinite(angle) || (start as number) < 0 || (start as number) + (count as number) > rows)
    return undefined;
  return { start: start as number, count: count as number, angle };
}

/**
 * The rotations recorded in `<dir>/manifest.json` (corrupt-mnist generate's), in the rows of the
 * concatenated train set and of the test set; undefined without a manifest or without angles. A
 * manifest that does not describe these shards is an error: it would mislead the augmentation.
 */
async function readRotations(
  dir: string,
  shardCounts: number[],
  testCount: number,
): Promise<{ train: RotationRange[]; test: RotationRange[] } | undefined> {
  const file = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const bad = (why: string) =>
    new DataverError('CORRUPT', `does not describe the shards beside it: ${why}`, {
      file,
      hint: 'regenerate the folder with corrupt-mnist generate, or remove manifest.json',
    });
  let manifest: { train?: unknown; test?: unknown };
  try {
    manifest = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const offsets = shardCounts.map((_, i) => shardCounts.slice(0, i).reduce((a, b) => a + b, 0));
  const ranges = (records: unknown, rowsOf: (file: string) => [number, number] | undefined) => {
    if (records === undefined) return [];
    if (!Array.isArray(records)) throw bad('train and test must be lists');
    return (records as Array<{ file?: unknown; angle?: unknown }>).flatMap((r) => {
      if (r.angle === undefined) return [];
      const rows = typeof r.file === 'string' ? rowsOf(r.file) : undefined;
      const range = rows && rotationRangeWithin(r, rows[1]);
      if (!rows || !range)
        throw bad(`the entry for ${String(r.file)} names rows or an angle that are not there`);
      return [{ ...range, start: rows[0] + range.start }];
    });
  };
  const train = ranges(manifest.train, (f) => {
    const i = /^train_images_(\d+)\.pt$/.exec(f)?.[1];
    const shard = i === undefined ? -1 : Number(i);
    return shard >= 0 && shard < shardCounts.length
      ? [offsets[shard] ?? 0, shardCounts[shard] ?? 0]
      : undefined;
  });
  const test = ranges(manifest.test, (f) => (f === 'test_images.pt' ? [0, testCount] : undefined));
  return train.length || test.length ? { train, test } : undefined;
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
    throw new DataverError('USAGE', `--format must be pt, npy or safetensors, got ${format}`);
  const shards = await findShards(options.in);
  // all shards are read at once: the reads overlap each other's parsing
  const pair = (images: string, targets: string): Promise<Split> =>
    readPair(path.join(options.in, images), path.join(options.in, targets));
  const [trainParts, testPart] = await Promise.all([
    Promise.all(
      Array.from({ length: shards }, (_, i) => pair(`train_images_${i}.pt`, `train_target_${i}.pt`)),
    ),
    pair('test_images.pt', 'test_target.pt'),
  ]);
  checkRawSet(
    trainParts.map((p, i) => ({
      ...p,
      count: p.targets.length,
      file: path.join(options.in, `train_images_${i}.pt`),
    })),
    { ...testPart, count: testPart.targets.length, file: path.join(options.in, 'test_images.pt') },
  );
  const trainImages = trainParts.map((p) => p.images.data);
  const testImages = [testPart.images.data];
  const n =
    testPart.images.dtype === 'uint8'
      ? normalizeBytes(trainImages as Uint8Array[], testImages as Uint8Array[])
      : normalizeFloats(trainImages as Float32Array[], testImages as Float32Array[]);
  if (!(n.normalization.std > 0)) {
    throw new DataverError('CORRUPT', 'train images are constant (std 0); cannot normalize', {
      file: options.in,
    });
  }
  const trainTargets = concatTargets(trainParts);
  const testTargets = testPart.targets;
  const trainCount = trainTargets.length;
  const testCount = testTargets.length;
  const names = {
    trainImages: `train_images.${format}`,
    trainTarget: `train_target.${format}`,
    testImages: `test_images.${format}`,
    testTarget: `test_target.${format}`,
  };
  const files = [...Object.values(names), 'stats.json'];
  const rotations = await readRotations(
    options.in,
    trainParts.map((p) => p.targets.length),
    testCount,
  );
  const stats: ProcessStats = {
    normalization: n.normalization,
    scale: n.scale,
    train: { count: trainCount, ...n.trainStats },
    test: { count: testCount, ...n.testStats },
    format,
    files,
    ...(rotations ? { rotations } : {}),
  };
  const sync = options.sync ?? true;
  await writeAllOrNothing(options.out, async (tmp) => {
    const writeSplit = (images: string, targets: string, fill: ChunkFiller, labels: BigInt64Array) => [
      writeTensorStreaming(
        path.join(tmp, images),
        { dtype: 'float32', shape: [labels.length, 1, SIDE, SIDE] },
        fill,
        { sync },
      ),
      writeTensor(
        path.join(tmp, targets),
        { dtype: 'int64', shape: [labels.length], data: labels },
        { sync },
      ),
    ];
    // all files at once: the disk works on the big train file while the small ones are serialized
    await Promise.all([
      ...writeSplit(names.trainImages, names.trainTarget, n.train, trainTargets),
      ...writeSplit(names.testImages, names.testTarget, n.test, testTargets),
      writeFileAtomic(path.join(tmp, 'stats.json'), [Buffer.from(`${JSON.stringify(stats, null, 2)}\n`)], {
        sync,
      }),
    ]);
  });
  return stats;
}
