// PyTorch interop (Debian python3-torch): .pt files we write load in torch.load(weights_only=True),
// and whatever torch.save writes (views, offsets, shared or deflated storages, legacy) reads back exactly.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTensorFile, summarizeFile, summarizeTensor, type Tensor, writeTensor } from '../src/index';
import { requireTorch, runTorchHelper } from './helpers/torch';

interface Described {
  dtype: string;
  shape: number[];
  values: number[];
}

function values(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

let dir: string;
beforeAll(() => {
  requireTorch();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensor-interop-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('.pt files we write load in torch.load(weights_only=True)', () => {
  const cases: Record<string, Tensor> = {
    u8: { dtype: 'uint8', shape: [2, 3], data: new Uint8Array([0, 1, 2, 253, 254, 255]) },
    i64: { dtype: 'int64', shape: [4], data: new BigInt64Array([0n, -1n, 9n, 2n ** 40n]) },
    f32: { dtype: 'float32', shape: [1, 2, 2], data: new Float32Array([0.5, -1.25, 3e-8, 1e6]) },
    f64: { dtype: 'float64', shape: [2], data: new Float64Array([Math.PI, -0.1]) },
    i32: { dtype: 'int32', shape: [2, 1], data: new Int32Array([-7, 2 ** 30]) },
    i16: { dtype: 'int16', shape: [2], data: new Int16Array([-300, 300]) },
    i8: { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) },
    f16: { dtype: 'float16', shape: [3], data: new Float32Array([0.5, -2, 65504]) },
    bf16: { dtype: 'bfloat16', shape: [3], data: new Float32Array([1.5, -2.25, 2 ** 100]) },
    bool: { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
    scalar: { dtype: 'float32', shape: [], data: new Float32Array([7]) },
    empty: { dtype: 'float32', shape: [0, 28, 28], data: new Float32Array(0) },
    big: { dtype: 'float32', shape: [70000], data: Float32Array.from({ length: 70000 }, (_, i) => i / 3) },
  };

  test('dtype, shape and values survive', async () => {
    for (const [name, t] of Object.entries(cases)) await writeTensor(path.join(dir, `${name}.pt`), t);
    await writeTensor(path.join(dir, 'dict.pt'), { images: cases['u8']!, targets: cases['i64']! });
    await writeTensor(path.join(dir, 'list.pt'), [cases['f32']!, cases['i32']!]);
    const loaded = JSON.parse(runTorchHelper('load', dir)) as Record<
      string,
      Record<string, Described> & { error?: string }
    >;
    for (const [name, t] of Object.entries(cases)) {
      const got = loaded[`${name}.pt`]!;
      expect(got.error).toBeUndefined();
      expect(got['']!.dtype).toBe(t.dtype);
      expect(got['']!.shape).toEqual(t.shape);
      expect(got['']!.values).toEqual(values(t));
    }
    expect(Object.keys(loaded['dict.pt']!)).toEqual(['images', 'targets']);
    expect(loaded['dict.pt']!['targets']!.values).toEqual([0, -1, 9, 2 ** 40]);
    expect(loaded['list.pt']!['1']!.dtype).toBe('int32');
  });
});

describe('.pt files torch.save writes read back exactly', () => {
  test('contiguous, sliced, permuted, offset, shared, containers and legacy format', async () => {
    const saveDir = path.join(dir, 'saved');
    fs.mkdirSync(saveDir);
    runTorchHelper('save', saveDir);
    const expected = JSON.parse(fs.readFileSync(path.join(saveDir, 'expected.json'), 'utf8')) as Record<
      string,
      Record<string, Described>
    >;
    expect(Object.keys(expected).length).toBeGreaterThan(15);
    for (const [file, tensors] of Object.entries(expected)) {
      const got = await readTensorFile(path.join(saveDir, file));
      expect(got.tensors.map((t) => t.name)).toEqual(Object.keys(tensors));
      for (const { name, tensor } of got.tensors) {
        const want = tensors[name]!;
        expect([file, name, tensor.dtype]).toEqual([file, name, want.dtype]);
        expect(tensor.shape).toEqual(want.shape);
        expect(values(tensor)).toEqual(want.values);
      }
      // streamed statistics (strided views, offsets, shared and deflated storages, legacy files)
      // equal those of the tensors read whole
      expect([file, (await summarizeFile(path.join(saveDir, file))).tensors]).toEqual([
        file,
        got.tensors.map(({ name, tensor }) => summarizeTensor(tensor, name || undefined)),
      ]);
    }
  });
});
