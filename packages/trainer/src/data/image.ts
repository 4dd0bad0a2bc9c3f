// Turns an arbitrary PNG or JPEG (any size, colour or background) into an MNIST-like 28×28 digit: grey,
// ink bright on dark (inverted when the background is light), cropped, scaled to fit 20×20 and centred
// by centre of mass, as the original MNIST digits were prepared. Size limits apply before decoding.

import * as fs from 'node:fs';
import { DataverError } from '@dataver/foundation';
import jpeg from 'jpeg-js';
import { type Normalization, PIXELS, SIDE } from './dataset.js';
import {
  checkImageLimits,
  DEFAULT_IMAGE_LIMITS,
  type ImageLimits,
  imageError,
  probeImage,
} from './image-probe.js';
import { decodePng } from './png.js';

/** Decoded RGBA pixels. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Luma composited over white paper, 0–255, one value per pixel. */
export interface GreyImage {
  width: number;
  height: number;
  grey: Float32Array;
}

/**
 * Probes and size-checks an image, makes its target with `create(width, height)`, and hands each
 * decoded RGBA row to `onRow`.
 */
function decodeInto<T>(
  bytes: Uint8Array,
  name: string,
  limits: ImageLimits,
  create: (width: number, height: number) => T,
  onRow: (target: T, rgba: Uint8Array, y: number) => void,
): T {
  const header = probeImage(bytes, name);
  checkImageLimits(header, limits, name);
  const target = create(header.width, header.height);
  if (header.format === 'png') {
    decodePng(bytes, name, (rgba, y) => onRow(target, rgba, y));
    return target;
  }
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: limits.maxPixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((limits.maxPixels * 12) / 2 ** 20) + 64,
    });
  } catch (error) {
    throw imageError('corrupt', `${name}: cannot decode JPEG (${(error as Error).message})`, error);
  }
  if (img.width !== header.width || img.height !== header.height)
    throw imageError('corrupt', `${name}: JPEG frame size differs from its header`);
  const stride = img.width * 4;
  for (let y = 0; y < img.height; y++) onRow(target, img.data.subarray(y * stride, (y + 1) * stride), y);
  return target;
}

/**
 * Decodes PNG or JPEG bytes (recognized by their signature, not the file name) to RGBA, after
 * checking the declared size against `limits`.
 *
 * @example
 * ```ts
 * const img = await decodeImage(fs.readFileSync('digit.png'), 'digit.png');
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  name = 'image',
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Promise<RgbaImage> {
  return decodeInto(
    bytes,
    name,
    limits,
    (width, height): RgbaImage => ({ width, height, data: new Uint8Array(width * height * 4) }),
    (image, rgba, y) => image.data.set(rgba, y * image.width * 4),
  );
}

/** Luma of one RGBA pixel over white paper: transparent regions count as background. */
function greyRow(rgba: Uint8Array, out: Float32Array, at: number, width: number): void {
  for (let x = 0, i = 0; x < width; x++, i += 4) {
    const alpha = rgba[i + 3]!;
    const l = 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
    // Opaque pixels (nearly all): l·1 + 255·0 is exactly l.
    if (alpha === 255) {
      out[at + x] = l;
    } else {
      const a = alpha / 255;
      out[at + x] = l * a + 255 * (1 - a);
    }
  }
}

/**
 * Decodes PNG or JPEG bytes straight to grey (no RGBA copy of the whole image), after checking
 * the declared size against `limits`.
 *
 * @example
 * ```ts
 * const { width, height, grey } = decodeGrey(bytes, 'upload', DEFAULT_IMAGE_LIMITS);
 * ```
 */
export function decodeGrey(bytes: Uint8Array, name: string, limits: ImageLimits): GreyImage {
  return decodeInto(
    bytes,
    name,
    limits,
    (width, height): GreyImage => ({ width, height, grey: new Float32Array(width * height) }),
    (image, rgba, y) => greyRow(rgba, image.grey, y * image.width, image.width),
  );
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
  return decodeImage(readImageFile(file), file);
}

