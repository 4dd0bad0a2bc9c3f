// Training: learns (first epoch > 95 % on 5 000 clean digits), is bit-reproducible, resumes exactly,
// and writes the run directory (metadata, metrics, TensorBoard, plots, checkpoints). Bounds are generous
// and explicit: a busy machine makes these slower, never wrong.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTrainConfig } from '../src/config';
import { loadCheckpoint } from '../src/model/io';
import { readRecords } from '../src/report/tensorboard';
import { train } from '../src/train';
import { makeProcessed, tmpDir } from './helpers/fixtures';

/** Upper bound of one training test on a loaded machine (they take seconds on a free one). */
const LONG = 600_000;

let dataDir: string;
/** A few hundred images: enough to test determinism, which is not about accuracy. */
let smallDir: string;
beforeAll(async () => {
  dataDir = path.join(tmpDir(), 'processed');
  await makeProcessed(dataDir, 5000, 1000);
  smallDir = path.join(tmpDir(), 'small');
  await makeProcessed(smallDir, 320, 100);
}, LONG);

const base = (out: string, extra: Record<string, unknown> = {}) =>
  parseTrainConfig({
    epochs: 1,
    data: { dir: dataDir, limit: null },
    output: { dir: out },
    validationSplit: 0.1,
    augmentation: { enabled: false },
    ...extra,
  });

test(
  'first epoch reaches > 95 % on a 5 000-image subset and writes the run directory',
  async () => {
    const out = path.join(tmpDir(), 'run');
    const warnings: string[] = [];
    const r = await train({
      // One short epoch learns most with small batches and a one-cycle schedule.
      config: base(out, {
        batchSize: 16,
        learningRate: 0.007,
        workers: 1, // pinned: `auto` counts free cores, and each thread count rounds differently
        schedule: { name: 'onecycle', warmupFraction: 0.1 },
      }),
      log: { info: () => {}, debug: () => {}, warn: (m) => warnings.push(m) },
    });
    expect(r.testAccuracy).toBeGreaterThan(0.95);
    // Data outside any dataver repository is used with a warning, and metadata says so.
    expect(warnings.join('\n')).toMatch(/lineage is unknown/);
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    expect(meta.data.lineage.status).toBe('unknown');
    expect(meta.normalization.mean).toBeCloseTo(0.1307);
    expect(meta.backend.name).toBe('wasm');
    expect(meta.model.parameters.trainable).toBe(10982);
    expect(meta.metrics.test_accuracy).toBe(r.testAccuracy);
    for (const f of [
      'model.json',
      'weights.bin',
      'logs/metrics.jsonl',
      'logs/run.json',
      'metrics.json',
      'logs/checkpoints/best.ckpt',
      'logs/checkpoints/last.ckpt',
      'plots/loss.png',
      'plots/accuracy.png',
    ]) {
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    }
    const lines = fs
      .readFileSync(path.join(out, 'logs/metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0].val_accuracy).toBeGreaterThan(0.9);
    // TensorBoard: every record's two masked CRC32Cs check out; the first event is the file version.
    const tbDir = path.join(out, 'logs/tensorboard');
    const [events] = fs.readdirSync(tbDir);
    expect(events).toMatch(/^events\.out\.tfevents\./);
    const records = readRecords(fs.readFileSync(path.join(tbDir, events!)));
    expect(records.length).toBe(2);
    expect(records.every((rec) => rec.lengthCrcOk && rec.dataCrcOk)).toBe(true);
    const [version, epoch] = records;
    expect(version?.data.toString('latin1')).toContain('brain.Event:2');
    expect(epoch?.data.toString('latin1')).toContain('loss/train');
    // PNG signature on the plots.
    expect(fs.readFileSync(path.join(out, 'plots/loss.png')).subarray(1, 4).toString()).toBe('PNG');
  },
  LONG,
);

// It tests determinism, not accuracy: a few hundred images, small batches, two epochs. Both the main-thread
// step and the data-parallel one (2 workers) are checked.
test.each([1, 2])(
  'same seed and backend give bit-identical weights; resume continues exactly (%i worker(s))',
  async (workers) => {
    const cfg = (out: string, epochs: number) =>
      base(out, {
        epochs,
        workers,
        batchSize: 32,
        data: { dir: smallDir, limit: null },
        augmentation: { enabled: true, probability: 0.5 },
        earlyStopping: { patience: 0, minDelta: 0 },
        // A schedule that depends on the total epochs would differ between a 1-epoch run and a 2-epoch one.
        schedule: { name: 'constant' },
      });
    // Two checkouts: same relative output folder, as a pipeline stage would have.
    const [cwdA, cwdB] = [tmpDir(), tmpDir()];
    const a = path.join(cwdA, 'run');
    const b = path.join(cwdB, 'run');
    await train({ config: cfg('run', 2), cwd: cwdA });
    await train({ config: cfg('run', 2), cwd: cwdB });
    expect(loadCheckpoint(path.join(a, 'logs/checkpoints/last.ckpt')).state.history.length).toBe(2);
    // Everything outside logs/ (which holds timings) is bit-identical: a pipeline can track it.
    for (const f of [
      'weights.bin',
      'model.json',
      'metadata.json',
      'metrics.json',
      'plots/loss.png',
      'plots/accuracy.png',
    ]) {
      expect(Buffer.compare(fs.readFileSync(path.join(a, f)), fs.readFileSync(path.join(b, f)))).toBe(0);
    }
    // 1 epoch, then --resume to 2: same weights as 2 epochs straight.
    const c = path.join(tmpDir(), 'c');
    await train({ config: cfg(c, 1) });
    await train({ config: cfg(c, 2), resume: true });
    expect(
      Buffer.compare(
        fs.readFileSync(path.join(a, 'weights.bin')),
        fs.readFileSync(path.join(c, 'weights.bin')),
      ),
    ).toBe(0);
    expect(fs.readFileSync(path.join(c, 'logs/metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  },
  LONG,
);
