// End to end through the built CLI: generate is bit-identical across runs and equal to the
// committed hashes; process gives mean 0 / std 1 on train; the course's data checks hold.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTensor } from '../src/index';
import { cli, hashDir } from './helpers/cli';
import { requireTorch, runPython } from './helpers/torch';

// Committed digests of `generate --seed 0` (defaults: 30 000 train, 5 000 test) and of `process`.
// A change here changes the data set: bump it on purpose, with a note in docs/corrupt-mnist.md.
const RAW_SEED0: Record<string, string> = {
  'test_images.pt': '7f87401fcbc54ae01420efee341bd8dcaacb1a3cf7aad09f6e9fb3e5629eedae',
  'test_target.pt': 'ebfb87acce5fa7d888794edbc21ff613e8766137c9f42402853496cd468c21cb',
  'train_images_0.pt': 'dfed3f678f4e88ba13069e716b1f882a1ab58c69d6a89a7add641da17547a946',
  'train_images_1.pt': 'a65c054e45250570ed28c8d1165a727bae91a38fe249f87d06bc618ad7598c95',
  'train_images_2.pt': '4a8afe60985ae03947d5e5e6c0fedf64be460a34c6de932ca818dcc12e74b367',
  'train_images_3.pt': 'cb382d9876e3951d1abcc11cb4b4064edb0deaa75004db8e1e23bee346c761b6',
  'train_images_4.pt': '44d85a88594ddb3e0d9467d730e58d5a287f9f2ee1f14058f11d05e6eab780ac',
  'train_images_5.pt': 'a9aee54dfba0e260efc46f4a7936a5adee8580047c2cd95694d9acc3f42681f1',
  'train_target_0.pt': '68a9889637048828c7ef5ef1d3e20594f7165e608209f2a61f62a522ff11c7fe',
  'train_target_1.pt': '1da7ed540744099ffff54088f9dde54032b0fbf9490402b18272864427862d8f',
  'train_target_2.pt': '96defcf52bfcc75a199b59e29b8fd3e618228cded71426a50e8ce2c4552e525f',
  'train_target_3.pt': '16008e8dcc723c46b5decdbfd413d4ca657d8a60ccfb76e1630faef6d2c436c5',
  'train_target_4.pt': 'ae1244d564d9516bf338c986063c1f8edf716db764354ede4fd9b111d5ce7185',
  'train_target_5.pt': 'f3a3c27c46ca073b6096378f2f0801e2043be3d76bb9b047cf4a7e917fdf6ebb',
};
const PROCESSED_SEED0: Record<string, string> = {
  'stats.json': '48f57e2bd710bc99dffa4c0e0abe62874de1ab6391609b3a58e3dfec76f48185',
  'test_images.pt': '40e0fdaa6d6df68ffa1c62bf5a9630d76e4a74755cef36a8fcb3262ba2a34b87',
  'test_target.pt': 'ebfb87acce5fa7d888794edbc21ff613e8766137c9f42402853496cd468c21cb',
  'train_images.pt': '5ef4a14fd3d4cfedac5c3f1c2ada760718cc5f802fcd86276291e72a028a3176',
  'train_target.pt': '9498036752001efcf134c00e593cdc7d7d51153081a6b777f94e9ad191a5e70f',
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
