// A PNG decoder that hands over the image row by row as RGBA: every colour type and bit depth,
// palettes, tRNS transparency and Adam7 interlacing. Its inflate output is capped at the size that IHDR
// declares, so a deflate bomb cannot allocate more than the (already checked) image needs.
import * as zlib from 'node:zlib';
import { imageError } from './image-probe.js';

/** Receives row `y` as RGBA bytes (width × 4); the array is only valid during the call. */
export type RowSink = (rgba: Uint8Array, y: number) => void;

interface Ihdr {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: number;
}

/** Samples per pixel of each PNG colour type (grey, RGB, palette, grey + alpha, RGBA). */
export const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** The bit depths that each colour type allows. */
export const DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
/** Adam7 passes: x start, y start, x step, y step. */
export const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

function rowBytes(width: number, ihdr: Ihdr): number {
  return Math.ceil((width * (CHANNELS[ihdr.colorType] ?? 1) * ihdr.depth) / 8);
}

function parseIhdr(data: Uint8Array, name: string): Ihdr {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ihdr = {
    width: view.getUint32(0),
    height: view.getUint32(4),
    depth: data[8] ?? 0,
    colorType: data[9] ?? 0,
    interlace: data[12] ?? 0,
  };
  if (!DEPTHS[ihdr.colorType]?.includes(ihdr.depth))
    throw imageError(
      'unsupported',
      `${name}: PNG colour type ${ihdr.colorType} with bit depth ${ihdr.depth} is not valid`,
    );
  if ((data[10] ?? 0) !== 0 || (data[11] ?? 0) !== 0 || ihdr.interlace > 1)
    throw imageError('unsupported', `${name}: unknown PNG compression, filter or interlace method`);
  return ihdr;
}

interface Chunks {
  ihdr: Ihdr;
  palette: Uint8Array | null;
  transparency: Uint8Array | null;
  compressed: Buffer;
}

function readChunks(bytes: Uint8Array, name: string): Chunks {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let ihdr: Ihdr | null = null;
  let palette: Uint8Array | null = null;
  let transparency: Uint8Array | null = null;
  const idat: Buffer[] = [];
  let at = 8;
  while (at + 12 <= buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const end = at + 8 + length;
    if (end + 4 > buf.length) throw imageError('corrupt', `${name}: truncated PNG (${type} chunk cut short)`);
    if (zlib.crc32(buf.subarray(at + 4, end)) !== buf.readUInt32BE(end))
      throw imageError('corrupt', `${name}: PNG ${type} chunk fails its CRC check`);
    const data = buf.subarray(at + 8, end);
    if (ihdr === null && type !== 'IHDR') throw imageError('corrupt', `${name}: PNG without IHDR chunk`);
    if (type === 'IHDR') ihdr = parseIhdr(data, name);
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') transparency = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at = end + 4;
  }
  if (ihdr === null) throw imageError('corrupt', `${name}: truncated PNG (no IHDR chunk)`);
  if (idat.length === 0) throw imageError('corrupt', `${name}: truncated PNG (no image data)`);
  if (ihdr.colorType === 3 && palette === null)
    throw imageError('corrupt', `${name}: palette PNG without a PLTE chunk`);
  return { ihdr, palette, transparency, compressed: idat.length === 1 ? idat[0]! : Buffer.concat(idat) };
}

/**
 * Adds the bytes at `from` to those at `to` (mod 256 each), `length` bytes, four at a time: the low seven
 * bits of each byte are added in one 32-bit addition that cannot carry into the next byte, and the top
 * bit is their exclusive or with that sum's. `from` may trail `to` by four bytes or more.
 */
function addBytes(data: Uint8Array, view: DataView, to: number, from: number, length: number): void {
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const a = view.getUint32(to + i, true);
    const b = view.getUint32(from + i, true);
    view.setUint32(to + i, (((a & 0x7f7f7f7f) + (b & 0x7f7f7f7f)) ^ ((a ^ b) & 0x80808080)) >>> 0, true);
  }
  for (; i < length; i++) data[to + i] = data[to + i]! + data[from + i]!;
}

