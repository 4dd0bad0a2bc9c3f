// The image header probe and the PNG decoder: random PNGs of every colour type, bit depth, row filter,
// palette and transparency, plain and Adam7-interlaced (the spec's tables from the decoder, the bytes
// made here), decode exactly as pngjs, the reference, decodes them; headers are
// read without decoding; corrupt and oversized files are refused with the right reason.
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { decodeImage, imageToInk } from '../src/data/image';
import { checkImageLimits, DEFAULT_IMAGE_LIMITS, imageProblem, probeImage } from '../src/data/image-probe';
import { ADAM7, CHANNELS, DEPTHS } from '../src/data/png';
import { digitPng } from './helpers/fixtures';
import { jpegWithHeader, pngWithHeader } from './helpers/images';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** Filters one row of bytes with filter `f` against the previous (unfiltered) row. */
function filterRow(f: number, row: Uint8Array, prev: Uint8Array | null, bpp: number): Buffer {
  const out = Buffer.alloc(row.length + 1);
  out[0] = f;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp]! : 0;
    const b = prev ? prev[i]! : 0;
    const c = prev && i >= bpp ? prev[i - bpp]! : 0;
    const p = a + b - c;
    const paeth =
      Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
        ? a
        : Math.abs(p - b) <= Math.abs(p - c)
          ? b
          : c;
    const predictor = [0, a, b, (a + b) >> 1, paeth][f]!;
    out[i + 1] = (row[i]! - predictor) & 255;
  }
  return out;
}

interface Spec {
  width: number;
  height: number;
  colorType: number;
  depth: number;
  interlace: number;
  samples: number[];
  filters: number[];
  palette: number[];
  transparency: number[] | null;
}

/** Packs samples (one per channel per pixel) of a w × h sub-image into filtered scanlines. */
function scanlines(
  spec: Spec,
  w: number,
  h: number,
  pick: (x: number, y: number) => number[],
  filterAt: number,
): Buffer[] {
  const channels = CHANNELS[spec.colorType]!;
  const bpp = Math.max(1, (channels * spec.depth) >> 3);
  const rowBytes = Math.ceil((w * channels * spec.depth) / 8);
  const out: Buffer[] = [];
  let prev: Uint8Array | null = null;
  for (let y = 0; y < h; y++) {
    const row = new Uint8Array(rowBytes);
    for (let x = 0; x < w; x++) {
      pick(x, y).forEach((v, c) => {
        const k = x * channels + c;
        if (spec.depth === 16) {
          row[2 * k] = v >> 8;
          row[2 * k + 1] = v & 255;
        } else if (spec.depth === 8) row[k] = v;
        else row[(k * spec.depth) >> 3]! |= v << (8 - spec.depth - ((k * spec.depth) & 7));
      });
    }
    out.push(filterRow(spec.filters[(filterAt + y) % spec.filters.length]!, row, prev, bpp));
    prev = row;
  }
  return out;
}

function encode(spec: Spec): Buffer {
  const channels = CHANNELS[spec.colorType]!;
  const at = (x: number, y: number) =>
    Array.from(
      { length: channels },
      (_, c) => spec.samples[((y * spec.width + x) * channels + c) % spec.samples.length]!,
    );
  const rows =
    spec.interlace === 0
      ? scanlines(spec, spec.width, spec.height, at, 0)
      : ADAM7.flatMap(([x0, y0, dx, dy], pass) => {
          const w = spec.width > x0! ? Math.ceil((spec.width - x0!) / dx!) : 0;
          const h = spec.height > y0! ? Math.ceil((spec.height - y0!) / dy!) : 0;
          return w && h ? scanlines(spec, w, h, (x, y) => at(x0! + x * dx!, y0! + y * dy!), pass) : [];
        });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(spec.width, 0);
  ihdr.writeUInt32BE(spec.height, 4);
  ihdr[8] = spec.depth;
  ihdr[9] = spec.colorType;
  ihdr[12] = spec.interlace;
  const chunks = [chunk('IHDR', ihdr)];
  if (spec.colorType === 3) chunks.push(chunk('PLTE', Buffer.from(spec.palette)));
  if (spec.transparency) chunks.push(chunk('tRNS', Buffer.from(spec.transparency)));
  chunks.push(chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))));
  chunks.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

