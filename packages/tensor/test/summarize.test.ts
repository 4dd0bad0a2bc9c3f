// Statistics: one accumulator and one NaN/Infinity rule, so a tensor's summary is the same
// whichever format holds it and whether it is streamed from a file or summed in memory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDataverError } from '@dataver/foundation';
import * as fc from 'fast-check';
import { readZipEntries } from '../src/container/zip';
import {
  DTYPES,
  parseTensorFile,
  round6,
  StatsAccumulator,
  serializeNpy,
  serializePt,
  serializeSafetensors,
  summarizeFile,
  summarizeTensor,
  type Tensor,
  type TensorFormat,
  type TensorSummary,
  writeTensor,
} from '../src/index';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 200);

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensor-stats-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const serializers: Record<TensorFormat, (t: Tensor) => Uint8Array> = {
  pt: serializePt,
  npy: serializeNpy,
  safetensors: serializeSafetensors,
};

/** The formats that can hold a dtype (torch has no uint16/32/64 storage, numpy no bfloat16). */
function formatsFor(t: Tensor): TensorFormat[] {
  const info = DTYPES[t.dtype];
  return (['pt', 'npy', 'safetensors'] as const).filter(
    (f) => (f !== 'pt' || info.torchStorage) && (f !== 'npy' || info.numpy),
  );
}

const withoutName = ({ name: _name, ...rest }: TensorSummary): TensorSummary => rest;

const wave = (n: number, scale: number, offset: number): number[] =>
  Array.from({ length: n }, (_, i) => Math.sin(i * 0.7) * scale + offset);

const CASES: Record<string, Tensor> = {
  float32: { dtype: 'float32', shape: [4, 5], data: Float32Array.from(wave(20, 3, 1000)) },
  'float32 NaN': { dtype: 'float32', shape: [3], data: new Float32Array([1, Number.NaN, 3]) },
  'float32 NaN first': { dtype: 'float32', shape: [2], data: new Float32Array([Number.NaN, 3]) },
  'float64 +Inf': { dtype: 'float64', shape: [2, 1], data: new Float64Array([2, Number.POSITIVE_INFINITY]) },
  'float64 -Inf': { dtype: 'float64', shape: [2], data: new Float64Array([Number.NEGATIVE_INFINITY, 2]) },
  'float64 overflowing squares': { dtype: 'float64', shape: [2], data: new Float64Array([1e300, -1e300]) },
  float64: { dtype: 'float64', shape: [3], data: new Float64Array([Math.PI, -1e-300, 2 ** 52]) },
  'float16 Inf': { dtype: 'float16', shape: [2], data: new Float32Array([0.5, Number.POSITIVE_INFINITY]) },
  float16: { dtype: 'float16', shape: [3], data: new Float32Array([0.5, -2, 65504]) },
  bfloat16: { dtype: 'bfloat16', shape: [3], data: new Float32Array([1.5, -2.25, 2 ** 100]) },
  'bfloat16 NaN': { dtype: 'bfloat16', shape: [2], data: new Float32Array([1, Number.NaN]) },
  int64: { dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 40n), 5n, 2n ** 41n]) },
  uint64: { dtype: 'uint64', shape: [2], data: new BigUint64Array([0n, 2n ** 63n]) },
  int32: { dtype: 'int32', shape: [2, 2], data: new Int32Array([-7, 2 ** 30, 0, 1]) },
  uint32: { dtype: 'uint32', shape: [2], data: new Uint32Array([0, 2 ** 32 - 1]) },
  int16: { dtype: 'int16', shape: [2], data: new Int16Array([-300, 300]) },
  uint16: { dtype: 'uint16', shape: [2], data: new Uint16Array([1, 65535]) },
  int8: { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) },
  uint8: { dtype: 'uint8', shape: [1, 2, 2], data: new Uint8Array([0, 255, 10, 20]) },
  bool: { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
  scalar: { dtype: 'float32', shape: [], data: new Float32Array([7]) },
  empty: { dtype: 'float32', shape: [0, 28], data: new Float32Array(0) },
};

describe.each(Object.entries(CASES))('%s', (_name, t) => {
  test('the same summary from every format that holds it, streamed or in memory', async () => {
    const expected = summarizeTensor(t);
    const formats = formatsFor(t);
    expect(formats.length).toBeGreaterThanOrEqual(2);
    for (const format of formats) {
      const file = path.join(dir, `${_name.replace(/\W/g, '_')}.${format}`);
      fs.writeFileSync(file, serializers[format](t));
      const got = await summarizeFile(file);
      expect([format, got.format, got.tensors.map(withoutName)]).toEqual([format, format, [expected]]);
    }
  });
});

test('the NaN rule: statistics are all there or all absent, and never null in JSON', () => {
  const finite = summarizeTensor(CASES['float32'] as Tensor);
  expect(Object.keys(finite).sort()).toEqual(['dtype', 'max', 'mean', 'min', 'shape', 'std']);
  for (const name of [
    'float32 NaN',
    'float32 NaN first',
    'float64 +Inf',
    'float64 -Inf',
    'float64 overflowing squares',
    'float16 Inf',
    'bfloat16 NaN',
    'empty',
  ]) {
    const s = summarizeTensor(CASES[name] as Tensor);
    expect([name, Object.keys(s).sort()]).toEqual([name, ['dtype', 'shape']]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  }
});

test('statistics are exact to 6 digits, also far from zero (shifted sums)', () => {
  const values = wave(1000, 0.001, 1e6);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  expect(summarizeTensor({ dtype: 'float64', shape: [n], data: Float64Array.from(values) })).toEqual({
    dtype: 'float64',
    shape: [n],
    mean: round6(mean),
    std: round6(std),
    min: round6(Math.min(...values)),
    max: round6(Math.max(...values)),
  });
});

test('raw bytes split anywhere, big-endian included, give the same result as the decoded data', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ noNaN: false }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.boolean(),
      (values, cuts, bigEndian) => {
        const data = Float64Array.from(values);
        const bytes = Buffer.from(new Uint8Array(data.buffer).slice());
        if (bigEndian) bytes.swap64();
        const acc = new StatsAccumulator('float64', bigEndian);
        const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
        let at = 0;
        for (const p of [...points, bytes.length]) {
          acc.pushBytes(bytes.subarray(at, p));
          at = p;
        }
        const whole = new StatsAccumulator('float64');
        whole.pushData(data);
        expect(acc.elements).toBe(values.length);
        expect(acc.result()).toEqual(whole.result());
      },
    ),
    { numRuns: RUNS },
  );
});

