// End to end through the built CLI: generate is bit-identical across runs and equal to the
// committed hashes; process gives mean 0 / std 1 on train; the course's data checks hold.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTensor } from '@dataver/tensor';
// the PyTorch helpers live with the tensor formats' interop tests
import { requireTorch, runPython } from '../../tensor/test/helpers/torch';
import { cli, hashDir } from './helpers/cli';

// Committed digests of `generate --seed 0` (defaults: 30 000 train, 5 000 test) and of `process`.
// A change here changes the data set: bump it on purpose, with a note in docs/corrupt-mnist.md.
const RAW_SEED0: Record<string, string> = {
  'test_images.pt': '7a567e7038bc702107b02c6bd5bd8cbcebc5136c7992cbe832fae8e3d9946918',
  'test_target.pt': '7465bf1f7425d31c47fed5fab1d68f579c88c1750fb93846981ef72fae24f5aa',
  'train_images_0.pt': '1dfd5a9c3a76a58e2f96f972c150a71b637a0a780e325edc48224c4ada9d18c3',
  'train_images_1.pt': 'c5f56235bd17a7a80643bbae41e046a426bb5390fc1b61784b70a97d5a035658',
  'train_images_2.pt': 'db5ca5fbeca2413899796455842d8831efdad7af396bd0a7afecf752f305cbdc',
  'train_images_3.pt': 'a76ef42711ab49c994535ea2e205255bf75d8fb4d62cea6f6563ec6ebb4d46ae',
  'train_images_4.pt': 'ed2f4302cba4dde927c6ab03062fc74665045f027ff94d3e1a15e2a2f2a7012f',
  'train_images_5.pt': '5dc32cef47f13d4f924fcaba9320f9c8287b5df7dac3acfa03d76e1f3564a7d1',
  'train_target_0.pt': 'fdc5dae7385f9e24b74d35d9516a764f2efa77cedfe23c2efde83e061c5d20dc',
  'train_target_1.pt': 'e2442d14562335f129505e23ff1c46cad06f934fe8a0cb89368029e2c480e37e',
  'train_target_2.pt': '8fa70cf2e364070f64a25a46e669e45987f13909a612c080e20bfd9849f7d18b',
  'train_target_3.pt': '541ece1494d9417cc1cc2dff33e0aac4332fbabaa0bf72430853fe750d6a7791',
  'train_target_4.pt': '94f1be1d96412d80ca2016761acdcd0e9ea69908f5f538bc8d03b29a5cd73980',
  'train_target_5.pt': '0490fd4d1fbf241206e802d6caa3b771a58a48494ac1122eb5b3d4a6c03c02ba',
};
const PROCESSED_SEED0: Record<string, string> = {
  'stats.json': 'f602318af628c61672ab132799d28c87a1fb210a997f4dc9874ed2539f53007d',
  'test_images.pt': '4a0fb43de41da7aa8e706b4618464aeaa5d46b5607db8fa6541d1318a6ad9313',
  'test_target.pt': '7465bf1f7425d31c47fed5fab1d68f579c88c1750fb93846981ef72fae24f5aa',
  'train_images.pt': '352389c3856cd5e8c93b3e0c6f726740792471e0c4419745a676d20b96cd24d6',
  'train_target.pt': '3185545194ecbe69e309590593132ed4da2233e004d985560aa93e7bfa0f870b',
};

let tmp: string;
const raw = (): string => path.join(tmp, 'raw');
const processed = (): string => path.join(tmp, 'processed');

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-e2e-'));
  const g = cli(['generate', '--out', raw(), '--seed', '0', '--json']);
  expect(g.stderr).toBe('');
  expect(g.status).toBe(0);
  const p = cli(['process', '--in', raw(), '--out', processed(), '--json']);
  expect(p.stderr).toBe('');
  expect(p.status).toBe(0);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('generate: committed hashes, and a second run is bit-identical', () => {
  expect(hashDir(raw())).toEqual(RAW_SEED0);
  const again = path.join(tmp, 'raw2');
  expect(cli(['generate', '--out', again, '--seed', '0']).status).toBe(0);
  expect(hashDir(again)).toEqual(RAW_SEED0);
});

