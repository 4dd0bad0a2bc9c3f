// readTensorMeta: built-in .pt/.npy/.safetensors readers (streaming stats, endianness, chunk
// boundaries, one rule for NaN/Inf), plugin loading from the repository, and warnings instead
// of crashes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { round6, serializeNpy, serializePt, serializeSafetensors, type Tensor } from '@dataver/tensor';
import { clearMetaPluginCache, readTensorMeta } from '../../src/meta/index';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dv-meta-'));
  clearMetaPluginCache();
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function npy(
  descr: string,
  shape: number[],
  data: Uint8Array,
  opts: { pad?: number; fortran?: boolean; version?: 1 | 2 } = {},
): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const text = dict + ' '.repeat(opts.pad ?? 0) + '\n';
  const v = opts.version ?? 1;
  const pre = Buffer.alloc(v === 1 ? 10 : 12);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = v;
  if (v === 1) pre.writeUInt16LE(text.length, 8);
  else pre.writeUInt32LE(text.length, 8);
  return Buffer.concat([pre, Buffer.from(text, 'latin1'), data]);
}

function safetensors(
  entries: Record<string, { dtype: string; shape: number[]; data: Uint8Array }>,
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, e] of Object.entries(entries)) {
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.data.length] };
    parts.push(e.data);
    offset += e.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...parts]);
}

function exactStats(values: number[]): { mean: number; std: number; min: number; max: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return {
    mean: round6(mean),
    std: round6(std),
    min: round6(values.reduce((a, b) => Math.min(a, b))),
    max: round6(values.reduce((a, b) => Math.max(a, b))),
  };
}

const opts = (warnings: string[] = []) => ({
  repoRoot: dir,
  plugins: [] as string[],
  onWarning: (m: string) => warnings.push(m),
});

test('.npy float32: dtype, shape and one-pass statistics rounded to 6 digits', async () => {
  const values = Float32Array.from({ length: 600 }, (_, i) => Math.sin(i) * 3 + 1000);
  const file = path.join(dir, 'x.npy');
  fs.writeFileSync(file, npy('<f4', [20, 30], new Uint8Array(values.buffer)));
  const meta = await readTensorMeta(file, opts());
  expect(meta).toEqual({
    format: 'npy',
    tensors: [{ dtype: 'float32', shape: [20, 30], ...exactStats(Array.from(values)) }],
  });
});

test('.npy: elements split across 1 MiB read chunks, big-endian, int64, uint8, v2 header', async () => {
  // odd header length so 8-byte elements straddle chunk boundaries
  const n = 300_001;
  const be = Buffer.alloc(n * 8);
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = (i % 1000) - 500.25;
    values.push(v);
    be.writeDoubleBE(v, i * 8);
  }
  const f = path.join(dir, 'be.npy');
  fs.writeFileSync(f, npy('>f8', [n], be, { pad: 3 }));
  const meta = await readTensorMeta(f, opts());
  expect(meta?.tensors[0]).toEqual({ dtype: 'float64', shape: [n], ...exactStats(values) });

  const i64 = new BigInt64Array([-(2n ** 40n), 0n, 5n, 2n ** 41n]);
  const f2 = path.join(dir, 'i.npy');
  fs.writeFileSync(f2, npy('<i8', [4], new Uint8Array(i64.buffer), { version: 2, pad: 1 }));
  expect((await readTensorMeta(f2, opts()))?.tensors[0]).toEqual({
    dtype: 'int64',
    shape: [4],
    ...exactStats([-(2 ** 40), 0, 5, 2 ** 41]),
  });

  const f3 = path.join(dir, 'u.npy');
  fs.writeFileSync(f3, npy('|u1', [2, 2], new Uint8Array([0, 255, 10, 20])));
  expect((await readTensorMeta(f3, opts()))?.tensors[0]).toEqual({
    dtype: 'uint8',
    shape: [2, 2],
    ...exactStats([0, 255, 10, 20]),
  });
});

test('.npy with NaN: dtype and shape, no statistics; empty array: no statistics', async () => {
  const f = path.join(dir, 'nan.npy');
  fs.writeFileSync(f, npy('<f4', [2], new Uint8Array(new Float32Array([1, Number.NaN]).buffer)));
  expect((await readTensorMeta(f, opts()))?.tensors[0]).toEqual({ dtype: 'float32', shape: [2] });
  const e = path.join(dir, 'empty.npy');
  fs.writeFileSync(e, npy('<f4', [0, 28], new Uint8Array(0)));
  expect((await readTensorMeta(e, opts()))?.tensors[0]).toEqual({ dtype: 'float32', shape: [0, 28] });
});

