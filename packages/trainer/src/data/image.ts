// Turns an arbitrary PNG or JPEG (any size, colour or background) into an MNIST-like 28×28 digit: grey,
// ink bright on dark (inverted when the background is light), cropped, scaled to fit 20×20 and centred
// by centre of mass, as the original MNIST digits were prepared.

import * as fs from 'node:fs';
import { DataverError } from '@dataver/foundation';
import { type Normalization, PIXELS, SIDE } from './dataset.js';

/** Decoded RGBA pixels. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes PNG or JPEG bytes (recognized by their signature, not the file name).
 *
 * @example
 * ```ts
 * const img = await decodeImage(fs.readFileSync('digit.png'), 'digit.png');
 * ```
 */
export async function decodeImage(bytes: Uint8Array, name = 'image'): Promise<RgbaImage> {
  const isPng =
    bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  try {
    if (isPng) {
      const { PNG } = await import('pngjs');
      const png = PNG.sync.read(Buffer.from(bytes));
      return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
    }
    if (isJpeg) {
      const jpeg = await import('jpeg-js');
      const img = jpeg.decode(Buffer.from(bytes), {
        useTArray: true,
        formatAsRGBA: true,
        maxMemoryUsageInMB: 256,
      });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (error) {
    throw new DataverError('IMAGE_INVALID', `${name}: cannot decode image (${(error as Error).message})`, {
      cause: error,
    });
  }
  throw new DataverError('IMAGE_INVALID', `${name} is not a PNG or JPEG image`);
}

/**
 * Reads and decodes an image file.
 *
 * @example
 * ```ts
 * const img = await readImage('digit.jpg');
 * ```
 */
export async function readImage(file: string): Promise<RgbaImage> {
  if (!fs.existsSync(file)) throw new DataverError('DATA_MISSING', `${file} not found`);
  return decodeImage(fs.readFileSync(file), file);
}

/**
 * Converts a decoded image to MNIST layout: returns 784 ink intensities in [0,1] (1 = ink).
 *
 * @example
 * ```ts
 * const ink = toMnist(await readImage('digit.png'));
 * ```
 */
export function toMnist(img: RgbaImage, name = 'image'): Float32Array {
  const { width: w, height: h, data } = img;
  if (w === 0 || h === 0) throw new DataverError('IMAGE_INVALID', `${name} is empty`);
  // Luma over a white backdrop, so transparent regions count as background paper.
  const grey = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const a = data[i * 4 + 3]! / 255;
    const l = 0.299 * data[i * 4]! + 0.587 * data[i * 4 + 1]! + 0.114 * data[i * 4 + 2]!;
    grey[i] = l * a + 255 * (1 - a);
  }
  // Background = median of the border: light paper → invert so that ink is bright.
  const border: number[] = [];
  for (let x = 0; x < w; x++) border.push(grey[x]!, grey[(h - 1) * w + x]!);
  for (let y = 0; y < h; y++) border.push(grey[y * w]!, grey[y * w + w - 1]!);
  border.sort((a, b) => a - b);
  const bg = border[border.length >> 1]!;
  const invert = bg > 127;
  const ink = new Float32Array(w * h);
  let max = 0;
  for (let i = 0; i < w * h; i++) {
    const v = invert ? bg - grey[i]! : grey[i]! - bg;
    ink[i] = Math.max(v, 0);
    if (ink[i]! > max) max = ink[i]!;
  }
  if (max < 16) throw new DataverError('IMAGE_INVALID', `${name} holds no digit (blank image)`);
  for (let i = 0; i < w * h; i++) ink[i] = Math.min(1, ink[i]! / max);
  // Bounding box of clear ink.
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x]! > 0.2) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  // Fit the longer side into 20 pixels; box-filter when shrinking.
  const scale = 20 / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  const small = new Float32Array(tw * th);
  const ss = Math.min(8, Math.max(1, Math.ceil(1 / scale)));
  for (let ty = 0; ty < th; ty++) {
    for (let tx = 0; tx < tw; tx++) {
      let acc = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const fx = x0 + ((tx + (sx + 0.5) / ss) / tw) * bw - 0.5;
          const fy = y0 + ((ty + (sy + 0.5) / ss) / th) * bh - 0.5;
          acc += bilinear(ink, w, h, fx, fy);
        }
      }
      small[ty * tw + tx] = acc / (ss * ss);
    }
  }
  // Centre of mass to the middle of the 28×28 frame.
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = small[y * tw + x]!;
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  }
  const ox = Math.round(SIDE / 2 - (mass > 0 ? cx / mass : tw / 2) - 0.5);
  const oy = Math.round(SIDE / 2 - (mass > 0 ? cy / mass : th / 2) - 0.5);
  const out = new Float32Array(PIXELS);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const X = x + ox;
      const Y = y + oy;
      if (X >= 0 && Y >= 0 && X < SIDE && Y < SIDE) out[Y * SIDE + X] = small[y * tw + x]!;
    }
  }
  return out;
}

function bilinear(img: Float32Array, w: number, h: number, x: number, y: number): number {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  const fx = x - xi;
  const fy = y - yi;
  const at = (xx: number, yy: number) => (xx < 0 || yy < 0 || xx >= w || yy >= h ? 0 : img[yy * w + xx]!);
  return (
    (at(xi, yi) * (1 - fx) + at(xi + 1, yi) * fx) * (1 - fy) +
    (at(xi, yi + 1) * (1 - fx) + at(xi + 1, yi + 1) * fx) * fy
  );
}

/**
 * Normalizes ink intensities in [0,1] with a model's statistics.
 *
 * @example
 * ```ts
 * const x = normalizeInk(toMnist(img), manifest.normalization);
 * ```
 */
export function normalizeInk(ink: Float32Array, n: Normalization): Float32Array {
  const out = new Float32Array(ink.length);
  for (let i = 0; i < ink.length; i++) out[i] = (ink[i]! - n.mean) / n.std;
  return out;
}
