// `import`: the course's own raw files, as torch.save wrote them (uint8 or float, views, legacy
// or zip format), rewritten as dense tensors in our raw layout so `process` can take them.
import * as path from 'node:path';
import { DataverError, writeAllOrNothing } from '@dataver/foundation';
import type { Tensor } from '@dataver/tensor';
import { readTensor, writeTensor } from '@dataver/tensor';
import { removeStaleShards } from './fs-util.js';
import { findShards } from './process.js';
import { checkRawSet, type RawPart } from './raw-set.js';

export interface ImportOptions {
  /** Folder with the course's `train_images_{i}.pt`, `train_target_{i}.pt`, `test_images.pt`, `test_target.pt`. */
  from: string;
  /** Output folder (default `data/raw`). */
  out: string;
}

export interface ImportResult {
  out: string;
  files: string[];
  train: number;
  test: number;
  imageDtype: string;
}

function squeezeImages(t: Tensor, file: string): Tensor {
  const [n = 0, ...inner] = t.shape;
  if (inner.join(',') === '1,28,28') return { ...t, shape: [n, 28, 28] };
  if (inner.join(',') === '28,28') return t;
  throw new DataverError(
    'SHAPE_MISMATCH',
    `images must be [N,28,28] or [N,1,28,28], got [${t.shape.join(',')}]`,
    {
      file,
    },
  );
}

function asInt64Targets(t: Tensor, n: number, file: string): Tensor {
  if (t.shape.length !== 1 || t.shape[0] !== n) {
    throw new DataverError('SHAPE_MISMATCH', `targets [${t.shape.join(',')}] do not match ${n} images`, {
      file,
    });
  }
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(t.data[i]);
    if (!Number.isInteger(v) || v < 0 || v > 9)
      throw new DataverError('CORRUPT', `target ${i} is ${v}, not a digit 0–9`, { file });
    out[i] = BigInt(v);
  }
  return { dtype: 'int64', shape: [n], data: out };
}

/**
 * Converts the course's Corrupt MNIST files into our raw layout (dense images of their
 * own dtype, int64 targets), all or nothing.
 *
 * @example
 * await importCourse({ from: '~/dtu_mlops/data/corruptmnist', out: 'data/raw' });
 */
export async function importCourse(options: ImportOptions): Promise<ImportResult> {
  const shards = await findShards(options.from);
  const pairs: [string, string][] = [];
  for (let i = 0; i < shards; i++) pairs.push([`train_images_${i}.pt`, `train_target_${i}.pt`]);
  pairs.push(['test_images.pt', 'test_target.pt']);
  const files: string[] = [];
  let train = 0;
  let test = 0;
  let imageDtype = '';
  const parts: RawPart[] = [];
  await writeAllOrNothing(options.out, async (tmp) => {
    for (const [imgName, tgtName] of pairs) {
      const imgFile = path.join(options.from, imgName);
      const tgtFile = path.join(options.from, tgtName);
      const images = squeezeImages(await readTensor(imgFile), imgFile);
      if (!['uint8', 'float32', 'float64'].includes(images.dtype)) {
        throw new DataverError('UNSUPPORTED_DTYPE', `images must be uint8 or float, got ${images.dtype}`, {
          file: imgFile,
        });
      }
      imageDtype = images.dtype;
      const [n = 0] = images.shape;
      parts.push({ file: imgFile, images, count: n });
      if (imgName === 'test_images.pt') checkRawSet(parts.slice(0, -1), { file: imgFile, images, count: n });
      const targets = asInt64Targets(await readTensor(tgtFile), n, tgtFile);
      await writeTensor(path.join(tmp, imgName), images);
      await writeTensor(path.join(tmp, tgtName), targets);
      files.push(imgName, tgtName);
      if (imgName.startsWith('train')) train += n;
      else test += n;
    }
  });
  await removeStaleShards(options.out, shards);
  return { out: options.out, files, train, test, imageDtype };
}