test('.safetensors: every tensor, in data order, named; __metadata__ ignored; bf16', async () => {
  const f = path.join(dir, 'm.safetensors');
  const w = new Float32Array([0.5, -1.5, 2, 4]);
  const bf = Buffer.alloc(4);
  bf.writeUInt16LE(0x3f80, 0); // 1.0
  bf.writeUInt16LE(0xc000, 2); // -2.0
  fs.writeFileSync(
    f,
    safetensors(
      {
        weight: { dtype: 'F32', shape: [2, 2], data: new Uint8Array(w.buffer) },
        bias: { dtype: 'BF16', shape: [2], data: bf },
      },
      { format: 'pt' },
    ),
  );
  const meta = await readTensorMeta(f, opts());
  expect(meta).toEqual({
    format: 'safetensors',
    tensors: [
      { name: 'weight', dtype: 'float32', shape: [2, 2], ...exactStats([0.5, -1.5, 2, 4]) },
      { name: 'bias', dtype: 'bfloat16', shape: [2], ...exactStats([1, -2]) },
    ],
  });
});

test('unknown extensions give undefined silently; corrupt files give undefined and a warning naming the file', async () => {
  const warnings: string[] = [];
  const txt = path.join(dir, 'notes.txt');
  fs.writeFileSync(txt, 'hello');
  expect(await readTensorMeta(txt, opts(warnings))).toBeUndefined();
  expect(warnings).toEqual([]);

  const bad = path.join(dir, 'bad.npy');
  fs.writeFileSync(bad, npy('<f4', [1000], new Uint8Array(12)));
  expect(await readTensorMeta(bad, opts(warnings))).toBeUndefined();
  const garbage = path.join(dir, 'bad.safetensors');
  fs.writeFileSync(garbage, Buffer.from('\xff\xff\xff\xff\xff\xff\xff\x7fnot json', 'latin1'));
  expect(await readTensorMeta(garbage, opts(warnings))).toBeUndefined();
  const badJson = path.join(dir, 'bad2.safetensors');
  fs.writeFileSync(badJson, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a"')]));
  expect(await readTensorMeta(badJson, opts(warnings))).toBeUndefined();
  expect(await readTensorMeta(path.join(dir, 'missing.npy'), opts(warnings))).toBeUndefined();
  expect(warnings).toHaveLength(4);
  expect(warnings[0]).toContain(bad);
  expect(warnings[0]).toMatch(/truncated/);
  expect(warnings[1]).toContain(garbage);
});

describe('plugins', () => {
  function installPlugin(name: string, source: string): void {
    const pkg = path.join(dir, 'node_modules', name);
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name, version: '1.0.0', main: 'index.js' }),
    );
    fs.writeFileSync(path.join(pkg, 'index.js'), source);
  }

  test('a plugin resolved from the repository root adds a format', async () => {
    installPlugin(
      'fake-plugin',
      `exports.metaReaders = [{ name: 'fake', extensions: ['.FAKE'], read: async (p) => ({ format: 'fake', tensors: [{ dtype: 'uint8', shape: [require('fs').statSync(p).size] }] }) }];`,
    );
    const f = path.join(dir, 'a.fake');
    fs.writeFileSync(f, 'abc');
    const warnings: string[] = [];
    const meta = await readTensorMeta(f, {
      repoRoot: dir,
      plugins: ['fake-plugin'],
      onWarning: (m) => warnings.push(m),
    });
    expect(meta).toEqual({ format: 'fake', tensors: [{ dtype: 'uint8', shape: [3] }] });
    expect(warnings).toEqual([]);
  });

  test('missing or malformed plugins and throwing readers warn and return undefined', async () => {
    installPlugin('no-readers', 'exports.other = 1;');
    installPlugin(
      'throws',
      `exports.metaReaders = [{ name: 't', extensions: ['.h5'], read: async () => { throw new Error('boom'); } }];`,
    );
    installPlugin('crashes-on-load', `throw new Error('cannot load');`);
    const f = path.join(dir, 'x.h5');
    fs.writeFileSync(f, 'x');
    const warnings: string[] = [];
    const meta = await readTensorMeta(f, {
      repoRoot: dir,
      plugins: ['not-installed', 'no-readers', 'crashes-on-load', 'throws'],
      onWarning: (m) => warnings.push(m),
    });
    expect(meta).toBeUndefined();
    expect(warnings[0]).toMatch(/not-installed.*not found/);
    expect(warnings[1]).toMatch(/no-readers.*metaReaders/);
    expect(warnings[2]).toMatch(/cannot load/);
    expect(warnings[3]).toMatch(/x\.h5.*boom/);
  });

  test('a plugin naming a built-in extension is never asked: the built-in reader answers', async () => {
    installPlugin(
      'claims-pt',
      `exports.metaReaders = [{ name: 'p', extensions: ['.pt'], read: async () => ({ format: 'fake', tensors: [] }) }];`,
    );
    const f = path.join(dir, 'x.pt');
    fs.writeFileSync(f, serializePt({ dtype: 'uint8', shape: [2], data: new Uint8Array([1, 3]) }));
    const meta = await readTensorMeta(f, { repoRoot: dir, plugins: ['claims-pt'] });
    expect(meta).toEqual({
      format: 'pt',
      tensors: [{ dtype: 'uint8', shape: [2], mean: 2, std: 1, min: 1, max: 3 }],
    });
  });
});

