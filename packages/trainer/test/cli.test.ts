// The real CLI (packages/trainer/bin/trainer.js, built dist/) on real files: help, backend, evaluate,
// predict, train errors. Bad input gives one clear line and exit 2 (usage/config) or 3 (data).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTensor } from '@dataver/tensor';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { digitPng, TRAINER_BIN, tmpDir, trainedModel } from './helpers/fixtures';
import { loadMnist } from './helpers/mnist';

/** Upper bound of the slowest step here (training the shared fixture) on a loaded machine. */
const LONG = 600_000;

function trainer(args: string[], cwd = process.cwd(), nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, TRAINER_BIN, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The one-line error (tfjs may print its own notice lines before it). */
function errorLine(stderr: string): string {
  return stderr.split('\n').find((l) => l.startsWith('error: ')) ?? stderr;
}

let modelDir: string;
let dataDir: string;
beforeAll(async () => {
  ({ modelDir, dataDir } = await trainedModel());
}, LONG);

test('--help is fast (loads neither tfjs nor dataver) and every command has an example', () => {
  // What makes help fast is what it does not load, which holds on any machine, busy or not.
  const dir = tmpDir();
  const probe = path.join(dir, 'record-modules.js');
  const loaded = path.join(dir, 'modules.json');
  fs.writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const r = trainer(['--help'], process.cwd(), ['--require', probe]);
  expect(r.code).toBe(0);
  const modules: string[] = JSON.parse(fs.readFileSync(loaded, 'utf8'));
  expect(modules.some((m) => m.includes(`${path.sep}commander${path.sep}`))).toBe(true);
  expect(modules.filter((m) => /@tensorflow|[\\/]dataver[\\/]dist[\\/]/.test(m))).toEqual([]);
  for (const cmd of ['backend', 'train', 'evaluate', 'predict', 'serve', 'augment-preview']) {
    expect(r.stdout).toContain(cmd);
    expect(trainer([cmd, '--help']).stdout).toMatch(/Example:\n {2}trainer /);
  }
});

test('backend names the one that would run and why the others were skipped', () => {
  const r = trainer(['backend', '--json']);
  expect(r.code).toBe(0);
  const choice = JSON.parse(r.stdout);
  let nodeInstalled = true;
  try {
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    nodeInstalled = false;
  }
  if (nodeInstalled) {
    expect(choice.name).toBe('tensorflow');
  } else {
    // tfjs-node cannot install here (its install script downloads libtensorflow): its path is skipped.
    console.log(
      'skipped: @tensorflow/tfjs-node is not installed, so the tensorflow backend path is not exercised',
    );
    expect(choice.name).toBe('wasm');
    expect(choice.skipped[0].name).toBe('tensorflow');
  }
});

test('evaluate --json on processed .pt files gives accuracy as a fraction and the per-class table', () => {
  const report = path.join(tmpDir(), 'report');
  const r = trainer(['evaluate', '--model', modelDir, '--data', dataDir, '--json', '--report', report]);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.accuracy).toBeGreaterThan(0.9);
  expect(out.accuracy).toBeLessThanOrEqual(1);
  expect(out.perClass).toHaveLength(10);
  expect(out.perClass[0]).toEqual(
    expect.objectContaining({
      class: 0,
      precision: expect.any(Number),
      recall: expect.any(Number),
      f1: expect.any(Number),
    }),
  );
  expect(out.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(out.count);
  for (const f of [
    'confusion_matrix.png',
    'confusion_matrix.json',
    'worst.png',
    'report.json',
    'metrics.json',
  ]) {
    expect(fs.existsSync(path.join(report, f))).toBe(true);
  }
});

test('evaluate reads uint8 .npy images as raw pixels and normalizes them with the model’s stats', async () => {
  const dir = tmpDir();
  const d = loadMnist('test', 500);
  await writeTensor(path.join(dir, 'x.npy'), { dtype: 'uint8', shape: [500, 28, 28], data: d.raw });
  await writeTensor(path.join(dir, 'y.npy'), {
    dtype: 'int64',
    shape: [500],
    data: BigInt64Array.from(d.labels, BigInt),
  });
  const r = trainer([
    'evaluate',
    '--model',
    modelDir,
    '--images',
    path.join(dir, 'x.npy'),
    '--targets',
    path.join(dir, 'y.npy'),
    '--json',
  ]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).accuracy).toBeGreaterThan(0.9);
  // The same pixels as floats in [0,1] need --raw.
  await writeTensor(path.join(dir, 'xf.safetensors'), {
    dtype: 'float32',
    shape: [500, 1, 28, 28],
    data: Float32Array.from(d.raw, (v) => v / 255),
  });
  const raw = trainer([
    'evaluate',
    '--model',
    modelDir,
    '--images',
    path.join(dir, 'xf.safetensors'),
    '--targets',
    path.join(dir, 'y.npy'),
    '--raw',
    '--json',
  ]);
  expect(raw.code).toBe(0);
  expect(JSON.parse(raw.stdout).accuracy).toBeCloseTo(JSON.parse(r.stdout).accuracy, 2);
});