/** Reverses the per-row filters of `rows` rows of `length` bytes starting at `start`, in place. */
function unfilter(data: Uint8Array, start: number, rows: number, length: number, bpp: number, name: string) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let prev = -1;
  for (let r = 0; r < rows; r++) {
    const f = data[start + r * (length + 1)];
    const s = start + r * (length + 1) + 1;
    if (f === 1) {
      // Each byte adds the one bpp before it, already unfiltered: four at a time only when bpp ≥ 4.
      if (bpp >= 4)
        for (let i = bpp; i < length; i += bpp)
          addBytes(data, view, s + i, s + i - bpp, Math.min(bpp, length - i));
      else for (let i = bpp; i < length; i++) data[s + i] = data[s + i]! + data[s + i - bpp]!;
    } else if (f === 2) {
      if (prev >= 0) addBytes(data, view, s, prev, length);
    } else if (f === 3) {
      for (let i = 0; i < length; i++) {
        const left = i >= bpp ? data[s + i - bpp]! : 0;
        const up = prev >= 0 ? data[prev + i]! : 0;
        data[s + i] = data[s + i]! + ((left + up) >> 1);
      }
    } else if (f === 4) {
      for (let i = 0; i < length; i++) {
        const a = i >= bpp ? data[s + i - bpp]! : 0;
        const b = prev >= 0 ? data[prev + i]! : 0;
        const c = i >= bpp && prev >= 0 ? data[prev + i - bpp]! : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        data[s + i] = data[s + i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
    } else if (f !== 0) {
      throw imageError('corrupt', `${name}: unknown PNG row filter ${f}`);
    }
    prev = s;
  }
}

/** Converts one unfiltered row (at `s`, `width` pixels) to RGBA; returns a view valid until the next call. */
type RowConverter = (data: Uint8Array, s: number, width: number) => Uint8Array;

function converter(chunks: Chunks, maxWidth: number): RowConverter {
  const { depth, colorType } = chunks.ihdr;
  const out = new Uint8Array(maxWidth * 4);
  const trns = chunks.transparency;
  const key = (i: number) => (trns && trns.length >= 2 * i + 2 ? (trns[2 * i]! << 8) | trns[2 * i + 1]! : -1);
  if (colorType === 6 && depth === 8) return (data, s, width) => data.subarray(s, s + width * 4);
  if (
    colorType === 6 ||
    colorType === 4 ||
    (colorType === 2 && depth === 16) ||
    (colorType === 0 && depth === 16)
  ) {
    const channels = CHANNELS[colorType] ?? 1;
    const step = depth / 8;
    // 16-bit samples to 8 bits with rounding (as libpng's png_set_scale_16 and pngjs do).
    const to8 = (v: number) => (step === 2 ? Math.floor((v * 255) / 65535 + 0.5) : v);
    const grey = key(0);
    const [kr, kg, kb] = [key(0), key(1), key(2)];
    return (data, s, width) => {
      for (let x = 0; x < width; x++) {
        const p = s + x * channels * step;
        const v = (c: number) => (step === 2 ? (data[p + 2 * c]! << 8) | data[p + 2 * c + 1]! : data[p + c]!);
        const o = x * 4;
        if (channels >= 3) {
          const [r, g, b] = [v(0), v(1), v(2)];
          out[o] = to8(r);
          out[o + 1] = to8(g);
          out[o + 2] = to8(b);
          out[o + 3] = channels === 4 ? to8(v(3)) : r === kr && g === kg && b === kb ? 0 : 255;
        } else {
          const g = v(0);
          out[o] = out[o + 1] = out[o + 2] = to8(g);
          out[o + 3] = channels === 2 ? to8(v(1)) : g === grey ? 0 : 255;
        }
      }
      return out.subarray(0, width * 4);
    };
  }
  if (colorType === 2) {
    const [kr, kg, kb] = [key(0), key(1), key(2)];
    return (data, s, width) => {
      for (let x = 0; x < width; x++) {
        const r = data[s + 3 * x]!;
        const g = data[s + 3 * x + 1]!;
        const b = data[s + 3 * x + 2]!;
        out[4 * x] = r;
        out[4 * x + 1] = g;
        out[4 * x + 2] = b;
        out[4 * x + 3] = r === kr && g === kg && b === kb ? 0 : 255;
      }
      return out.subarray(0, width * 4);
    };
  }
  // Grey or palette with 1, 2, 4 or 8 bits per sample.
  const mask = (1 << depth) - 1;
  const palette = chunks.palette;
  const grey = key(0);
  return (data, s, width) => {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const v = (data[s + (bit >> 3)]! >> (8 - depth - (bit & 7))) & mask;
      const o = x * 4;
      if (palette) {
        const inRange = 3 * v + 2 < palette.length;
        out[o] = inRange ? palette[3 * v]! : 0;
        out[o + 1] = inRange ? palette[3 * v + 1]! : 0;
        out[o + 2] = inRange ? palette[3 * v + 2]! : 0;
        out[o + 3] = trns && v < trns.length ? trns[v]! : 255;
      } else {
        out[o] = out[o + 1] = out[o + 2] = (v * 255) / mask;
        out[o + 3] = v === grey ? 0 : 255;
      }
    }
    return out.subarray(0, width * 4);
  };
}

