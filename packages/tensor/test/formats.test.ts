// Round trips and error cases of the tensor codecs (.pt, .npy, .safetensors).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32, readZipEntries } from '../src/container/zip';
import {
  bfloat16ToFloat,
  DTYPES,
  type DType,
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  parseNpy,
  parsePt,
  parseSafetensors,
  readTensor,
  readTensorFile,
  serializeNpy,
  serializePt,
  serializeSafetensors,
  type Tensor,
  writeTensor,
} from '../src/index';
import { expectSameTensor, expectTensorError } from './helpers/expect';

const samples: Tensor[] = [
  { dtype: 'uint8', shape: [2, 3], data: new Uint8Array([0, 1, 2, 3, 254, 255]) },
  { dtype: 'int8', shape: [3], data: new Int8Array([-128, 0, 127]) },
  { dtype: 'int16', shape: [2], data: new Int16Array([-32768, 32767]) },
  { dtype: 'int32', shape: [2, 2], data: new Int32Array([-1, 0, 1, 2 ** 31 - 1]) },
  { dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]) },
  { dtype: 'float16', shape: [4], data: new Float32Array([0, -0.5, 65504, 2 ** -24]) },
  { dtype: 'float32', shape: [1, 1, 2], data: new Float32Array([Math.fround(0.1), -3e38]) },
  { dtype: 'float64', shape: [2], data: new Float64Array([Math.E, -1e-300]) },
  { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
  { dtype: 'uint16', shape: [2], data: new Uint16Array([0, 65535]) },
  { dtype: 'uint32', shape: [2], data: new Uint32Array([1, 2 ** 32 - 1]) },
  { dtype: 'uint64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
  { dtype: 'bfloat16', shape: [3], data: new Float32Array([1, -2.5, 2 ** -126]) },
  { dtype: 'float32', shape: [], data: new Float32Array([42]) },
  { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
];

describe.each(samples.map((t) => [`${t.dtype} [${t.shape.join(',')}]`, t] as const))('%s', (_name, t) => {
  const info = DTYPES[t.dtype];
  // torch 1.x has no storage class for uint16/32/64, numpy no bfloat16: those writers refuse
  if (info.torchStorage) test('.pt round trip', () => expectSameTensor(t, parsePt(serializePt(t)) as Tensor));
  if (info.numpy) test('.npy round trip', () => expectSameTensor(t, parseNpy(serializeNpy(t))));
  test('.safetensors round trip', () =>
    expectSameTensor(t, parseSafetensors(serializeSafetensors(t))[0]!.tensor));
});

test('a dtype a format cannot hold is refused before anything is written', async () => {
  const u16: Tensor = { dtype: 'uint16', shape: [1], data: new Uint16Array([1]) };
  const bf16: Tensor = { dtype: 'bfloat16', shape: [1], data: new Float32Array([1]) };
  expectTensorError(() => serializePt(u16), 'UNSUPPORTED_DTYPE', /torch has no storage class for uint16/);
  expectTensorError(() => serializeNpy(bf16), 'UNSUPPORTED_DTYPE', /numpy has no dtype bfloat16/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensor-refuse-'));
  try {
    await expect(writeTensor(path.join(dir, 'x.pt'), u16)).rejects.toMatchObject({
      code: 'UNSUPPORTED_DTYPE',
      file: path.join(dir, 'x.pt'),
    });
    expect(fs.readdirSync(dir)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('half and bfloat16 conversions: exact widening, round to nearest even, NaN and Infinity kept', () => {
  expect(halfToFloat(0x3c00)).toBe(1);
  expect(halfToFloat(0x0001)).toBe(2 ** -24);
  expect(halfToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
  expect(halfToFloat(0x7e00)).toBeNaN();
  expect(floatToHalf(65504)).toBe(0x7bff);
  expect(floatToHalf(65520)).toBe(0x7c00); // halfway to the next: rounds to even (Infinity)
  expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to the even mantissa
  expect(bfloat16ToFloat(0x3f80)).toBe(1);
  expect(bfloat16ToFloat(0xc020)).toBe(-2.5);
  expect(floatToBfloat16(1)).toBe(0x3f80);
  expect(floatToBfloat16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
  expect(floatToBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (up)
  expect(floatToBfloat16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // above the tie
  expect(floatToBfloat16(Number.NEGATIVE_INFINITY)).toBe(0xff80);
  expect(Number.isNaN(bfloat16ToFloat(floatToBfloat16(Number.NaN)))).toBe(true);
  expect(floatToBfloat16(3.4e38)).toBe(0x7f80); // past the largest bfloat16: Infinity
});

test('.pt: data records start on 64-byte boundaries and the archive is deterministic', () => {
  const t: Tensor = { dtype: 'float32', shape: [5], data: new Float32Array([1, 2, 3, 4, 5]) };
  const bytes = serializePt({ a: t, b: t });
  expect(Buffer.from(serializePt({ a: t, b: t })).equals(Buffer.from(bytes))).toBe(true);
  const entries = readZipEntries(bytes);
  expect(entries.map((e) => e.name)).toEqual([
    'archive/data.pkl',
    'archive/byteorder',
    'archive/data/0',
    'archive/data/1',
    'archive/version',
  ]);
  for (const e of entries) {
    const start =
      e.localHeaderOffset +
      30 +
      (bytes[e.localHeaderOffset + 26]! | (bytes[e.localHeaderOffset + 27]! << 8)) +
      (bytes[e.localHeaderOffset + 28]! | (bytes[e.localHeaderOffset + 29]! << 8));
    expect(start % 64).toBe(0);
  }
});

test('.pt containers: dicts and lists flatten to named tensors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensor-fmt-'));
  try {
    const f = path.join(dir, 'c.pt');
    await writeTensor(f, { w: samples[6]!, b: samples[7]! });
    const file = await readTensorFile(f);
    expect(file.format).toBe('pt');
    expect(file.tensors.map((t) => t.name)).toEqual(['w', 'b']);
    await expect(readTensor(f)).rejects.toThrow(/holds 2 tensors/);
    const l = path.join(dir, 'l.safetensors');
    await writeTensor(l, [samples[0]!, samples[4]!]);
    expect((await readTensorFile(l)).tensors.map((t) => t.name)).toEqual(['0', '1']);
    await expect(writeTensor(path.join(dir, 'x.npy'), [samples[0]!])).rejects.toThrow(/exactly one tensor/);
    await expect(writeTensor(path.join(dir, 'x.bin'), samples[0]!)).rejects.toThrow(
      /cannot tell the tensor format/,
    );
    // nothing half-written is left behind
    expect(fs.readdirSync(dir).sort()).toEqual(['c.pt', 'l.safetensors']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writers refuse tensors whose data does not match dtype or shape', () => {
  expectTensorError(
    () => serializePt({ dtype: 'uint8', shape: [3], data: new Uint8Array(2) }),
    'SHAPE_MISMATCH',
  );
  expectTensorError(
    () => serializeNpy({ dtype: 'int64', shape: [2], data: new Uint8Array(2) }),
    'UNSUPPORTED_DTYPE',
  );
  expectTensorError(
    () => serializeSafetensors({ dtype: 'complex64' as DType, shape: [1], data: new Float32Array(2) }),
    'UNSUPPORTED_DTYPE',
  );
  expectTensorError(
    () => serializePt({ dtype: 'float32', shape: [-1], data: new Float32Array(0) }),
    'CORRUPT',
  );
});

test('.npy: fortran order, big-endian and v2 headers; unsupported dtypes are clear errors', () => {
  const header = (dict: string, version = 1): Buffer => {
    const text = `${dict}\n`;
    const pre = Buffer.alloc(version === 1 ? 10 : 12);
    pre.write('\x93NUMPY', 0, 'latin1');
    pre[6] = version;
    if (version === 1) pre.writeUInt16LE(text.length, 8);
    else pre.writeUInt32LE(text.length, 8);
    return Buffer.concat([pre, Buffer.from(text, 'latin1')]);
  };
  // column-major 2x3 [[1,2,3],[4,5,6]] is stored 1 4 2 5 3 6
  const f = Buffer.concat([
    header("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }"),
    Buffer.from(new Int32Array([1, 4, 2, 5, 3, 6]).buffer),
  ]);
  expectSameTensor({ dtype: 'int32', shape: [2, 3], data: new Int32Array([1, 2, 3, 4, 5, 6]) }, parseNpy(f));
  const be = Buffer.alloc(8);
  be.writeDoubleBE(1.5);
  expectSameTensor(
    { dtype: 'float64', shape: [1], data: new Float64Array([1.5]) },
    parseNpy(Buffer.concat([header("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", 2), be])),
  );
  expectTensorError(
    () =>
      parseNpy(
        Buffer.concat([header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"), Buffer.alloc(8)]),
      ),
    'UNSUPPORTED_DTYPE',
    /c8/,
  );
  expectTensorError(
    () =>
      parseNpy(
        Buffer.concat([header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"), Buffer.alloc(8)]),
      ),
    'TRUNCATED',
    /8 bytes, shape needs 16/,
  );
  expectTensorError(() => parseNpy(Buffer.from('not npy at all')), 'CORRUPT', /magic/);
});

test('.safetensors: bad offsets, sizes and dtypes are clear errors', () => {
  const make = (header: unknown, data: Uint8Array): Buffer => {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, data]);
  };
  expectTensorError(
    () =>
      parseSafetensors(make({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4))),
    'TRUNCATED',
  );
  expectTensorError(
    () =>
      parseSafetensors(make({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8))),
    'CORRUPT',
    /spans 8 bytes, shape needs 12/,
  );
  expectTensorError(
    () =>
      parseSafetensors(make({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8))),
    'UNSUPPORTED_DTYPE',
  );
  expectTensorError(() => parseSafetensors(make({ a: 1 }, new Uint8Array(0))), 'CORRUPT');
  expectTensorError(() => parseSafetensors(Buffer.alloc(4)), 'TRUNCATED');
});

test('.pt: truncation, a flipped data byte (CRC) and non-torch zips are clear errors', () => {
  const good = serializePt({ dtype: 'float32', shape: [64], data: new Float32Array(64).fill(1) });
  expectTensorError(() => parsePt(good.subarray(0, good.length - 10)), 'TRUNCATED');
  expectTensorError(() => parsePt(good.subarray(0, 100)), 'TRUNCATED');
  const flipped = Buffer.from(good);
  const entries = readZipEntries(good);
  const data = entries.find((e) => e.name === 'archive/data/0')!;
  flipped[data.localHeaderOffset + 200] ^= 0xff;
  expectTensorError(() => parsePt(flipped), 'CORRUPT', /CRC-32/);
  expectTensorError(() => parsePt(Buffer.from('hello world')), 'CORRUPT', /not a PyTorch file/);
});

test('streaming writes are byte-identical to whole-tensor writes in every format', async () => {
  const { writeTensorStreaming } = await import('../src/file/stream');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensor-stream-'));
  try {
    const tensors: Tensor[] = [
      { dtype: 'float32', shape: [1000, 3], data: Float32Array.from({ length: 3000 }, (_, i) => i / 7) },
      { dtype: 'int64', shape: [77], data: BigInt64Array.from({ length: 77 }, (_, i) => BigInt(i - 30)) },
      { dtype: 'uint8', shape: [5, 1, 28, 28], data: Uint8Array.from({ length: 3920 }, (_, i) => i % 251) },
      { dtype: 'float64', shape: [0], data: new Float64Array(0) },
    ];
    for (const t of tensors) {
      for (const ext of ['pt', 'npy', 'safetensors']) {
        await writeTensor(path.join(dir, `a.${ext}`), t, { sync: false });
        await writeTensorStreaming(
          path.join(dir, `b.${ext}`),
          { dtype: t.dtype, shape: t.shape },
          (out, start) =>
            (out as Float32Array).set((t.data as Float32Array).subarray(start, start + out.length)),
          { chunkElements: 100, sync: false },
        );
        expect([
          t.dtype,
          ext,
          fs.readFileSync(path.join(dir, `a.${ext}`)).equals(fs.readFileSync(path.join(dir, `b.${ext}`))),
        ]).toEqual([t.dtype, ext, true]);
      }
    }
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('.pt: zip64 end records and big-endian archives read back', async () => {
  const { ptEntries, ptPickle } = await import('../src/format/pt');
  const { writeZipChunks } = await import('../src/container/zip');
  const t: Tensor = { dtype: 'float32', shape: [3], data: new Float32Array([1.5, -2, 1e-3]) };
  const plain = Buffer.from(serializePt(t));
  // rewrite the end record as zip64: placeholders in the classic record, real values in the zip64 one
  const eocd = plain.length - 22;
  const count = plain.readUInt16LE(eocd + 10);
  const cdSize = plain.readUInt32LE(eocd + 12);
  const cdOffset = plain.readUInt32LE(eocd + 16);
  const z64 = Buffer.alloc(56);
  z64.writeUInt32LE(0x06064b50, 0);
  z64.writeBigUInt64LE(44n, 4);
  z64.writeUInt16LE(45, 12);
  z64.writeUInt16LE(45, 14);
  z64.writeBigUInt64LE(BigInt(count), 24);
  z64.writeBigUInt64LE(BigInt(count), 32);
  z64.writeBigUInt64LE(BigInt(cdSize), 40);
  z64.writeBigUInt64LE(BigInt(cdOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(eocd), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.from(plain.subarray(eocd));
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  expectSameTensor(t, parsePt(Buffer.concat([plain.subarray(0, eocd), z64, locator, end])) as Tensor);

  // a big-endian machine's archive: byteorder 'big' and byte-swapped storage
  const be = Buffer.alloc(12);
  for (let i = 0; i < 3; i++) be.writeFloatBE((t.data as Float32Array)[i]!, i * 4);
  const entries = ptEntries(
    'archive',
    ptPickle(t, () => {}),
    [be],
  ).map((e) => (e.name.endsWith('byteorder') ? { ...e, data: Buffer.from('big') } : e));
  expectSameTensor(t, parsePt(Buffer.concat(writeZipChunks(entries))) as Tensor);
});

test('crc32 is the zip CRC-32', () => {
  expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  expect(crc32(Buffer.from('6789'), crc32(Buffer.from('12345')))).toBe(0xcbf43926);
});