test('bad data: mismatched shapes, label out of range, empty set, missing file — one line, exit 3', async () => {
  const dir = tmpDir();
  const d = loadMnist('test', 10);
  await writeTensor(path.join(dir, 'x.npy'), { dtype: 'uint8', shape: [10, 28, 28], data: d.raw });
  await writeTensor(path.join(dir, 'y9.npy'), { dtype: 'int64', shape: [9], data: new BigInt64Array(9) });
  await writeTensor(path.join(dir, 'y11.npy'), {
    dtype: 'int64',
    shape: [10],
    data: BigInt64Array.from({ length: 10 }, () => 11n),
  });
  await writeTensor(path.join(dir, 'x0.npy'), {
    dtype: 'uint8',
    shape: [0, 28, 28],
    data: new Uint8Array(0),
  });
  await writeTensor(path.join(dir, 'y0.npy'), { dtype: 'int64', shape: [0], data: new BigInt64Array(0) });
  await writeTensor(path.join(dir, 'x32.npy'), {
    dtype: 'uint8',
    shape: [10, 32, 32],
    data: new Uint8Array(10 * 32 * 32),
  });
  const cases: Array<[string, string, RegExp]> = [
    ['x.npy', 'y9.npy', /shape \[9\], expected \[10\]/],
    ['x.npy', 'y11.npy', /= 11 is not a class label in 0\.\.9/],
    ['x0.npy', 'y0.npy', /empty/],
    ['x32.npy', 'y11.npy', /shape \[10,32,32\], expected \[N,1,28,28\]/],
    ['missing.npy', 'y9.npy', /not found/],
  ];
  for (const [x, y, msg] of cases) {
    const r = trainer([
      'evaluate',
      '--model',
      modelDir,
      '--images',
      path.join(dir, x),
      '--targets',
      path.join(dir, y),
    ]);
    expect(r.code).toBe(3);
    expect(errorLine(r.stderr)).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }
});