/**
 * The bytes of an image file, or a DATA_MISSING error naming it.
 *
 * @example
 * ```ts
 * const ink = imageToInk(readImageFile('digit.png'), 'digit.png');
 * ```
 */
export function readImageFile(file: string): Buffer {
  if (!fs.existsSync(file)) throw new DataverError('DATA_MISSING', `${file} not found`);
  return fs.readFileSync(file);
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
  const grey = new Float32Array(img.width * img.height);
  for (let y = 0; y < img.height; y++)
    greyRow(img.data.subarray(y * img.width * 4), grey, y * img.width, img.width);
  return greyToMnist({ width: img.width, height: img.height, grey }, name);
}

/**
 * The whole preprocessing of one image file's bytes: probe, limits, decode, MNIST layout.
 *
 * @example
 * ```ts
 * const ink = imageToInk(fs.readFileSync('seven.png'), 'seven.png');
 * ```
 */
export function imageToInk(
  bytes: Uint8Array,
  name = 'image',
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Float32Array {
  return greyToMnist(decodeGrey(bytes, name, limits), name);
}

/** Median of the border pixels: the paper's shade. */
function borderMedian(grey: Float32Array, w: number, h: number): number {
  const border = new Float32Array(2 * w + 2 * h);
  let n = 0;
  for (let x = 0; x < w; x++) {
    border[n++] = grey[x]!;
    border[n++] = grey[(h - 1) * w + x]!;
  }
  for (let y = 0; y < h; y++) {
    border[n++] = grey[y * w]!;
    border[n++] = grey[y * w + w - 1]!;
  }
  border.sort();
  return border[border.length >> 1]!;
}

/**
 * Converts a grey image to MNIST layout: 784 ink intensities in [0,1] (1 = ink).
 *
 * @example
 * ```ts
 * const ink = greyToMnist(decodeGrey(bytes, 'upload', DEFAULT_IMAGE_LIMITS), 'upload');
 * ```
 */
export function greyToMnist(img: GreyImage, name = 'image'): Float32Array {
  const { width: w, height: h, grey } = img;
  if (w === 0 || h === 0) throw imageError('corrupt', `${name} is empty`);
  // Light paper → invert so that ink is bright.
  const bg = borderMedian(grey, w, h);
  const invert = bg > 127;
  // The brightest ink is the darkest (or lightest) pixel against the paper, rounded like a stored value.
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < w * h; i++) {
    const g = grey[i]!;
    if (g < lo) lo = g;
    if (g > hi) hi = g;
  }
  const max = Math.fround(Math.max(invert ? bg - lo : hi - bg, 0));
  if (max < 16) throw imageError('blank', `${name} holds no digit (blank image)`);
  // Ink scaled to [0,1] and the bounding box of clear ink, in one pass.
  const ink = new Float32Array(w * h);
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  const sign = invert ? -1 : 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Paper (no ink) is most of a drawing: its ink stays 0, as the array was made.
      const d = sign * (grey[y * w + x]! - bg);
      if (d <= 0) continue;
      const v = Math.fround(Math.min(1, Math.fround(d) / max));
      ink[y * w + x] = v;
      if (v > 0.2) {
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
  return centreByMass(small, tw, th);
}

/** Places a small image into the 28×28 frame with its centre of mass in the middle. */
function centreByMass(small: Float32Array, tw: number, th: number): Float32Array {
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
  // Outside the image counts as 0 (no ink).
  const inX0 = xi >= 0 && xi < w;
  const inX1 = xi + 1 >= 0 && xi + 1 < w;
  const row0 = yi >= 0 && yi < h ? yi * w : -1;
  const row1 = yi + 1 >= 0 && yi + 1 < h ? (yi + 1) * w : -1;
  const a = row0 >= 0 && inX0 ? img[row0 + xi]! : 0;
  const b = row0 >= 0 && inX1 ? img[row0 + xi + 1]! : 0;
  const c = row1 >= 0 && inX0 ? img[row1 + xi]! : 0;
  const d = row1 >= 0 && inX1 ? img[row1 + xi + 1]! : 0;
  return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
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
