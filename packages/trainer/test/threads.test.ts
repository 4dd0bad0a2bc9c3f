// Data-parallel training as a pure speed knob: with batch statistics shared by the threads, one thread
// and two threads compute the same training (only float rounding of the gradient sums differs), and the
// run records how many threads it used. Bounds are generous and explicit: a busy machine makes these
// slower, never wrong.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTrainConfig } from '../src/config';
import { train } from '../src/train';
import { trainingThreads } from '../src/train/epochs';
import { makeProcessed, tmpDir } from './helpers/fixtures';

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
    data: { dir: dataDir, limit: null },
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
    // 20 SGD steps: per-slice ("ghost") batch statistics move weights by ~1e-2 here; shared ones only
    // by the rounding of the sums.
    expect(maxDiff / maxAbs).toBeLessThan(1e-4);
    expect(Math.abs(one.loss - two.loss)).toBeLessThan(1e-4);
  },
  LONG,
);

test('workers auto picks the cores the load leaves free, capped by the batch; other backends one thread', () => {
  const auto = trainingThreads('auto', 64, 'wasm');
  expect(auto.count).toBeGreaterThanOrEqual(1);
  expect(auto.why).toMatch(/^auto: \d+ of \d+ cores free at load/);
  expect(trainingThreads(8, 6, 'wasm')).toEqual({ count: 3, why: 'workers 8, capped by batch 6' });
  expect(trainingThreads(2, 64, 'cpu').count).toBe(1);
});