test('a model directory from another version or with corrupt weights is refused (exit 3)', () => {
  const dir = tmpDir();
  fs.cpSync(modelDir, path.join(dir, 'old'), { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'old/model.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'old/model.json'), JSON.stringify({ ...manifest, version: 99 }));
  const r = trainer(['evaluate', '--model', path.join(dir, 'old'), '--data', dataDir]);
  expect(r.code).toBe(3);
  expect(errorLine(r.stderr)).toMatch(/another trainer version/);
  fs.cpSync(modelDir, path.join(dir, 'bad'), { recursive: true });
  const w = fs.readFileSync(path.join(dir, 'bad/weights.bin'));
  w[100] = w[100]! ^ 0xff;
  fs.writeFileSync(path.join(dir, 'bad/weights.bin'), w);
  const r2 = trainer(['evaluate', '--model', path.join(dir, 'bad'), '--data', dataDir]);
  expect(r2.code).toBe(3);
  expect(errorLine(r2.stderr)).toMatch(/does not match the hash/);
});

test('predict classifies PNG and JPEG digits of any size and colour; --json; low-confidence flag', () => {
  const dir = tmpDir();
  const files: string[] = [];
  const labels: number[] = [];
  for (const [i, opts] of [
    [0, {}],
    [1, { lightBackground: true, zoom: 4 }],
    [2, { lightBackground: true, zoom: 2, colour: true }],
    [3, { zoom: 3 }],
  ] as const) {
    const { png, label } = digitPng(i, opts);
    const f = path.join(dir, `d${i}.png`);
    fs.writeFileSync(f, png);
    files.push(f);
    labels.push(label);
  }
  // A JPEG of the light-background digit.
  const decoded = PNG.sync.read(fs.readFileSync(files[1]!));
  const jpg = path.join(dir, 'd1.jpg');
  fs.writeFileSync(
    jpg,
    jpeg.encode({ data: decoded.data, width: decoded.width, height: decoded.height }, 90).data,
  );
  files.push(jpg);
  labels.push(labels[1]!);
  const r = trainer(['predict', '--model', modelDir, '--json', '--top-k', '2', ...files]);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.predictions.map((p: { prediction: number }) => p.prediction)).toEqual(labels);
  for (const p of out.predictions) {
    expect(p.top).toHaveLength(2);
    expect(typeof p.lowConfidence).toBe('boolean');
  }
  const strict = JSON.parse(
    trainer(['predict', '--model', modelDir, '--json', '--threshold', '1.01', files[0]!]).stdout,
  );
  expect(strict.predictions[0].lowConfidence).toBe(true);
  const text = trainer(['predict', '--model', modelDir, files[0]!]);
  expect(text.stdout).toMatch(/d0\.png: \d \(\d+\.\d%\)/);
});

test('predict shows all ten probabilities (text and --json) and --plot draws each digit beside its bars', () => {
  const dir = tmpDir();
  const files = [0, 1].map((i) => {
    const f = path.join(dir, `d${i}.png`);
    fs.writeFileSync(f, digitPng(i, { lightBackground: true, zoom: 3 }).png);
    return f;
  });
  const plot = path.join(dir, 'plots', 'predictions.png');
  const r = trainer(['predict', '--model', modelDir, '--json', '--plot', plot, ...files]);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.plot).toBe(plot);
  for (const p of out.predictions) {
    expect(p.probabilities).toHaveLength(10);
    expect(p.probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    expect(p.confidence).toBe(p.probabilities[p.prediction]);
  }
  // One row per image: the digit (28 × 6 px) beside ten bars.
  const png = PNG.sync.read(fs.readFileSync(plot));
  expect(png.width).toBeGreaterThan(28 * 6 + 10 * 30);
  expect(png.height).toBe(2 * (28 * 6 + 56));
  // The winning class's bar is green in the first row: find a pure green-ish column above its label.
  const green = (x: number, y: number) => {
    const i = (y * png.width + x) * 4;
    return png.data[i] === 44 && png.data[i + 1] === 160 && png.data[i + 2] === 44;
  };
  let greenPixels = 0;
  for (let y = 0; y < png.height / 2; y++) for (let x = 0; x < png.width; x++) if (green(x, y)) greenPixels++;
  expect(greenPixels).toBeGreaterThan(100);
  const text = trainer(['predict', '--model', modelDir, files[0]!]).stdout.split('\n');
  expect(text[0]).toMatch(/d0\.png: (\d) \(\d+\.\d%\)/);
  const bars = text.slice(1, 11);
  expect(bars.map((l) => l.trim()[0])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const predicted = /: (\d) /.exec(text[0]!)![1];
  expect(bars.find((l) => l.includes('*'))!.trim()[0]).toBe(predicted);
  for (const l of bars) expect(l).toMatch(/^ {2}\d[* ] +\d+\.\d%/);
});

test('predict refuses a file that is not an image (exit 3, one line)', () => {
  const f = path.join(tmpDir(), 'notes.png');
  fs.writeFileSync(f, 'this is text, not a picture');
  const r = trainer(['predict', '--model', modelDir, f]);
  expect(r.code).toBe(3);
  expect(errorLine(r.stderr)).toMatch(/notes\.png is not a PNG or JPEG image/);
});

test('config errors name the key and the allowed values (exit 2), and nothing is written', () => {
  const dir = tmpDir();
  const cfg = path.join(dir, 'train.yaml');
  fs.writeFileSync(cfg, 'model: cnn-small\noptimizer: adagrad\nepochs: 0\nbatchsize: 3\n');
  const out = path.join(dir, 'out');
  const r = trainer(['train', '--config', cfg, '--out', out, '--data', dataDir]);
  expect(r.code).toBe(2);
  const line = errorLine(r.stderr);
  expect(line).toMatch(/optimizer: "adagrad" is not allowed \(allowed: adam, adamw, sgd\)/);
  expect(line).toMatch(/epochs: 0 is too small/);
  expect(line).toMatch(
    /unknown key 'batchsize' \(allowed: model, canonicalize, standardize, dropout, epochs, batchSize/,
  );
  expect(fs.existsSync(out)).toBe(false);
  const flag = trainer(['train', '--epochs', 'two', '--out', out]);
  expect(flag.code).toBe(2);
});

test('a corrupt checkpoint stops --resume with exit 3 and is left as it was', () => {
  const dir = tmpDir();
  fs.cpSync(modelDir, path.join(dir, 'run'), { recursive: true });
  const ckpt = path.join(dir, 'run/logs/checkpoints/last.ckpt');
  const bytes = fs.readFileSync(ckpt);
  bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 1;
  fs.writeFileSync(ckpt, bytes);
  const before = fs.readFileSync(path.join(dir, 'run/weights.bin'));
  const r = trainer([
    'train',
    '--data',
    dataDir,
    '--out',
    path.join(dir, 'run'),
    '--resume',
    '--epochs',
    '3',
    '--allow-dirty',
  ]);
  expect(r.code).toBe(3);
  expect(errorLine(r.stderr)).toMatch(/checkpoint .*last\.ckpt is corrupt \(checksum mismatch\)/);
  expect(fs.readFileSync(ckpt).equals(bytes)).toBe(true);
  expect(fs.readFileSync(path.join(dir, 'run/weights.bin')).equals(before)).toBe(true);
});

test('augment-preview writes a PNG grid', () => {
  const out = path.join(tmpDir(), 'grid.png');
  const r = trainer(['augment-preview', '--out', out, '--data', dataDir, '--count', '8']);
  expect(r.code).toBe(0);
  const png = PNG.sync.read(fs.readFileSync(out));
  expect(png.width).toBeGreaterThan(8 * 28);
});
