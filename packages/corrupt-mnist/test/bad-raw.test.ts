// Raw folders that break the course layout's rules: `process` and `import` name the file in one
// line, exit 3 and write nothing; an unknown recipe is a usage error that lists the recipes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Tensor, writeTensor } from '@dataver/tensor';
import { cli } from './helpers/cli';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bad-raw-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const images = (n: number, dtype: 'uint8' | 'float32', value = 0.5): Tensor =>
  dtype === 'uint8'
    ? { dtype, shape: [n, 28, 28], data: new Uint8Array(n * 784).map((_, i) => i % 251) }
    : {
        dtype,
        shape: [n, 28, 28],
        data: new Float32Array(n * 784).map((_, i) => (i % 7 === 0 ? value : 0.25)),
      };
const targets = (n: number): Tensor => ({
  dtype: 'int64',
  shape: [n],
  data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)),
});

/** A raw folder of three train shards and a test set; `tweak` changes one file. */
async function rawFolder(name: string, tweak: (file: string) => Tensor | undefined): Promise<string> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const [file, t] of [
    ['train_images_0.pt', images(20, 'float32')],
    ['train_images_1.pt', images(20, 'float32')],
    ['train_images_2.pt', images(10, 'float32')],
    ['test_images.pt', images(10, 'float32')],
  ] as const) {
    const chosen = tweak(file) ?? t;
    await writeTensor(path.join(dir, file), chosen);
    const target = file.replace('images', 'target');
    await writeTensor(path.join(dir, target), targets(chosen.shape[0] ?? 0));
  }
  return dir;
}

describe('process and import refuse a raw folder that breaks the rules', () => {
  test.each([
    [
      'mixed dtypes',
      'train_images_1.pt',
      images(20, 'uint8'),
      /images are uint8, but train_images_0\.pt holds float32/,
    ],
    [
      'a shard of the wrong size',
      'train_images_1.pt',
      images(15, 'float32'),
      /shard holds 15 images, the shards before it 20/,
    ],
    ['NaN pixels', 'train_images_2.pt', images(10, 'float32', Number.NaN), /pixel 0 of image 0 is NaN/],
    [
      'pixels above 1',
      'test_images.pt',
      images(10, 'float32', 255),
      /is 255: float images must lie in \[0, 1\]/,
    ],
  ])('%s', async (name, file, tensor, message) => {
    const dir = await rawFolder(name.replace(/\s/g, '-'), (f) => (f === file ? tensor : undefined));
    for (const args of [
      ['process', '--in', dir, '--out', path.join(tmp, `${name}-processed`)],
      ['import', '--from', dir, '--out', path.join(tmp, `${name}-imported`)],
    ]) {
      const r = cli(args);
      expect(r.status).toBe(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^error: ${path.join(dir, file).replace(/[.[\]]/g, '\\$&')}: `));
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(args[4] ?? '')).toBe(false);
    }
  });

  test('a valid folder of the same shape processes (the rules are not too strict)', async () => {
    const dir = await rawFolder('valid', () => undefined);
    const r = cli(['process', '--in', dir, '--out', path.join(tmp, 'valid-processed')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

test('process refuses a manifest.json that names rows the shards do not have, and writes nothing', async () => {
  const dir = await rawFolder('stale-manifest', () => undefined);
  const manifest = { train: [{ file: 'train_images_0.pt', start: 0, count: 5000, angle: 12 }], test: [] };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  const out = path.join(tmp, 'stale-manifest-processed');
  const r = cli(['process', '--in', dir, '--out', out]);
  expect(r.status).toBe(3);
  expect(r.stderr.trim().split('\n')[0]).toMatch(
    /^error: \S+\/manifest\.json: does not describe the shards beside it: the entry for train_images_0\.pt names rows/,
  );
  expect(fs.existsSync(out)).toBe(false);
});

test('an unknown recipe exits 2 and lists the recipes', () => {
  const r = cli(['generate', '--out', path.join(tmp, 'x'), '--recipe', 'rotated']);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/Allowed choices are course, mixed/);
  expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
});
