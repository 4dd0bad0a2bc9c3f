// Shared fixtures: processed-layout data folders made from real MNIST digits (written with @dataver/tensor's
// writer, read back through the product path), and a small trained model reused across test files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeTensor } from '@dataver/tensor';
import { PNG } from 'pngjs';
import { loadMnist, MNIST_MEAN, MNIST_STD } from './mnist';

export const REPO_ROOT = path.resolve(__dirname, '../../../..');
export const TRAINER_BIN = path.join(REPO_ROOT, 'packages/trainer/bin/trainer.js');

export function tmpDir(prefix = 'trainer-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a processed folder (float32 normalized images, int64 targets, stats.json). */
export async function makeProcessed(
  dir: string,
  trainCount: number,
  testCount: number,
  format: 'pt' | 'npy' = 'pt',
) {
  fs.mkdirSync(dir, { recursive: true });
  const train = loadMnist('train', trainCount);
  const test = loadMnist('test', testCount);
  for (const [name, d] of [
    ['train', train],
    ['test', test],
  ] as const) {
    await writeTensor(path.join(dir, `${name}_images.${format}`), {
      dtype: 'float32',
      shape: [d.count, 1, 28, 28],
      data: d.images,
    });
    await writeTensor(path.join(dir, `${name}_target.${format}`), {
      dtype: 'int64',
      shape: [d.count],
      data: BigInt64Array.from(d.labels, (v) => BigInt(v)),
    });
  }
  fs.writeFileSync(
    path.join(dir, 'stats.json'),
    JSON.stringify({ normalization: { mean: MNIST_MEAN, std: MNIST_STD } }),
  );
  return { train, test };
}

/** A PNG of an MNIST test digit, optionally as dark ink on light paper and enlarged. */
export function digitPng(
  index: number,
  opts: { lightBackground?: boolean; zoom?: number; colour?: boolean } = {},
): { png: Buffer; label: number } {
  const d = loadMnist('test', index + 1);
  const zoom = opts.zoom ?? 1;
  const size = 28 * zoom + 20;
  const png = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = Math.floor((x - 10) / zoom);
      const sy = Math.floor((y - 10) / zoom);
      const v = sx >= 0 && sy >= 0 && sx < 28 && sy < 28 ? d.raw[index * 784 + sy * 28 + sx]! : 0;
      const g = opts.lightBackground ? 255 - v : v;
      const i = (y * size + x) * 4;
      png.data[i] = opts.colour ? Math.min(255, g + 40) : g;
      png.data[i + 1] = g;
      png.data[i + 2] = opts.colour ? Math.max(0, g - 30) : g;
      png.data[i + 3] = 255;
    }
  }
  return { png: PNG.sync.write(png), label: d.labels[index]! };
}

/**
 * Trains (once per machine, cached under the temp dir) a cnn-small on 6 000 clean MNIST digits for
 * 2 epochs and returns its directory and the data folder.
 */
export async function trainedModel(): Promise<{ modelDir: string; dataDir: string }> {
  const root = path.join(os.tmpdir(), 'trainer-test-fixture-v2');
  const modelDir = path.join(root, 'model');
  const dataDir = path.join(root, 'processed');
  if (fs.existsSync(path.join(modelDir, 'metadata.json'))) return { modelDir, dataDir };
  const work = `${root}.${process.pid}.tmp`;
  fs.rmSync(work, { recursive: true, force: true });
  await makeProcessed(path.join(work, 'processed'), 6000, 1000);
  const { parseTrainConfig } = await import('../../src/config');
  const { train } = await import('../../src/train');
  const config = parseTrainConfig({
    epochs: 2,
    data: { dir: path.join(work, 'processed'), limit: null },
    output: { dir: path.join(work, 'model') },
    augmentation: { enabled: false },
    validationSplit: 0.1,
  });
  await train({ config, allowDirty: true });
  fs.rmSync(root, { recursive: true, force: true });
  try {
    fs.renameSync(work, root);
  } catch {
    // Another worker won the race; use its copy.
    fs.rmSync(work, { recursive: true, force: true });
  }
  // metadata/config paths point at the tmp location; the tests only use the model files.
  return { modelDir, dataDir };
}
