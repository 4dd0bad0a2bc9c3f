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
  'manifest.json': '989064b14866546c5d497122e1f06f3e09438067292f04855a486d19b8962444',
  'test_images.pt': 'c8910618cd91679de099757e9fca47d902ba261ece24e53815e66179fb4abb5a',
  'test_target.pt': '55249055fd0101e4aca4a0dbe65442c43e79eb260babb58f04150e265d09cf30',
  'train_images_0.pt': 'af77b47e322202f570c7ad7efb7ea835c27d66d0c0f21937cbe280a5b9c4fe29',
  'train_images_1.pt': 'ecace88fc71a0d58a162f077ec4b155b6b801bc98f1a461c7e96b94a4d569acf',
  'train_images_2.pt': 'e5baca88ed631e678c717e95990a63b0609196ebb9843664e1f357edefae858d',
  'train_images_3.pt': '32e81777098865d889aca0dda60b8d4e25e7475aa53ebb746d6142b975dce39d',
  'train_images_4.pt': '72c97aa54167382de8736f0e4615528c12e7f638525a82c2f61399941842f470',
  'train_images_5.pt': '7aadbe26bd77bf7481fddf0401745b43ba353b30cfb826502e2cf565ab00b7fd',
  'train_target_0.pt': '61f5c4e913917a4654b0a93c4baed747b40b293336030f71113c422cb32deb4b',
  'train_target_1.pt': 'bc4191fa52dd8c8d4d4952332d8a206c08cf90d3c215444de0b373e380fdd42b',
  'train_target_2.pt': '1770015407daf9852316be4d9053dd80ca4f634cd6c939f4ba4419aef6b6bdc1',
  'train_target_3.pt': '2e7a4b5a5eadfe970c019a3a8734b26c049031999c47501b1e7925c4735f0d33',
  'train_target_4.pt': '88c6a286d5ba4eb838538b48e0a461c2411243aaee5cf975eb9f4c953059ac1a',
  'train_target_5.pt': '7c8977f910077ebe9ef0113d260b757b1db9c310594dace3c123c5e8ec1e8db4',
};
const PROCESSED_SEED0: Record<string, string> = {
  'stats.json': '7cd7db2bffd9bc656231e6183f29ddedbc9c013a9eb6eba31dd6bc283d426e42',
  'test_images.pt': '37c76589333ef6f56f083a2faee10dc96b32f188aee801e226d00c76b6aec3c0',
  'test_target.pt': '55249055fd0101e4aca4a0dbe65442c43e79eb260babb58f04150e265d09cf30',
  'train_images.pt': '6fee858a8aedacf016055cb8c90ec67a27dde101ab10a3d35c2d2e2e5955c244',
  'train_target.pt': '5f56dd261c02940b0d9ab4b4e00a4fac6f61e8ba4627ea1f4a0953268f32b840',
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
    'manifest.json',
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
  // The generator's angles, in the rows of the concatenated train set.
  const manifest = JSON.parse(fs.readFileSync(path.join(raw(), 'manifest.json'), 'utf8'));
  expect(stats.rotations.train).toEqual(
    manifest.train.map((s: { angle: number }, i: number) => ({
      start: 5000 * i,
      count: 5000,
      angle: s.angle,
    })),
  );
  expect(stats.rotations.test).toEqual([{ start: 0, count: 5000, angle: manifest.test[0].angle }]);
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

test('the mixed recipe is pinned too (uint8, one stream per digit)', () => {
  const mixed = path.join(tmp, 'mixed');
  const r = cli([
    'generate',
    '--out',
    mixed,
    '--recipe',
    'mixed',
    '--train',
    '1000',
    '--test',
    '200',
    '--seed',
    '3',
  ]);
  expect(r.status).toBe(0);
  const h = hashDir(mixed);
  expect([h['train_images_0.pt'], h['test_images.pt'], h['manifest.json']]).toEqual([
    '8b75ff31e647ba77c057fc8a9d55bb564fa39e8660cabf581840166230a0286b',
    '276f72803ddcd4814d43bb6502b35ed7353705ff91a35985a3bfbf9889322b58',
    '2845824a14af5718a2ea2a12deb2bbfb7d8403462e2aa0d6975d290ed5ff5355',
  ]);
});
