// Reads an image's format and size from its first bytes (PNG IHDR, JPEG SOF) without decoding it, so
// that limits on dimensions and decoded pixels are enforced before any pixel memory is allocated.
import { DataverError } from '@dataver/foundation';

/** The image formats that are decoded. */
export type ImageFormat = 'png' | 'jpeg';

/** What the header of an image declares. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/** Why an image was refused; the HTTP layer maps each to a status. */
export type ImageProblem = 'unsupported' | 'corrupt' | 'too_large' | 'blank' | 'timeout';

/** Bounds on what is decoded. */
export interface ImageLimits {
  /** Largest width or height in pixels. */
  maxDimension: number;
  /** Largest width × height. */
  maxPixels: number;
}

/** The defaults: a 16-megapixel photo passes, a 10 000 × 10 000 "bomb" does not. */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxDimension: 8192, maxPixels: 4096 * 4096 };

/**
 * An IMAGE_INVALID error whose `data.reason` says which problem it is.
 *
 * @example
 * ```ts
 * throw imageError('corrupt', 'digit.png: truncated image data');
 * ```
 */
export function imageError(reason: ImageProblem, message: string, cause?: unknown): DataverError {
  return new DataverError('IMAGE_INVALID', message, { data: { reason }, cause });
}

/**
 * The problem recorded in an error made by {@link imageError}, or null for any other error.
 *
 * @example
 * ```ts
 * imageProblem(imageError('blank', 'x')); // 'blank'
 * ```
 */
export function imageProblem(error: unknown): ImageProblem | null {
  if (!(error instanceof DataverError) || error.code !== 'IMAGE_INVALID') return null;
  const reason = error.data?.['reason'];
  return reason === 'unsupported' ||
    reason === 'corrupt' ||
    reason === 'too_large' ||
    reason === 'blank' ||
    reason === 'timeout'
    ? reason
    : 'corrupt';
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * True when the bytes start like a PNG or a JPEG.
 *
 * @example
 * ```ts
 * sniffFormat(fs.readFileSync('digit.png')); // 'png'
 * ```
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function u16(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
}

function u32(b: Uint8Array, at: number): number {
  return (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;
}

function pngHeader(bytes: Uint8Array, name: string): ImageHeader {
  // Signature (8), then the IHDR chunk: length 13, type, width, height.
  if (bytes.length < 33) throw imageError('corrupt', `${name}: truncated PNG (no complete IHDR chunk)`);
  const type = String.fromCharCode(bytes[12] ?? 0, bytes[13] ?? 0, bytes[14] ?? 0, bytes[15] ?? 0);
  if (type !== 'IHDR' || u32(bytes, 8) !== 13)
    throw imageError('corrupt', `${name}: PNG does not start with an IHDR chunk`);
  return { format: 'png', width: u32(bytes, 16), height: u32(bytes, 20) };
}

// SOF markers C0–CF carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegHeader(bytes: Uint8Array, name: string): ImageHeader {
  let at = 2;
  // Each step moves forward by at least two bytes, so the scan is linear in the size.
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw imageError('corrupt', `${name}: JPEG marker expected at byte ${at}`);
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    const length = u16(bytes, at + 2);
    if (length < 2) throw imageError('corrupt', `${name}: JPEG segment of length ${length}`);
    if (isStartOfFrame(marker)) {
      if (at + 9 > bytes.length) break;
      const height = u16(bytes, at + 5);
      const width = u16(bytes, at + 7);
      if (height === 0)
        throw imageError('unsupported', `${name}: JPEG whose height is defined later (DNL) is not supported`);
      return { format: 'jpeg', width, height };
    }
    if (marker === 0xda || marker === 0xd9)
      throw imageError('corrupt', `${name}: JPEG has no frame header before its image data`);
    at += 2 + length;
  }
  throw imageError('corrupt', `${name}: truncated JPEG (no frame header)`);
}

/**
 * Reads the format and declared size of a PNG or JPEG from its header, decoding nothing.
 *
 * @example
 * ```ts
 * probeImage(bytes, 'upload'); // { format: 'png', width: 28, height: 28 }
 * ```
 */
export function probeImage(bytes: Uint8Array, name = 'image'): ImageHeader {
  const format = sniffFormat(bytes);
  if (format === null) {
    if (bytes.length === 0) throw imageError('corrupt', `${name} is empty`);
    throw imageError('unsupported', `${name} is not a PNG or JPEG image`);
  }
  const header = format === 'png' ? pngHeader(bytes, name) : jpegHeader(bytes, name);
  if (header.width === 0 || header.height === 0)
    throw imageError('corrupt', `${name}: image of ${header.width} × ${header.height} pixels`);
  return header;
}

/**
 * Refuses an image whose declared size exceeds the limits, before anything is decoded.
 *
 * @example
 * ```ts
 * checkImageLimits(probeImage(bytes), DEFAULT_IMAGE_LIMITS, 'upload');
 * ```
 */
export function checkImageLimits(header: ImageHeader, limits: ImageLimits, name = 'image'): void {
  const { width, height } = header;
  if (width > limits.maxDimension || height > limits.maxDimension || width * height > limits.maxPixels) {
    throw imageError(
      'too_large',
      `${name}: ${width} × ${height} pixels is over the limit (at most ${limits.maxDimension} per side and ${limits.maxPixels} pixels)`,
    );
  }
}