test('elements that straddle the 1 MiB read chunks are counted once', async () => {
  // a 3-byte tensor first puts the float64 data at an odd offset
  const n = 300_001;
  const big: Tensor = {
    dtype: 'float64',
    shape: [n],
    data: Float64Array.from({ length: n }, (_, i) => (i % 1000) - 500.25),
  };
  const pad: Tensor = { dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) };
  const file = path.join(dir, 'odd.safetensors');
  await writeTensor(file, { pad, big }, { sync: false });
  const got = await summarizeFile(file);
  expect(got.tensors).toEqual([summarizeTensor(pad, 'pad'), summarizeTensor(big, 'big')]);
});

test('files that are not streamed the usual way: strided .pt views, big-endian .npy, Fortran order, legacy .pt', async () => {
  const files = {
    'torch-zip-views.pt': fs.readFileSync(path.join(__dirname, 'fixtures', 'torch-zip-views.pt')),
    'legacy-views.pt': fs.readFileSync(path.join(__dirname, 'fixtures', 'legacy-views.pt')),
    'fortran.npy': npyFile("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", [1, 4, 2, 5, 3, 6]),
    'be.npy': npyFile("{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }", [1, -2, 3], true),
  };
  for (const [name, bytes] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    const parsed = parseTensorFile(bytes);
    const got = await summarizeFile(file);
    expect([name, got]).toEqual([
      name,
      {
        format: parsed.format,
        tensors: parsed.tensors.map(({ name, tensor }) => summarizeTensor(tensor, name || undefined)),
      },
    ]);
  }
  // C order, not file order: [[1,2,3],[4,5,6]]
  expect((await summarizeFile(path.join(dir, 'fortran.npy'))).tensors[0]).toMatchObject({ mean: 3.5 });
});

function npyFile(dict: string, values: number[], bigEndian = false): Buffer {
  const text = `${dict}\n`;
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(text.length, 8);
  const data = Buffer.from(new Int32Array(values).buffer);
  if (bigEndian) data.swap32();
  return Buffer.concat([pre, Buffer.from(text, 'latin1'), data]);
}

test('unknown formats, missing files and damaged data are DataverErrors naming the file', async () => {
  const txt = path.join(dir, 'notes.bin');
  fs.writeFileSync(txt, 'hello world, not a tensor');
  await expect(summarizeFile(txt)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
  await expect(summarizeFile(path.join(dir, 'missing.npy'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  const good = Buffer.from(
    serializePt({ dtype: 'float32', shape: [64], data: new Float32Array(64).fill(1) }),
  );
  const flipped = Buffer.from(good);
  const storage = readZipEntries(good).find((e) => e.name === 'archive/data/0');
  flipped[(storage?.localHeaderOffset ?? 0) + 200] ^= 0xff; // inside the storage record
  const f = path.join(dir, 'flipped.pt');
  fs.writeFileSync(f, flipped);
  await expect(summarizeFile(f)).rejects.toThrow(
    /flipped\.pt: zip entry archive\/data\/0 fails its CRC-32 check/,
  );
  const cut = path.join(dir, 'cut.npy');
  fs.writeFileSync(cut, serializeNpy(CASES['float32'] as Tensor).subarray(0, 100));
  await expect(summarizeFile(cut)).rejects.toMatchObject({ code: 'TRUNCATED', file: cut });
});

test('mutated files: a DataverError or a summary, and the same summary as parsing when both succeed', async () => {
  const valid: [string, Uint8Array][] = [
    ['pt', serializePt({ a: CASES['int64'] as Tensor, b: CASES['float32'] as Tensor })],
    ['npy', serializeNpy(CASES['float32'] as Tensor)],
    ['safetensors', serializeSafetensors({ x: CASES['uint8'] as Tensor, y: CASES['bfloat16'] as Tensor })],
    ['pt', fs.readFileSync(path.join(__dirname, 'fixtures', 'torch-zip-views.pt'))],
  ];
  let k = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: valid.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      async (which, edits, cut) => {
        const [ext, bytes] = valid[which] as [string, Uint8Array];
        let b = Buffer.from(bytes);
        for (const [at, v] of edits) b[at % b.length] = v;
        if (cut % 4 === 0) b = b.subarray(0, cut % b.length);
        const file = path.join(dir, `m${k++}.${ext}`);
        fs.writeFileSync(file, b);
        const outcome = async <T>(fn: () => T | Promise<T>): Promise<T | undefined> => {
          try {
            return await fn();
          } catch (error) {
            if (!isDataverError(error)) throw error;
            return undefined;
          }
        };
        const summary = await outcome(() => summarizeFile(file));
        const parsed = await outcome(() => parseTensorFile(b, ext as TensorFormat));
        if (summary && parsed) {
          expect(summary.tensors).toEqual(
            parsed.tensors.map(({ name, tensor }) => summarizeTensor(tensor, name || undefined)),
          );
        }
        fs.rmSync(file);
      },
    ),
    { numRuns: RUNS },
  );
});
