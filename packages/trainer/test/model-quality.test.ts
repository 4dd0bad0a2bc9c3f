// What a trained model must do beyond its accuracy: every class learnt, robust to pixel noise, honest
// probabilities; and the robustness report of `trainer evaluate` through the CLI (rotation sweep,
// corruptions, a hold-out set's shards). The model is the shared fixture: cnn-small, 2 epochs on 6 000
// clean MNIST digits, without augmentation.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '@dataver/foundation';
import { PNG } from 'pngjs';
import { initBackend } from '../src/backend/select';
import { infer } from '../src/batch';
import { loadModel } from '../src/model/io';
import { robustnessSweep } from '../src/sweep';
import { REPO_ROOT, TRAINER_BIN, tmpDir, trainedModel } from './helpers/fixtures';
import { loadMnist } from './helpers/mnist';

const LONG = 600_000;
const CORRUPT_MNIST_BIN = path.join(REPO_ROOT, 'packages/corrupt-mnist/bin/corrupt-mnist.js');

let modelDir: string;
let dataDir: string;
beforeAll(async () => {
  ({ modelDir, dataDir } = await trainedModel());
  await initBackend('wasm');
}, LONG);

/** The first 1 000 MNIST test digits as [0, 1] pixels, optionally with Gaussian noise, then normalized. */
function testDigits(noiseStd: number, norm: { mean: number; std: number }) {
  const { raw, labels, count } = loadMnist('test', 1000);
  const rng = new Rng(7);
  const images = Float32Array.from(raw, (v) => {
    const x = Math.min(1, Math.max(0, v / 255 + (noiseStd ? noiseStd * rng.normal() : 0)));
    return (x - norm.mean) / norm.std;
  });
  return { images, labels, count };
}

test(
  'every class above 90 %; 10 % Gaussian noise costs under 2 points; probabilities sum to 1 and are confident when right',
  () => {
    const { model, manifest } = loadModel(modelDir);
    try {
      const clean = testDigits(0, manifest.normalization);
      const r = infer(model, clean.images, clean.count, clean.labels);
      const classes = model.options.numClasses;
      const perClass = Array.from({ length: classes }, () => ({ right: 0, all: 0 }));
      let rightConfidence = 0;
      let wrongConfidence = 0;
      let wrong = 0;
      for (let i = 0; i < clean.count; i++) {
        const label = clean.labels[i]!;
        const row = r.probabilities.subarray(i * classes, (i + 1) * classes);
        expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
        const top = row[r.predictions[i]!]!;
        const c = perClass[label]!;
        c.all++;
        if (r.predictions[i] === label) {
          c.right++;
          rightConfidence += top;
        } else {
          wrong++;
          wrongConfidence += top;
        }
      }
      for (const [k, c] of perClass.entries()) {
        expect({ class: k, accuracy: c.right / c.all > 0.9 }).toEqual({ class: k, accuracy: true });
      }
      const right = clean.count - wrong;
      expect(rightConfidence / right).toBeGreaterThan(0.9);
      if (wrong > 0) expect(wrongConfidence / wrong).toBeLessThan(rightConfidence / right);

      const noisy = testDigits(0.1, manifest.normalization);
      const n = infer(model, noisy.images, noisy.count, noisy.labels);
      expect(r.accuracy! - n.accuracy!).toBeLessThan(0.02);
    } finally {
      model.dispose();
    }
  },
  LONG,
);