function inflate(compressed: Buffer, expected: number, name: string): Buffer {
  let raw: Buffer;
  try {
    // One output chunk of the expected size: no concatenation of 16 KiB pieces afterwards.
    raw = zlib.inflateSync(compressed, {
      maxOutputLength: Math.max(1, expected),
      chunkSize: Math.max(64, expected),
    });
  } catch (error) {
    const why =
      error instanceof RangeError
        ? 'more image data than its size declares'
        : 'truncated or damaged image data';
    throw imageError('corrupt', `${name}: PNG with ${why}`, error);
  }
  if (raw.length < expected) throw imageError('corrupt', `${name}: truncated PNG (image data cut short)`);
  return raw;
}

/**
 * Decodes a PNG, calling `onRow` for every row top to bottom; returns its size. Call
 * `checkImageLimits` on the probed header first: this allocates what the header declares.
 *
 * @example
 * ```ts
 * const rows: Uint8Array[] = [];
 * decodePng(bytes, 'digit.png', (rgba) => rows.push(rgba.slice()));
 * ```
 */
export function decodePng(
  bytes: Uint8Array,
  name: string,
  onRow: RowSink,
): { width: number; height: number } {
  const chunks = readChunks(bytes, name);
  const { ihdr } = chunks;
  const { width, height } = ihdr;
  const bpp = Math.max(1, ((CHANNELS[ihdr.colorType] ?? 1) * ihdr.depth) >> 3);
  const convert = converter(chunks, width);
  if (ihdr.interlace === 0) {
    const length = rowBytes(width, ihdr);
    const raw = inflate(chunks.compressed, height * (length + 1), name);
    unfilter(raw, 0, height, length, bpp, name);
    for (let y = 0; y < height; y++) onRow(convert(raw, y * (length + 1) + 1, width), y);
    return { width, height };
  }
  const passes = ADAM7.map(([x0, y0, dx, dy]) => {
    const w = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const h = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    return { x0, y0, dx, dy, w, h, length: w > 0 && h > 0 ? rowBytes(w, ihdr) : 0 };
  });
  const expected = passes.reduce((n, p) => n + (p.length > 0 ? p.h * (p.length + 1) : 0), 0);
  const raw = inflate(chunks.compressed, expected, name);
  const image = new Uint8Array(width * height * 4);
  let start = 0;
  for (const p of passes) {
    if (p.length === 0) continue;
    unfilter(raw, start, p.h, p.length, bpp, name);
    for (let r = 0; r < p.h; r++) {
      const rgba = convert(raw, start + r * (p.length + 1) + 1, p.w);
      const y = p.y0 + r * p.dy;
      for (let i = 0; i < p.w; i++)
        image.set(rgba.subarray(4 * i, 4 * i + 4), 4 * (y * width + p.x0 + i * p.dx));
    }
    start += p.h * (p.length + 1);
  }
  for (let y = 0; y < height; y++) onRow(image.subarray(y * width * 4, (y + 1) * width * 4), y);
  return { width, height };
}
