// Hand-made image bytes for serving tests: PNGs assembled chunk by chunk (so a header can claim any
// size), a JPEG whose frame header claims any size, and encoders for real digits.
import * as zlib from 'node:zlib';
import jpeg from 'jpeg-js';
import { loadMnist } from './mnist';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG whose IHDR says `width × height` (grey, 8 bit) over the given (possibly wrong) pixel rows. */
export function pngWithHeader(width: number, height: number, raw: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JPEG start whose SOF0 frame header claims `width × height`. */
export function jpegWithHeader(width: number, height: number): Buffer {
  const sof = Buffer.from([
    0xff,
    0xc0,
    0,
    11,
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    1,
    1,
    0x11,
    0,
  ]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof, Buffer.alloc(64)]);
}

/** An MNIST test digit as a JPEG, enlarged, dark ink on light paper. */
export function digitJpeg(index: number, zoom = 4): { jpeg: Buffer; label: number } {
  const d = loadMnist('test', index + 1);
  const size = 28 * zoom;
  const data = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = 255 - d.raw[index * 784 + Math.floor(y / zoom) * 28 + Math.floor(x / zoom)]!;
      data.fill(v, (y * size + x) * 4, (y * size + x) * 4 + 3);
      data[(y * size + x) * 4 + 3] = 255;
    }
  }
  return { jpeg: jpeg.encode({ width: size, height: size, data }, 95).data, label: d.labels[index]! };
}

/** A grey PNG of the given size: white paper with a dark vertical bar in the middle. */
export function barPng(width: number, height: number): Buffer {
  const raw = Buffer.alloc(height * (width + 1), 255);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0; // filter: none
    if (y >= height * 0.2 && y < height * 0.8)
      raw.fill(
        0,
        y * (width + 1) + 1 + Math.floor(width * 0.45),
        y * (width + 1) + 1 + Math.ceil(width * 0.55),
      );
  }
  return pngWithHeader(width, height, raw);
}
