// `trainer augment-preview`: originals (top row of each pair) and augmented copies as a PNG grid.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type GlobalOptions, type Output, Rng, writeFileAtomicSync } from '@dataver/foundation';
import { loadTrainConfig } from '../../config.js';
import { augmentImage } from '../../data/augment.js';
import { loadProcessed, PIXELS } from '../../data/dataset.js';
import { imageGridPng } from '../../report/plots.js';

/**
 * Runs the command with parsed flags; resolves to its exit code.
 *
 * @example
 * ```ts
 * await run(new Output({}), [], { out: 'grid.png', count: 16, seed: 0 });
 * ```
 */
export async function run(
  _output: Output,
  _args: unknown[],
  opts: { out: string; config?: string; data?: string; count: number; seed: number } & GlobalOptions,
): Promise<number> {
  const file = opts.config ?? (fs.existsSync('configs/train.yaml') ? 'configs/train.yaml' : undefined);
  const config = await loadTrainConfig(file);
  const { train, normalization } = await loadProcessed(opts.data ?? config.data.dir, ['train']);
  const rng = new Rng(opts.seed);
  const background = -normalization.mean / normalization.std;
  const white = (1 - normalization.mean) / normalization.std;
  const count = Math.min(opts.count, train.count);
  const cols = Math.min(8, count);
  const tiles = [];
  const aug = { ...config.augmentation, probability: 1 };
  for (let start = 0; start < count; start += cols) {
    const rowIdx = Array.from({ length: Math.min(cols, count - start) }, (_, i) => start + i);
    for (const i of rowIdx) {
      tiles.push({
        pixels: train.images.subarray(i * PIXELS, (i + 1) * PIXELS),
        caption: `${train.labels[i]} orig`,
      });
    }
    for (const i of rowIdx) {
      const dst = new Float32Array(PIXELS);
      augmentImage(
        train.images.subarray(i * PIXELS, (i + 1) * PIXELS),
        dst,
        aug,
        rng,
        background,
        white,
        train.angles?.[i] ?? 0,
      );
      tiles.push({ pixels: dst, caption: `${train.labels[i]} aug` });
    }
  }
  const title =
    `Augmentation: rot ${aug.rotation}, shift ${aug.shift}, scale ${aug.scale}` +
    (aug.corruption ? `, corruption ${aug.corruption}` : '');
  writeFileAtomicSync(path.resolve(opts.out), imageGridPng(tiles, normalization, cols, title), {
    mkdir: true,
  });
  if (!opts.quiet)
    process.stdout.write(`wrote ${opts.out} (${count} images, each with an augmented copy below)\n`);
  return 0;
}