test(
  'evaluate --sweep --manifest through the CLI: rotations, corruptions, per-shard accuracy, plot and metrics',
  () => {
    const dir = tmpDir();
    const holdout = path.join(dir, 'holdout');
    const gen = spawnSync(
      process.execPath,
      [
        CORRUPT_MNIST_BIN,
        'generate',
        '--out',
        holdout,
        '--train',
        '0',
        '--test',
        '300',
        '--test-shard-size',
        '100',
        '--seed',
        '5',
        '--dtype',
        'uint8',
        '-q',
      ],
      { encoding: 'utf8' },
    );
    expect(gen.stderr).toBe('');
    expect(gen.status).toBe(0);
    const report = path.join(dir, 'report');
    const metricsFile = path.join(dir, 'metrics.json');
    const r = spawnSync(
      process.execPath,
      [
        TRAINER_BIN,
        'evaluate',
        '--model',
        modelDir,
        '--images',
        path.join(holdout, 'test_images.pt'),
        '--targets',
        path.join(holdout, 'test_target.pt'),
        '--raw',
        '--manifest',
        path.join(holdout, 'manifest.json'),
        '--sweep',
        '--sweep-limit',
        '200',
        '--report',
        report,
        '--metrics',
        metricsFile,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /per shard \(3\): mean \d+\.\d\d%, worst \d+\.\d\d% \(shard rotated -?\d+\.\d°\)/,
    );
    expect(r.stdout).toMatch(/robustness on 200 MNIST test digits: clean \d+\.\d\d%/);
    const sweep = JSON.parse(fs.readFileSync(path.join(report, 'sweep.json'), 'utf8')) as {
      count: number;
      rotation: Array<{ at: number; accuracy: number }>;
      corruptions: Array<{ at: string; accuracy: number }>;
    };
    expect(sweep.count).toBe(200);
    expect(sweep.rotation.map((p) => p.at)).toEqual(Array.from({ length: 25 }, (_, i) => -60 + 5 * i));
    expect(sweep.corruptions.map((p) => p.at)).toEqual(
      expect.arrayContaining(['noise', 'blur', 'occlusion', 'contrast', 'stroke-thin', 'stroke-bold']),
    );
    // A model trained on upright digits only: fine upright, clearly worse at 60°.
    const at = (deg: number) => sweep.rotation.find((p) => p.at === deg)?.accuracy ?? 0;
    expect(at(0)).toBeGreaterThan(0.9);
    expect(at(60)).toBeLessThan(at(0) - 0.1);
    const png = PNG.sync.read(fs.readFileSync(path.join(report, 'sweep.png')));
    expect(png.width).toBeGreaterThan(600);
    expect(fs.readFileSync(path.join(report, 'sweep.md'), 'utf8')).toMatch(/\| -60° \| \d+\.\d\d % \|/);
    const metrics = JSON.parse(fs.readFileSync(metricsFile, 'utf8')) as Record<string, number>;
    expect(Object.keys(metrics)).toEqual(
      expect.arrayContaining([
        'accuracy',
        'shard_mean',
        'shard_worst',
        'clean_mnist',
        'rotation_mean',
        'rotation_worst',
        'corruption_worst',
      ]),
    );
    expect(metrics).toEqual(JSON.parse(fs.readFileSync(path.join(report, 'metrics.json'), 'utf8')));
  },
  LONG,
);

test(
  'evaluate --sweep rotation measures no corruptions, and an unknown kind is refused (exit 2)',
  () => {
    const r = evaluateJson(['--sweep', 'rotation', '--sweep-limit', '50']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as {
      sweep: { count: number; rotation: unknown[]; corruptions: unknown[] };
    };
    expect(report.sweep.count).toBe(50);
    expect(report.sweep.rotation).toHaveLength(25);
    expect(report.sweep.corruptions).toEqual([]);
    const bad = spawnSync(
      process.execPath,
      [TRAINER_BIN, 'evaluate', '--model', modelDir, '--sweep', 'shear'],
      {
        encoding: 'utf8',
      },
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/all, rotation, corruptions/);
  },
  LONG,
);

test(
  "evaluate --sweep on the server's model workers gives exactly the numbers of the sweep on one thread",
  async () => {
    // 1 000 digits, a whole number of batches: the CLI runs the sweep on two model workers where
    // there are two cores; robustnessSweep without a classifier runs it here.
    const r = evaluateJson(['--sweep', '--sweep-limit', '1000']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    if (os.availableParallelism() < 2) console.log('one core: the CLI ran the sweep on its own thread too');
    await initBackend('auto');
    const { model, manifest } = loadModel(modelDir);
    const here = await robustnessSweep(model, manifest.normalization, { limit: 1000 });
    model.dispose();
    expect(JSON.parse(r.stdout).sweep).toEqual(JSON.parse(JSON.stringify(here)));
  },
  LONG,
);

test(
  'the sweep classifies the 0° rotation (no pixel moves) once, as the clean pass, and reports it for both',
  async () => {
    await initBackend('auto');
    const { model, manifest } = loadModel(modelDir);
    const batches: Float32Array[] = [];
    const here = await robustnessSweep(model, manifest.normalization, { limit: 1000 });
    const counted = await robustnessSweep(model, manifest.normalization, {
      limit: 1000,
      angles: [-20, 0, 20],
      corruptions: ['blur'],
      classify: async (ink, count) => {
        batches.push(ink.slice());
        return infer(
          model,
          ink.map((v) => (v - manifest.normalization.mean) / manifest.normalization.std),
          count,
          undefined,
          1000,
        ).probabilities;
      },
    });
    model.dispose();
    // Three rotations, one corruption and the clean pass: four passes classified, not five.
    expect(batches).toHaveLength(4);
    expect(counted.rotation.map((p) => p.at)).toEqual([-20, 0, 20]);
    expect(counted.rotation[1]!.accuracy).toBe(counted.clean);
    expect(here.rotation.find((p) => p.at === 0)!.accuracy).toBe(here.clean);
    expect(counted.rotation[0]!.accuracy).toBe(here.rotation.find((p) => p.at === -20)!.accuracy);
  },
  LONG,
);

/** `trainer evaluate --json` of the test model on its data, with more flags. */
function evaluateJson(flags: string[]) {
  return spawnSync(
    process.execPath,
    [TRAINER_BIN, 'evaluate', '--model', modelDir, '--data', dataDir, ...flags, '--json'],
    { encoding: 'utf8' },
  );
}
