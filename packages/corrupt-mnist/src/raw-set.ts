// The rules a raw Corrupt MNIST folder must follow before `process` or `import` writes anything:
// one image dtype, train shards of one size, float pixels in [0, 1].
import * as path from 'node:path';
import { DataverError } from '@dataver/foundation';
import type { Tensor } from '@dataver/tensor';

const SIDE = 28;

/** One images file of a raw folder: its path, its tensor and how many images it holds. */
export interface RawPart {
  file: string;
  images: Tensor;
  count: number;
}

/**
 * What a raw folder must hold before anything is written: one image dtype throughout, train
 * shards of one size (the last may be shorter), and float images with every pixel in [0, 1]
 * (no NaN), as the course stores them. The first offending file is named (exit 3).
 *
 * @example
 * checkRawSet([{ file: 'train_images_0.pt', images, count: 5000 }], { file: 'test_images.pt', images: test, count: 5000 });
 */
export function checkRawSet(train: readonly RawPart[], test: RawPart): void {
  const [first] = train;
  if (!first) return;
  const size = first.count;
  for (const [i, part] of [...train, test].entries()) {
    if (part.images.dtype !== first.images.dtype) {
      throw new DataverError(
        'DATA_INVALID',
        `images are ${part.images.dtype}, but ${path.basename(first.file)} holds ${first.images.dtype}: one dtype for the whole set`,
        { file: part.file, hint: 'regenerate or re-import the folder so that every file has one dtype' },
      );
    }
    const isTrain = i < train.length;
    const last = i === train.length - 1;
    if (isTrain && (last ? part.count > size : part.count !== size)) {
      throw new DataverError(
        'SHAPE_MISMATCH',
        `shard holds ${part.count} images, the shards before it ${size}: every train shard but the last must have the same size`,
        { file: part.file },
      );
    }
    if (part.images.dtype !== 'uint8')
      checkUnitRange(part.images.data as Float32Array | Float64Array, part.file);
  }
}

/**
 * Float images must lie in [0, 1]; NaN and values outside are named with their position.
 *
 * @example
 * checkUnitRange(images.data as Float32Array, 'train_images_0.pt');
 */
export function checkUnitRange(data: Float32Array | Float64Array, file: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] ?? 0;
    if (!(v >= 0 && v <= 1)) {
      const image = Math.floor(i / (SIDE * SIDE));
      throw new DataverError(
        'DATA_INVALID',
        `pixel ${i % (SIDE * SIDE)} of image ${image} is ${v}: float images must lie in [0, 1]`,
        { file, hint: 'store pixels as uint8 0–255 or as floats divided by 255' },
      );
    }
  }
}
