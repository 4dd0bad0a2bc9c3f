// `preview`: a PNG grid of the first n images of a tensor file, each with its label, for docs and eyes.
import * as path from 'node:path';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import type { Tensor } from '@dataver/tensor';
import { readTensor } from '@dataver/tensor';
import { PNG } from 'pngjs';

export interface PreviewOptions {
  /** Image tensor file: `[N,H,W]` or `[N,1,H,W]`, any numeric dtype. */
  images: string;
  /** Optional target tensor file `[N]`; labels are drawn under each image. */
  targets?: string;
  /** Output PNG path. */
  out: string;
  /** Number of images (default 64). */
  n?: number;
  /** Pixels per image pixel (default 2). */
  zoom?: number;
}

// 3×5 bitmap digits, one row per string, for labels without a font dependency.
const GLYPHS = [
  '111101101101111',
  '010110010010111',
  '111001111100111',
  '111001111001111',
  '101101111001001',
  '111100111001111',
  '111100111101111',
  '111001001001001',
  '111101111101111',
  '111101111001111',
];

function drawNumber(png: PNG, value: number, x0: number, y0: number, scale: number): void {
  const text = String(value);
  for (let c = 0; c < text.length; c++) {
    const g = GLYPHS[text.charCodeAt(c) - 48];
    if (!g) continue;
    for (let r = 0; r < 5; r++) {
      for (let k = 0; k < 3; k++) {
        if (g[r * 3 + k] !== '1') continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const x = x0 + (c * 4 + k) * scale + dx;
            const y = y0 + r * scale + dy;
            if (x >= png.width || y >= png.height) continue;
            const i = (y * png.width + x) * 4;
            png.data[i] = 255;
            png.data[i + 1] = 200;
            png.data[i + 2] = 40;
          }
        }
      }
    }
  }
}

/**
 * Renders images (and labels) into a PNG grid; float images are scaled by their own min/max.
 * Returns the PNG bytes.
 *
 * @example
 * const png = renderGrid(images, targets, { n: 16 });
 */
export function renderGrid(
  images: Tensor,
  targets: Tensor | undefined,
  options: { n?: number; zoom?: number; cols?: number } = {},
): Buffer {
  const shape = images.shape;
  // [N,1,H,W] or [N,H,W]: drop the channel
  const [count = 0, ...inner] = shape;
  const withChannel = inner.length === 3 && inner[0] === 1;
  if (!withChannel && inner.length !== 2)
    throw new DataverError('SHAPE_MISMATCH', `images must be [N,H,W] or [N,1,H,W], got [${shape.join(',')}]`);
  const [h = 0, w = 0] = withChannel ? inner.slice(1) : inner;
  const n = Math.min(options.n ?? 64, count);
  if (targets && targets.shape[0] !== count) {
    throw new DataverError('SHAPE_MISMATCH', `${count} images but ${targets.shape[0]} targets`);
  }
  const zoom = options.zoom ?? 2;
  const cols = Math.max(1, options.cols ?? Math.ceil(Math.sqrt(n)));
  const rows = Math.max(1, Math.ceil(n / cols));
  const band = targets ? 14 : 0;
  const cellW = w * zoom + 4;
  const cellH = h * zoom + 4 + band;
  const png = new PNG({ width: cols * cellW, height: rows * cellH });
  png.data.fill(0);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  let lo = 0;
  let hi = 255;
  if (images.dtype !== 'uint8') {
    lo = Number.POSITIVE_INFINITY;
    hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n * h * w; i++) {
      const v = Number(images.data[i]);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(hi > lo)) hi = lo + 1;
  }
  for (let k = 0; k < n; k++) {
    const cx = (k % cols) * cellW + 2;
    const cy = Math.floor(k / cols) * cellH + 2;
    for (let y = 0; y < h * zoom; y++) {
      for (let x = 0; x < w * zoom; x++) {
        const v = Number(images.data[k * h * w + Math.floor(y / zoom) * w + Math.floor(x / zoom)]);
        const g = Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
        const i = ((cy + y) * png.width + cx + x) * 4;
        png.data[i] = g;
        png.data[i + 1] = g;
        png.data[i + 2] = g;
      }
    }
    if (targets) drawNumber(png, Number(targets.data[k]), cx + 1, cy + h * zoom + 2, 2);
  }
  return PNG.sync.write(png);
}

/**
 * Writes a PNG grid of the first `n` images of a tensor file.
 *
 * @example
 * await preview({ images: 'data/raw/train_images_0.pt', targets: 'data/raw/train_target_0.pt', out: 'grid.png' });
 */
export async function preview(options: PreviewOptions): Promise<{ out: string; count: number }> {
  const images = await readTensor(options.images);
  const targets = options.targets ? await readTensor(options.targets) : undefined;
  let png: Buffer;
  try {
    png = renderGrid(images, targets, options);
  } catch (error) {
    if (error instanceof DataverError && !error.file)
      throw new DataverError(error.code, error.message, { file: options.images });
    throw error;
  }
  if (path.extname(options.out).toLowerCase() !== '.png')
    throw new DataverError('USAGE', `--out must end in .png, got ${options.out}`);
  await writeFileAtomic(options.out, [png]);
  return { out: options.out, count: Math.min(options.n ?? 64, images.shape[0] ?? 0) };
}
