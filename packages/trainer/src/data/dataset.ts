// In-memory data sets of 28×28 grey digits built from tensors (read through @dataver/tensor),
// validated and normalized once, then batched by the training and evaluation loops.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { readTensor, type Tensor } from '@dataver/tensor';

/** Side of the square images. */
export const SIDE = 28;
/** Pixels per image. */
export const PIXELS = SIDE * SIDE;

/** Normalization constants: pixel in [0,1] → (pixel − mean) / std. */
export interface Normalization {
  mean: number;
  std: number;
}

/** Normalized images (N×784, row-major) and their labels. */
export interface Dataset {
  images: Float32Array;
  labels: Int32Array;
  count: number;
  /**
   * The rotation (degrees) each image already carries, where the data records it (corrupt-mnist's
   * manifest, through `process`'s stats.json); augmentation then draws each image's total rotation.
   */
  angles?: Float32Array;
}

/** How to read the image tensor. */
export interface FromTensorsOptions {
  normalization: Normalization;
  /** Float images are raw pixels (0–1 or 0–255) to normalize, not already normalized. */
  raw?: boolean;
  /** Number of classes: labels must lie in [0, classes). */
  classes?: number;
  /** Names used in error messages. */
  names?: { images: string; targets: string };
}

/**
 * Validates an image tensor and a target tensor and turns them into a normalized {@link Dataset}.
 * uint8 images are raw pixels; float images are taken as already normalized unless `raw`.
 *
 * @example
 * ```ts
 * const ds = datasetFromTensors(await readTensor('test_images.pt'), await readTensor('test_target.pt'),
 *   { normalization: { mean: 0.13, std: 0.31 } });
 * ```
 */
export function datasetFromTensors(images: Tensor, targets: Tensor, options: FromTensorsOptions): Dataset {
  const names = options.names ?? { images: 'images', targets: 'targets' };
  const classes = options.classes ?? 10;
  const shape = images.shape;
  const okShape =
    (shape.length === 4 && shape[1] === 1 && shape[2] === SIDE && shape[3] === SIDE) ||
    (shape.length === 3 && shape[1] === SIDE && shape[2] === SIDE);
  if (!okShape) {
    throw new DataverError(
      'DATA_INVALID',
      `${names.images} has shape [${shape.join(',')}], expected [N,1,28,28]`,
    );
  }
  const [count = 0] = shape;
  if (count === 0) throw new DataverError('DATA_INVALID', `${names.images} is empty (0 images)`);
  if (targets.shape.length !== 1 || targets.shape[0] !== count) {
    throw new DataverError(
      'DATA_INVALID',
      `${names.targets} has shape [${targets.shape.join(',')}], expected [${count}] to match ${names.images}`,
    );
  }
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = Number(targets.data[i]!);
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new DataverError(
        'DATA_INVALID',
        `${names.targets}[${i}] = ${v} is not a class label in 0..${classes - 1} (dtype ${targets.dtype})`,
      );
    }
    labels[i] = v;
  }
  const { mean, std } = options.normalization;
  const out = new Float32Array(count * PIXELS);
  const src = images.data;
  if (images.dtype === 'uint8') {
    const lut = new Float32Array(256);
    for (let i = 0; i < 256; i++) lut[i] = (i / 255 - mean) / std;
    for (let i = 0; i < out.length; i++) out[i] = lut[src[i] as number]!;
  } else if (images.dtype === 'float32' || images.dtype === 'float64' || images.dtype === 'float16') {
    if (options.raw) {
      let max = 0;
      for (let i = 0; i < out.length; i++) max = Math.max(max, src[i] as number);
      const scale = max > 1.5 ? 1 / 255 : 1;
      for (let i = 0; i < out.length; i++) out[i] = ((src[i] as number) * scale - mean) / std;
    } else {
      for (let i = 0; i < out.length; i++) out[i] = src[i] as number;
    }
  } else {
    throw new DataverError(
      'DATA_INVALID',
      `${names.images} has dtype ${images.dtype}, expected uint8 or float`,
    );
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!))
      throw new DataverError('DATA_INVALID', `${names.images} holds NaN or infinite values`);
  }
  return { images: out, labels, count };
}

/** Reads one tensor file, mapping its errors to data errors (exit 3).
 *
 * @example
 * ```ts
 * const t = await readTensorChecked('data/processed/test_images.pt');
 * ```
 */
export async function readTensorChecked(file: string): Promise<Tensor> {
  if (!fs.existsSync(file)) {
    throw new DataverError('DATA_MISSING', `${file} not found`, {
      hint: 'run `dataver pull` (or `npm start`) to get the data of this commit',
    });
  }
  try {
    return await readTensor(file);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The reader names the file itself when it knows it.
    const named = error instanceof DataverError && error.file !== undefined;
    throw new DataverError('DATA_INVALID', named ? message : `${file}: ${message}`, { cause: error });
  }
}

/** `stats.json` of a processed folder, parsed once for everything read from it. */
interface StatsFile {
  file: string;
  raw: {
    normalization?: Normalization;
    mean?: number;
    std?: number;
    rotations?: Record<string, unknown> | null;
  };
}

function loadStatsFile(dir: string): StatsFile {
  const file = path.join(dir, 'stats.json');
  if (!fs.existsSync(file)) {
    throw new DataverError('DATA_MISSING', `${file} not found`, {
      hint: 'run the process stage (corrupt-mnist process)',
    });
  }
  try {
    return { file, raw: JSON.parse(fs.readFileSync(file, 'utf8')) as StatsFile['raw'] };
  } catch (error) {
    throw noNormalization(file, error);
  }
}