describe('.pt (built in)', () => {
  test('dtype, shape and statistics of a lone tensor and of a dict of tensors', async () => {
    const f = path.join(dir, 'images.pt');
    fs.writeFileSync(
      f,
      serializePt({
        dtype: 'float32',
        shape: [2, 1, 2, 2],
        data: new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]),
      }),
    );
    const t = path.join(dir, 'both.pth');
    fs.writeFileSync(
      t,
      serializePt({
        x: { dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) },
        y: { dtype: 'int64', shape: [2], data: new BigInt64Array([4n, 6n]) },
      }),
    );
    const warnings: string[] = [];
    expect(await readTensorMeta(f, opts(warnings))).toEqual({
      format: 'pt',
      tensors: [{ dtype: 'float32', shape: [2, 1, 2, 2], mean: 3.5, std: 2.29129, min: 0, max: 7 }],
    });
    expect(await readTensorMeta(t, opts(warnings))).toEqual({
      format: 'pt',
      tensors: [
        { name: 'x', dtype: 'uint8', shape: [3], mean: 2, std: 0.816497, min: 1, max: 3 },
        { name: 'y', dtype: 'int64', shape: [2], mean: 5, std: 1, min: 4, max: 6 },
      ],
    });
    expect(warnings).toEqual([]);
  });

  test('a truncated or malicious .pt gives undefined and a warning naming the file, and runs nothing', async () => {
    const cut = path.join(dir, 'cut.pt');
    const bytes = serializePt({ dtype: 'uint8', shape: [100], data: new Uint8Array(100) });
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 30));
    // a legacy-format .pt whose first pickle calls os.system: refused by the unpickler's whitelist
    const evil = path.join(dir, 'evil.pt');
    const marker = path.join(dir, 'pwned');
    fs.writeFileSync(evil, Buffer.from(`\x80\x02cos\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1'));
    const warnings: string[] = [];
    expect(await readTensorMeta(cut, opts(warnings))).toBeUndefined();
    expect(await readTensorMeta(evil, opts(warnings))).toBeUndefined();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(cut);
    expect(warnings[1]).toContain(evil);
    expect(warnings[1]).toMatch(/os\.system.*refused/);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

test('the same tensor gives the same meta in .pt, .npy and .safetensors, NaN and Infinity included', async () => {
  const cases: Tensor[] = [
    {
      dtype: 'float32',
      shape: [3, 4],
      data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 100 + 7),
    },
    { dtype: 'float32', shape: [3], data: new Float32Array([1, Number.NaN, 2]) },
    { dtype: 'float64', shape: [2], data: new Float64Array([Number.NEGATIVE_INFINITY, 0]) },
    { dtype: 'int64', shape: [3], data: new BigInt64Array([-5n, 2n ** 40n, 9n]) },
    { dtype: 'float16', shape: [2], data: new Float32Array([0.5, Number.POSITIVE_INFINITY]) },
  ];
  for (const [k, t] of cases.entries()) {
    const files = {
      pt: path.join(dir, `s${k}.pt`),
      npy: path.join(dir, `s${k}.npy`),
      safetensors: path.join(dir, `s${k}.safetensors`),
    };
    fs.writeFileSync(files.pt, serializePt(t));
    fs.writeFileSync(files.npy, serializeNpy(t));
    fs.writeFileSync(files.safetensors, serializeSafetensors(t));
    const summaries = [];
    for (const [format, f] of Object.entries(files)) {
      const meta = await readTensorMeta(f, opts());
      expect(meta?.format).toBe(format);
      const { name: _name, ...summary } = meta?.tensors[0] ?? { dtype: 'missing', shape: [] };
      summaries.push(summary);
    }
    expect(summaries[1]).toEqual(summaries[0]);
    expect(summaries[2]).toEqual(summaries[0]);
    // JSON (the lock) holds exactly what was computed: no null from a NaN
    expect(JSON.parse(JSON.stringify(summaries[0]))).toEqual(summaries[0]);
    if (k > 0 && k !== 3) expect(Object.keys(summaries[0] ?? {}).sort()).toEqual(['dtype', 'shape']);
  }
});

test('mutated and random files never make readTensorMeta throw or hang', async () => {
  const fc = await import('fast-check');
  const valid = [
    { ext: 'npy', bytes: npy('<f4', [4, 3], new Uint8Array(new Float32Array(12).fill(0.5).buffer)) },
    {
      ext: 'safetensors',
      bytes: safetensors({
        a: { dtype: 'I64', shape: [2], data: new Uint8Array(16) },
        b: { dtype: 'U8', shape: [3], data: new Uint8Array(3) },
      }),
    },
  ];
  let k = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
      async (which, edits, cut) => {
        const { ext, bytes } = valid[which]!;
        const b = Buffer.from(bytes);
        for (const [at, v] of edits) b[at % b.length] = v;
        const f = path.join(dir, `f${k++}.${ext}`);
        fs.writeFileSync(f, cut % 3 === 0 ? b.subarray(0, cut % b.length) : b);
        const meta = await readTensorMeta(f, opts());
        if (meta) for (const t of meta.tensors) expect(Array.isArray(t.shape)).toBe(true);
        return true;
      },
    ),
    { numRuns: 300 },
  );
});
