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

test('cnn-large has ~225k parameters', () => {
  const m = createModel('cnn-large');
  expect(countParams(m)).toEqual({ trainable: 225034, nonTrainable: 0, total: 225034 });
  m.dispose();
});

test('unknown model names are refused with the allowed ones', () => {
  expect(() => createModel('resnet' as never)).toThrow(/allowed: cnn-small, cnn-large/);
});

test.each(['cnn-small', 'cnn-large'] as const)('gradients flow to every trainable variable of %s', (name) => {
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
    if (name === 'cnn-small' && /^conv\d\.bias$/.test(v.name)) expect(norm).toBe(0);
    else expect(norm).toBeGreaterThan(0);
  }
  tf.dispose([x, y]);
  tf.dispose(grads);
  m.dispose();
});

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