test('generate: another seed gives other data; a small run shards by --shard-size', () => {
  const other = path.join(tmp, 'raw-seed7');
  const r = cli([
    'generate',
    '--out',
    other,
    '--seed',
    '7',
    '--train',
    '1200',
    '--test',
    '300',
    '--shard-size',
    '500',
    '--json',
  ]);
  expect(r.status).toBe(0);
  const result = JSON.parse(r.stdout) as { files: string[] };
  expect(result.files).toEqual([
    'train_images_0.pt',
    'train_target_0.pt',
    'train_images_1.pt',
    'train_target_1.pt',
    'train_images_2.pt',
    'train_target_2.pt',
    'test_images.pt',
    'test_target.pt',
  ]);
  expect(hashDir(other)['train_images_0.pt']).not.toBe(RAW_SEED0['train_images_0.pt']);
});

test('process: committed hashes; train mean 0 and std 1 within 1e-6; stats.json', () => {
  expect(hashDir(processed())).toEqual(PROCESSED_SEED0);
  const stats = JSON.parse(fs.readFileSync(path.join(processed(), 'stats.json'), 'utf8'));
  expect(Math.abs(stats.train.mean)).toBeLessThan(1e-6);
  expect(Math.abs(stats.train.std - 1)).toBeLessThan(1e-6);
  expect(stats.normalization.mean).toBeGreaterThan(0.1);
  expect(stats.normalization.std).toBeGreaterThan(0.2);
  const again = path.join(tmp, 'processed2');
  expect(cli(['process', '--in', raw(), '--out', again]).status).toBe(0);
  expect(hashDir(again)).toEqual(PROCESSED_SEED0);
});

test("the course's data checks: 30 000 train / 5 000 test, [1,28,28] images, every label in both sets", async () => {
  const xTrain = await readTensor(path.join(processed(), 'train_images.pt'));
  const yTrain = await readTensor(path.join(processed(), 'train_target.pt'));
  const xTest = await readTensor(path.join(processed(), 'test_images.pt'));
  const yTest = await readTensor(path.join(processed(), 'test_target.pt'));
  expect([xTrain.dtype, xTrain.shape]).toEqual(['float32', [30000, 1, 28, 28]]);
  expect([yTrain.dtype, yTrain.shape]).toEqual(['int64', [30000]]);
  expect([xTest.dtype, xTest.shape]).toEqual(['float32', [5000, 1, 28, 28]]);
  expect([yTest.dtype, yTest.shape]).toEqual(['int64', [5000]]);
  for (const y of [yTrain, yTest]) {
    expect([...new Set(Array.from(y.data as BigInt64Array, Number))].sort()).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  }
  let sum = 0;
  let sumsq = 0;
  const d = xTrain.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    sum += d[i]!;
    sumsq += d[i]! * d[i]!;
  }
  const mean = sum / d.length;
  expect(Math.abs(mean)).toBeLessThan(1e-6);
  expect(Math.abs(Math.sqrt(sumsq / d.length - mean * mean) - 1)).toBeLessThan(1e-6);
});

test('processed files load in torch with weights_only=True and give mean 0, std 1', () => {
  requireTorch();
  const out = runPython(
    `import sys, torch, json
d = sys.argv[1]
x = torch.load(d + '/train_images.pt', weights_only=True); y = torch.load(d + '/train_target.pt', weights_only=True)
t = torch.load(d + '/test_images.pt', weights_only=True)
print(json.dumps({'x': [str(x.dtype), list(x.shape)], 'y': [str(y.dtype), list(y.shape)], 't': list(t.shape),
  'mean': x.double().mean().item(), 'std': x.double().std(unbiased=False).item(), 'labels': sorted(set(y.tolist()))}))`,
    [processed()],
  );
  const r = JSON.parse(out);
  expect(r.x).toEqual(['torch.float32', [30000, 1, 28, 28]]);
  expect(r.y).toEqual(['torch.int64', [30000]]);
  expect(r.t).toEqual([5000, 1, 28, 28]);
  expect(Math.abs(r.mean)).toBeLessThan(1e-6);
  expect(Math.abs(r.std - 1)).toBeLessThan(1e-6);
  expect(r.labels).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('process --format npy and safetensors write the same values', async () => {
  for (const format of ['npy', 'safetensors']) {
    const out = path.join(tmp, `processed-${format}`);
    expect(cli(['process', '--in', raw(), '--out', out, '--format', format]).status).toBe(0);
    const y = await readTensor(path.join(out, `test_target.${format}`));
    const x = await readTensor(path.join(out, `test_images.${format}`));
    const ref = await readTensor(path.join(processed(), 'test_images.pt'));
    expect(x.shape).toEqual([5000, 1, 28, 28]);
    expect(
      Buffer.from((x.data as Float32Array).buffer).equals(Buffer.from((ref.data as Float32Array).buffer)),
    ).toBe(true);
    expect(y.dtype).toBe('int64');
  }
});
