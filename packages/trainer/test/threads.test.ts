// Data-parallel training as a pure speed knob: with batch statistics shared by the threads, one thread
// and two threads compute the same training (only float rounding of the gradient sums differs), and the
// run records how many threads it used. Bounds are generous and explicit: a busy machine makes these
// slower, never wrong.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '@dataver/foundation';
import { initBackend } from '../src/backend/select';
import { infer } from '../src/batch';
import { parseTrainConfig } from '../src/config';
import { createModel } from '../src/model/index';
import { WorkerPool } from '../src/parallel/pool';
import { train } from '../src/train';
import { busyCores, trainingThreads } from '../src/train/epochs';
import { makeProcessed, TRAINER_BIN, tmpDir } from './helpers/fixtures';

const LONG = 600_000;

let dataDir: string;
beforeAll(async () => {
  dataDir = path.join(tmpDir(), 'processed');
  await makeProcessed(dataDir, 640, 100);
}, LONG);

async function trainWith(workers: number | 'auto') {
  const out = path.join(tmpDir(), 'run');
  const config = parseTrainConfig({
    epochs: 1,
    workers,
    batchSize: 32,
    // Plain SGD passes gradient differences on to the weights as they are (Adam's first steps would
    // mostly keep their signs), so the comparison below sees what the threads computed.
    optimizer: 'sgd',
    learningRate: 0.05,
    schedule: { name: 'constant' },
    validationSplit: 0,
    augmentation: { enabled: true, probability: 0.5 },
    earlyStopping: { patience: 0, minDelta: 0 },
    // Three steps: training amplifies rounding differences chaotically, so after many steps even equal
    // maths drift apart; after three, shared statistics differ by ~1e-6 and per-slice ones by ~1e-2.
    data: { dir: dataDir, limit: 96 },
    output: { dir: out },
  });
  const result = await train({ config, allowDirty: true });
  const weights = new Float32Array(new Uint8Array(fs.readFileSync(path.join(out, 'weights.bin'))).buffer);
  const run = JSON.parse(fs.readFileSync(path.join(result.logsDir, 'run.json'), 'utf8')) as {
    workers: number;
  };
  return { weights, threads: run.workers, loss: result.history[0]!.train_loss };
}

test(
  'one thread and two threads train the same model (batch statistics of the whole batch)',
  async () => {
    const one = await trainWith(1);
    const two = await trainWith(2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(one.weights.length).toBe(two.weights.length);
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < one.weights.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(one.weights[i]! - two.weights[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(one.weights[i]!));
    }
    // Measured: 1e-6 with shared statistics; 1e-2 with per-slice ("ghost") ones, as before.
    expect(maxDiff / maxAbs).toBeLessThan(1e-5);
    expect(Math.abs(one.loss - two.loss)).toBeLessThan(1e-5);
  },
  LONG,
);

test(
  'validation on the threads of a pool gives the loss, accuracy and probabilities of one thread, bit for bit, with the weights of now',
  async () => {
    await initBackend('wasm');
    const rng = new Rng(5);
    const set = (count: number) => ({
      count,
      images: Float32Array.from({ length: count * 784 }, () => rng.uniform(-0.5, 2.5)),
      labels: Int32Array.from({ length: count }, () => Math.floor(rng.uniform(0, 10))),
    });
    const trainSet = set(64);
    // 1 201 images: slices of unequal size, one of them over a batch of 1 000.
    const validation = set(1201);
    const model = createModel('cnn-small', { seed: 3, standardize: true });
    const pool = await WorkerPool.start(model, 2, 'wasm', trainSet, 32, validation);
    try {
      for (const round of [0, 1]) {
        if (round === 1) {
          // New weights on the main thread: the workers must classify with these, not the ones of before.
          for (const v of model.variables)
            v.variable.assign(v.variable.mul(1.1).add(0.01) as typeof v.variable);
        }
        const one = infer(model, validation.images, validation.count, validation.labels);
        const both = await pool.evaluate();
        expect(both.loss).toBe(one.loss);
        expect(both.accuracy).toBe(one.accuracy);
        expect(Buffer.from(both.probabilities.buffer).equals(Buffer.from(one.probabilities.buffer))).toBe(
          true,
        );
        expect(Array.from(both.predictions)).toEqual(Array.from(one.predictions));
      }
    } finally {
      await pool.close();
      model.dispose();
    }
  },
  LONG,
);

test('workers auto picks the cores the load leaves free, capped by the batch; other backends one thread', () => {
  const auto = trainingThreads('auto', 64, 'wasm');
  expect(auto.count).toBeGreaterThanOrEqual(1);
  expect(auto.why).toMatch(/^auto: \d+ of \d+ cores free at load/);
  expect(trainingThreads(8, 6, 'wasm')).toEqual({ count: 3, why: 'workers 8, capped by batch 6' });
  // The load measured now, not the minute's average: a busy core leaves the other.
  const cores = os.availableParallelism();
  expect(trainingThreads('auto', 64, 'wasm', 0).count).toBe(Math.min(cores, 32));
  expect(trainingThreads('auto', 64, 'wasm', cores).count).toBe(1);
  if (cores >= 2) expect(trainingThreads('auto', 64, 'wasm', cores - 1).count).toBe(1);
  expect(trainingThreads(2, 64, 'cpu').count).toBe(1);
});

test('busyCores sees a process that spins a core now', async () => {
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 3000; while (Date.now() < end);']);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // started and spinning
    const busy = await busyCores(500);
    expect(busy).toBeGreaterThan(0.3);
    expect(busy).toBeLessThanOrEqual(os.availableParallelism() + 0.01);
  } finally {
    child.kill();
  }
});

test(
  'through the CLI: trainer backend names the SIMD kernels, and train --workers 2 trains on two threads',
  () => {
    const backend = spawnSync(process.execPath, [TRAINER_BIN, 'backend', '--json'], { encoding: 'utf8' });
    expect(backend.status).toBe(0);
    expect(backend.stdout).toMatch(/WASM SIMD kernels/);
    const out = path.join(tmpDir(), 'run');
    const r = spawnSync(
      process.execPath,
      [
        TRAINER_BIN,
        'train',
        '--data',
        dataDir,
        '--out',
        out,
        '--epochs',
        '1',
        '--workers',
        '2',
        '--no-augment',
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.status).toBe(0);
    const run = JSON.parse(fs.readFileSync(path.join(out, 'logs', 'run.json'), 'utf8')) as {
      workers: number;
    };
    expect(run.workers).toBe(2);
  },
  LONG,
);