const specs = fc
  .record({
    width: fc.integer({ min: 1, max: 19 }),
    height: fc.integer({ min: 1, max: 19 }),
    colorType: fc.constantFrom(0, 2, 3, 4, 6),
    depthIndex: fc.nat(),
    interlace: fc.constantFrom(0, 1),
    seed: fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
    filters: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 8 }),
    paletteSize: fc.integer({ min: 1, max: 16 }),
    withTransparency: fc.boolean(),
  })
  .map((r): Spec => {
    const depths = DEPTHS[r.colorType]!;
    const depth = depths[r.depthIndex % depths.length]!;
    // Palette indices must name an entry; other samples use the whole range of the depth.
    const max = r.colorType === 3 ? Math.min(r.paletteSize, 2 ** depth) - 1 : 2 ** depth - 1;
    const samples = r.seed.map((v) => v % (max + 1));
    const palette = Array.from({ length: 3 * (max + 1) }, (_, i) => (i * 67 + 13) % 256);
    let transparency: number[] | null = null;
    if (r.withTransparency && r.colorType === 3)
      transparency = Array.from({ length: max + 1 }, (_, i) => (i * 97) % 256);
    if (r.withTransparency && (r.colorType === 0 || r.colorType === 2)) {
      const key = samples[0]!;
      transparency = Array.from({ length: r.colorType === 0 ? 1 : 3 }, () => [key >> 8, key & 255]).flat();
    }
    return {
      width: r.width,
      height: r.height,
      colorType: r.colorType,
      depth,
      interlace: r.interlace,
      samples,
      filters: r.filters,
      palette,
      transparency,
    };
  });

test('random PNGs of every colour type, depth, filter, palette, tRNS and interlace decode as pngjs decodes them (the colour under alpha 0 aside)', async () => {
  await fc.assert(
    fc.asyncProperty(specs, async (spec) => {
      const bytes = encode(spec);
      const reference = PNG.sync.read(bytes);
      const ours = await decodeImage(bytes, 'random.png');
      expect([ours.width, ours.height]).toEqual([reference.width, reference.height]);
      // pngjs zeroes the colour of pixels that tRNS makes transparent; a colour under alpha 0 is moot.
      const visible = (d: Uint8Array) => Buffer.from(d.map((v, i) => (d[i - (i % 4) + 3] === 0 ? 0 : v)));
      expect(visible(ours.data).equals(visible(reference.data))).toBe(true);
    }),
    { numRuns: 400 },
  );
});

describe('the header probe', () => {
  test('reads PNG and JPEG sizes without decoding', () => {
    expect(probeImage(digitPng(0, { zoom: 2 }).png)).toEqual({ format: 'png', width: 76, height: 76 });
    expect(probeImage(jpegWithHeader(640, 480))).toEqual({ format: 'jpeg', width: 640, height: 480 });
  });

  test('refuses what is not an image, truncated headers and sizes over the limits, each with its reason', () => {
    const reason = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return imageProblem(error);
      }
      return null;
    };
    expect(reason(() => probeImage(Buffer.from('GIF89a')))).toBe('unsupported');
    expect(reason(() => probeImage(Buffer.alloc(0)))).toBe('corrupt');
    expect(reason(() => probeImage(digitPng(0).png.subarray(0, 30)))).toBe('corrupt');
    expect(reason(() => probeImage(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2])))).toBe('corrupt');
    const bomb = probeImage(pngWithHeader(10_000, 10_000, Buffer.alloc(10)));
    expect(reason(() => checkImageLimits(bomb, DEFAULT_IMAGE_LIMITS))).toBe('too_large');
    expect(
      reason(() => checkImageLimits({ format: 'png', width: 9000, height: 2 }, DEFAULT_IMAGE_LIMITS)),
    ).toBe('too_large');
    expect(
      reason(() => checkImageLimits({ format: 'png', width: 4096, height: 4096 }, DEFAULT_IMAGE_LIMITS)),
    ).toBeNull();
  });

  test('a deflate bomb and damaged chunks are refused, not decoded', () => {
    const reason = (bytes: Buffer) => {
      try {
        imageToInk(bytes, 'x.png');
      } catch (error) {
        return imageProblem(error);
      }
      return null;
    };
    expect(reason(pngWithHeader(8, 8, Buffer.alloc(10 * 2 ** 20)))).toBe('corrupt');
    const png = digitPng(0).png;
    const damaged = Buffer.from(png);
    damaged[40] = damaged[40]! ^ 0xff; // inside IDAT: its CRC no longer matches
    expect(reason(damaged)).toBe('corrupt');
    expect(reason(pngWithHeader(28, 28, Buffer.alloc(28 * 29)))).toBe('blank');
  });
});