function noNormalization(file: string, cause: unknown): DataverError {
  return new DataverError('DATA_INVALID', `${file} has no valid normalization {mean, std}`, { cause });
}

function normalizationOf({ file, raw }: StatsFile): Normalization {
  const n = raw?.normalization ?? (raw?.mean !== undefined ? { mean: raw.mean, std: raw.std! } : undefined);
  if (!n || typeof n.mean !== 'number' || typeof n.std !== 'number' || !(n.std > 0))
    throw noNormalization(file, new Error('no normalization'));
  return { mean: n.mean, std: n.std };
}

/** Reads `stats.json` of a processed folder.
 *
 * @example
 * ```ts
 * readStats('data/processed'); // { mean: 0.16, std: 0.28 }
 * ```
 */
export function readStats(dir: string): Normalization {
  return normalizationOf(loadStatsFile(dir));
}

/**
 * The rotation each image of a split already carries, from stats.json's `rotations` (written by
 * `corrupt-mnist process` from the generator's manifest), or undefined where it records none.
 */
function carriedAngles(
  { file, raw }: StatsFile,
  split: 'train' | 'test',
  count: number,
): Float32Array | undefined {
  const ranges = raw.rotations?.[split];
  if (ranges === undefined) return undefined;
  const angles = new Float32Array(count);
  const valid =
    Array.isArray(ranges) &&
    ranges.every((r: { start?: unknown; count?: unknown; angle?: unknown }) => {
      // corrupt-mnist's rotationRangeWithin makes the same check; importing it would load that
      // package's whole index into every command that reads a data set.
      const { start, count: n, angle } = r ?? {};
      if (!Number.isInteger(start) || !Number.isInteger(n) || typeof angle !== 'number') return false;
      if (!Number.isFinite(angle) || (start as number) < 0 || (start as number) + (n as number) > count)
        return false;
      angles.fill(angle, start as number, (start as number) + (n as number));
      return true;
    });
  if (!valid)
    throw new DataverError(
      'DATA_INVALID',
      `${file}: rotations.${split} names rows that are not in the data`,
      {
        hint: 'rerun the process stage (corrupt-mnist process)',
      },
    );
  return angles;
}

/** The processed train and test sets. */
export interface ProcessedData {
  train: Dataset;
  test: Dataset;
  normalization: Normalization;
  files: string[];
}

/**
 * Loads `{train,test}_{images,target}.pt` and `stats.json` from a processed folder.
 *
 * @example
 * ```ts
 * const { train, test, normalization } = await loadProcessed('data/processed');
 * ```
 */
export async function loadProcessed(
  dir: string,
  which: Array<'train' | 'test'> = ['train', 'test'],
): Promise<ProcessedData> {
  const stats = loadStatsFile(dir);
  const normalization = normalizationOf(stats);
  const empty: Dataset = { images: new Float32Array(0), labels: new Int32Array(0), count: 0 };
  const result: ProcessedData = {
    train: empty,
    test: empty,
    normalization,
    files: [path.join(dir, 'stats.json')],
  };
  for (const split of which) {
    const imagesFile = findTensorFile(dir, `${split}_images`);
    const targetsFile = findTensorFile(dir, `${split}_target`);
    const [images, targets] = [await readTensorChecked(imagesFile), await readTensorChecked(targetsFile)];
    result[split] = datasetFromTensors(images, targets, {
      normalization,
      names: { images: imagesFile, targets: targetsFile },
    });
    const angles = carriedAngles(stats, split, result[split].count);
    if (angles) result[split].angles = angles;
    result.files.push(imagesFile, targetsFile);
  }
  return result;
}

function findTensorFile(dir: string, base: string): string {
  for (const ext of ['.pt', '.safetensors', '.npy']) {
    const f = path.join(dir, base + ext);
    if (fs.existsSync(f)) return f;
  }
  return path.join(dir, `${base}.pt`);
}

/**
 * Splits off a validation set: the last `fraction` of a seeded permutation.
 *
 * @example
 * ```ts
 * const { train, validation } = splitValidation(ds, 0.1, new Rng(0));
 * ```
 */
export function splitValidation(
  ds: Dataset,
  fraction: number,
  shuffle: (idx: Int32Array) => void,
): { train: Dataset; validation: Dataset | null } {
  const nVal = Math.floor(ds.count * fraction);
  if (nVal <= 0) return { train: ds, validation: null };
  const idx = new Int32Array(ds.count).map((_, i) => i);
  shuffle(idx);
  return {
    train: subset(ds, idx.subarray(0, ds.count - nVal)),
    validation: subset(ds, idx.subarray(ds.count - nVal)),
  };
}

/** The images at the given indices, in that order.
 *
 * @example
 * ```ts
 * const first100 = subset(ds, Int32Array.from({ length: 100 }, (_, i) => i));
 * ```
 */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const count = indices.length;
  const images = new Float32Array(count * PIXELS);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const j = indices[i]!;
    images.set(ds.images.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    labels[i] = ds.labels[j]!;
  }
  if (!ds.angles) return { images, labels, count };
  const from = ds.angles;
  return { images, labels, count, angles: Float32Array.from(indices, (j) => from[j] ?? 0) };
}
