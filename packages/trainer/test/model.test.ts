// Model factories: parameter counts, gradients reaching every layer, save → load round trip.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select';
import { countParams, createModel } from '../src/model';
import { loadModel, saveModel } from '../src/model/io';
import { tmpDir } from './helpers/fixtures';
import { loadMnist } from './helpers/mnist';

beforeAll(async () => {
  await initBackend('wasm');
});

test('cnn-small has the PyTorch model’s 10,982 parameters (+96 batch-norm statistics)', () => {
  const m = createModel('cnn-small');
  expect(countParams(m)).toEqual({ trainable: 10982, nonTrainable: 96, total: 11078 });
  m.dispose();
});

test('cnn-medium, the same design wider (16/24/32 channels, 40 hidden units), has 22,698', () => {
  const m = createModel('cnn-medium');
  expect(countParams(m)).toEqual({ trainable: 22698, nonTrainable: 144, total: 22842 });
  m.dispose();
});

test('cnn-large has ~225k parameters', () => {
  const m = createModel('cnn-large');
  expect(countParams(m)).toEqual({ trainable: 225034, nonTrainable: 0, total: 225034 });
  m.dispose();
});

test('unknown model names are refused with the allowed ones', () => {
  expect(() => createModel('resnet' as never)).toThrow(/allowed: cnn-small, cnn-medium, cnn-large/);
});

test.each(['cnn-small', 'cnn-medium', 'cnn-large'] as const)(
  'gradients flow to every trainable variable of %s',
  (name) => {
    const m = createModel(name, { seed: 3 });
    const d = loadMnist('train', 32);
    const x = tf.tensor4d(d.images, [32, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10);
    const vars = m.variables.filter((v) => v.trainable);
    const { grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, m.forward(x, { training: true })) as tf.Scalar,
      vars.map((v) => v.variable),
    );
    for (const v of vars) {
      const g = grads[v.variable.name];
      expect(g).toBeDefined();
      const norm = tf.norm(g!).dataSync()[0]!;
      // Conv biases before batch norm cancel exactly in training mode: their gradient is 0 by design.
      if (name !== 'cnn-large' && /^conv\d\.bias$/.test(v.name)) expect(norm).toBe(0);
      else expect(norm).toBeGreaterThan(0);
    }
    tf.dispose([x, y]);
    tf.dispose(grads);
    m.dispose();
  },
);

test('save → load round trip gives identical predictions', () => {
  const m = createModel('cnn-small', { seed: 5 });
  const d = loadMnist('test', 64);
  const x = tf.tensor4d(d.images, [64, 28, 28, 1]);
  // A training step first, so that batch-norm statistics are not at their initial values.
  m.forward(x, { training: true }).dispose();
  const before = m.forward(x, { training: false }).dataSync().slice();
  const dir = path.join(tmpDir(), 'model');
  saveModel(dir, m, { mean: 0.1, std: 0.3 });
  const { model, manifest } = loadModel(dir);
  expect(manifest.normalization).toEqual({ mean: 0.1, std: 0.3 });
  const after = model.forward(x, { training: false }).dataSync();
  expect(Array.from(after)).toEqual(Array.from(before));
  x.dispose();
  m.dispose();
  model.dispose();
});

describe('standardize', () => {
  // A contrast gain and a background level: a grey-level affine change of every pixel.
  const affine = (images: Float32Array, gain: number, offset: number) => images.map((v) => v * gain + offset);

  test.each(['cnn-small', 'cnn-large'] as const)(
    '%s with standardize sees an image the same whatever its contrast and background',
    (name) => {
      const d = loadMnist('test', 16);
      const logits = (m: ReturnType<typeof createModel>, images: Float32Array) =>
        tf.tidy(() =>
          Array.from(m.forward(tf.tensor4d(images, [16, 28, 28, 1]), { training: false }).dataSync()),
        );
      const plain = createModel(name, { seed: 2 });
      const standardized = createModel(name, { seed: 2, standardize: true });
      const faint = affine(d.images, 0.4, 0.7);
      const gap = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
      expect(gap(logits(standardized, d.images), logits(standardized, faint))).toBeLessThan(1e-3);
      // Without it the network sees another image (so the check above can fail).
      expect(gap(logits(plain, d.images), logits(plain, faint))).toBeGreaterThan(1e-2);
      plain.dispose();
      standardized.dispose();
    },
  );

  test('a blank image stays finite', () => {
    const m = createModel('cnn-small', { standardize: true });
    const out = tf.tidy(() => m.forward(tf.fill([2, 28, 28, 1], 0.25), { training: false }).dataSync());
    expect(Array.from(out).every(Number.isFinite)).toBe(true);
    m.dispose();
  });

  test('is recorded in the saved model and applied after loading', () => {
    const m = createModel('cnn-small', { seed: 4, standardize: true });
    const dir = path.join(tmpDir(), 'standardized');
    saveModel(dir, m, { mean: 0, std: 1 });
    const { model } = loadModel(dir);
    expect(model.options.standardize).toBe(true);
    const d = loadMnist('test', 8);
    const x = tf.tensor4d(affine(d.images, 2, -0.5), [8, 28, 28, 1]);
    expect(Array.from(model.forward(x, { training: false }).dataSync())).toEqual(
      Array.from(m.forward(x, { training: false }).dataSync()),
    );
    x.dispose();
    m.dispose();
    model.dispose();
  });
});
