// The WASM SIMD kernels against their JS reference implementations (and the stock ops of the cpu
// backend): batch norm + LeakyReLU + max-pool forward and backward for channel counts that fill SIMD lanes
// and ones that leave tails, odd and even sizes; the convolution gradients' im2col and padded operands;
// softmax cross-entropy; Adam; the augmentation warp.
import { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { simdAdamUpdate } from '../src/backend/adam-kernel';
import { bnLeakyPool } from '../src/backend/fused';
import { softmaxCrossEntropy, softmaxCrossEntropyReference } from '../src/backend/loss-kernel';
import { initBackend } from '../src/backend/select';
import { simdWasmFile } from '../src/backend/simd';
import { simdAffineWarp } from '../src/backend/warp-kernel';
import { setKernelImplementation, simdLoadError } from '../src/backend/wasm-backend';
import { applyPlan, PLAN_STRIDE, planAugmentation, planHasPixelSteps } from '../src/data/augment';
import { prepareInput } from '../src/model/step';
import { adamReference } from '../src/optim';

function rand(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => offset + scale * rng.uniform(-1, 1));
}

/** Largest |a − b| relative to the largest |b| (at least 1). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m / scale;
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterEach(async () => {
  setKernelImplementation('simd');
  await tf.setBackend('wasm');
});

test('the SIMD module is built and loads over the tfjs-wasm heap', () => {
  expect(simdWasmFile()).toMatch(/dist[/\\]wasm[/\\]kernels\.wasm$/);
  tf.tidy(() => {
    bnLeakyPool(
      tf.ones([1, 2, 2, 4]),
      tf.zeros([4]),
      tf.ones([4]),
      tf.zeros([4]),
      tf.zeros([4]),
      tf.ones([4]),
      {
        training: true,
        epsilon: 1e-5,
        alpha: 0.1,
        pool: 2,
      },
    ).output.dataSync();
  });
  expect(simdLoadError()).toBeNull();
});

describe.each([
  { c: 1, h: 6, w: 6 },
  { c: 3, h: 5, w: 7 },
  { c: 4, h: 6, w: 4 },
  { c: 5, h: 7, w: 5 },
  { c: 12, h: 8, w: 8 },
  { c: 20, h: 7, w: 7 },
])('fused batch norm + LeakyReLU + max-pool, $c channels, $h×$w', ({ c, h, w }) => {
  const shape = [3, h, w, c];
  const size = shape.reduce((a, b) => a * b, 1);
  const run = (training: boolean, pool: 1 | 2) =>
    tf.tidy(() => {
      const x = tf.tensor(rand(size, 1, 2, 0.3), shape) as tf.Tensor4D;
      const bias = tf.tensor1d(rand(c, 2));
      const gamma = tf.tensor1d(rand(c, 3, 0.5, 1));
      const beta = tf.tensor1d(rand(c, 4));
      const mm = tf.tensor1d(rand(c, 5, 0.1));
      const mv = tf.tensor1d(rand(c, 6, 0.2, 0.8));
      const attrs = { training, epsilon: 1e-5, alpha: 0.1, pool };
      const weightsOf = (s: number[]) =>
        tf.tensor(
          rand(
            s.reduce((a, b) => a * b, 1),
            7,
          ),
          s,
        );
      const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bi: tf.Tensor) => {
        const { output } = bnLeakyPool(
          a as tf.Tensor4D,
          bi as tf.Tensor1D,
          g as tf.Tensor1D,
          b as tf.Tensor1D,
          mm,
          mv,
          attrs,
        );
        return tf.sum(tf.mul(output, weightsOf(output.shape)));
      };
      const { grads } = tf.valueAndGrads(f)([x, gamma, beta, bias]);
      const r = bnLeakyPool(x, bias, gamma, beta, mm, mv, attrs);
      return [r.output, r.mean, r.variance, ...grads].map((t) => t.dataSync().slice());
    });

  test.each([
    { training: true, pool: 2 as const },
    { training: true, pool: 1 as const },
    { training: false, pool: 2 as const },
  ])('training $training, pool $pool: SIMD equals the JS reference', ({ training, pool }) => {
    setKernelImplementation('reference');
    const reference = run(training, pool);
    setKernelImplementation('simd');
    const simd = run(training, pool);
    expect(simdLoadError()).toBeNull();
    for (const [i, r] of reference.entries()) expect(relDiff(simd[i]!, r)).toBeLessThan(2e-5);
  });
});

describe.each([
  {
    name: 'padded path (stride 1, 5 channels)',
    x: [2, 9, 7, 5],
    w: [3, 3, 5, 6],
    strides: 1,
    pad: 'same' as const,
  },
  {
    name: 'im2col copies (1 channel)',
    x: [3, 10, 10, 1],
    w: [3, 3, 1, 12],
    strides: 1,
    pad: 'same' as const,
  },
  { name: 'im2col gather (stride 2)', x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 2, pad: 'valid' as const },
])('conv2d gradients, $name', ({ x: xShape, w: wShape, strides, pad }) => {
  const grads = () =>
    tf.tidy(() => {
      const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const x = tf.tensor(rand(n(xShape), 11), xShape) as tf.Tensor4D;
      const w = tf.tensor(rand(n(wShape), 12), wShape) as tf.Tensor4D;
      const f = (a: tf.Tensor, b: tf.Tensor) => {
        const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad);
        return tf.sum(tf.mul(y, tf.tensor(rand(y.size, 13), y.shape)));
      };
      return tf
        .grads(f)([x, w])
        .map((g) => g.dataSync().slice());
    });

  test('SIMD, the JS reference and the cpu backend agree', async () => {
    const simd = grads();
    setKernelImplementation('reference');
    const reference = grads();
    await tf.setBackend('cpu');
    const cpu = grads();
    for (const [i, r] of reference.entries()) {
      expect(relDiff(simd[i]!, r)).toBeLessThan(1e-6);
      expect(relDiff(simd[i]!, cpu[i]!)).toBeLessThan(1e-5);
    }
  });
});

describe('softmax cross-entropy', () => {
  const n = 7;
  const k = 10;
  const logits = rand(n * k, 21, 4);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 3) % k);
  const run = () =>
    tf.tidy(() => {
      const x = tf.tensor2d(logits, [n, k]);
      const y = tf.tensor1d(labels, 'int32');
      const { value, grads } = tf.valueAndGrads(
        (a: tf.Tensor) => softmaxCrossEntropy(a as tf.Tensor2D, y, 1 / n).loss,
      )([x]);
      const { predicted } = softmaxCrossEntropy(x, y, 1 / n);
      return {
        loss: value.dataSync()[0]!,
        grad: grads[0]!.dataSync().slice(),
        predicted: predicted.dataSync().slice(),
      };
    });

  test('the fused kernel, its JS reference and stock ops on cpu agree on loss, gradient and predictions', async () => {
    const simd = run();
    setKernelImplementation('reference');
    const reference = run();
    const dRef = new Float32Array(n * k);
    const pRef = new Int32Array(n);
    const sum = softmaxCrossEntropyReference(logits, labels, n, k, 1 / n, dRef, pRef);
    await tf.setBackend('cpu');
    const stock = run();
    expect(simd.loss).toBeCloseTo(sum / n, 5);
    expect(reference.loss).toBeCloseTo(sum / n, 5);
    expect(stock.loss).toBeCloseTo(sum / n, 5);
    expect(relDiff(simd.grad, dRef)).toBeLessThan(1e-6);
    expect(relDiff(stock.grad, dRef)).toBeLessThan(1e-5);
    expect([...simd.predicted]).toEqual([...pRef]);
    expect([...stock.predicted]).toEqual([...pRef]);
  });

  test('the gradient matches the numerical gradient', () => {
    const { grad } = run();
    const loss = (v: Float32Array) =>
      tf.tidy(
        () =>
          softmaxCrossEntropy(
            tf.tensor2d(v, [n, k]),
            tf.tensor1d(labels, 'int32'),
            1 / n,
          ).loss.dataSync()[0]!,
      );
    const h = 1e-2;
    for (const i of [0, 13, 42, n * k - 1]) {
      const p = logits.slice();
      const m = logits.slice();
      p[i]! += h;
      m[i]! -= h;
      expect(Math.abs((loss(p) - loss(m)) / (2 * h) - grad[i]!)).toBeLessThan(1e-3);
    }
  });
});

test.each([
  { decoupled: false, weightDecay: 0, len: 1003 },
  { decoupled: true, weightDecay: 0.01, len: 10 },
  { decoupled: false, weightDecay: 0.001, len: 4 },
])(
  'Adam (decoupled $decoupled, weight decay $weightDecay, $len values): SIMD equals the JS reference',
  (opts) => {
    const p0 = rand(opts.len, 31);
    const variable = tf.variable(tf.tensor1d(p0));
    const mRef = new Float32Array(opts.len);
    const vRef = new Float32Array(opts.len);
    const m = new Float32Array(opts.len);
    const v = new Float32Array(opts.len);
    const pRef = p0.slice();
    for (let t = 1; t <= 5; t++) {
      const g = rand(opts.len, 40 + t, 0.1);
      const step = {
        stepSize: 1e-2 / (1 - 0.9 ** t),
        rc2: 1 / Math.sqrt(1 - 0.999 ** t),
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        weightDecay: opts.weightDecay,
        decoupled: opts.decoupled,
        learningRate: 1e-2,
      };
      adamReference(pRef, g, mRef, vRef, step);
      const grad = tf.tensor1d(g);
      const next = simdAdamUpdate(variable, grad, m, v, step);
      expect(next).not.toBeNull();
      variable.assign(next!);
      tf.dispose([next!, grad]);
    }
    expect(relDiff(variable.dataSync(), pRef)).toBeLessThan(1e-6);
    expect(relDiff(m, mRef)).toBeLessThan(1e-6);
    expect(relDiff(v, vRef)).toBeLessThan(1e-6);
    variable.dispose();
  },
);

test('the SIMD augmentation warp equals the JS reference, borders and identity images included', () => {
  const n = 16;
  const background = -0.42;
  const images = rand(n * 784, 51, 2);
  // Large shifts and rotations reach past the borders; probability 0.7 leaves some images unwarped.
  const plan = planAugmentation(n, { probability: 0.7, rotation: 60, shift: 9, scale: 0.3 }, new Rng(5));
  expect(plan.filter((_, i) => i % PLAN_STRIDE === 0).some((f) => f === 0)).toBe(true);
  const reference = images.slice();
  applyPlan(reference, n, plan, background);
  const warped = tf.tidy(() =>
    simdAffineWarp(tf.tensor4d(images, [n, 28, 28, 1]), plan, PLAN_STRIDE, background)!
      .dataSync()
      .slice(),
  );
  expect(relDiff(warped, reference)).toBeLessThan(1e-5);
  expect(warped.some((v) => v === Math.fround(background))).toBe(true);
});

test("a training step's input with pen and corruption steps: the SIMD warp, then the JS pixel steps, as the reference", () => {
  const n = 24;
  const levels = { background: -0.42, white: 2.8 };
  const images = rand(n * 784, 52, 2);
  const options = { probability: 0.8, rotation: 50, shift: 2, scale: 0.1, strokeWidth: 0.5, corruption: 0.6 };
  const plan = planAugmentation(n, options, new Rng(6), undefined, levels);
  expect(planHasPixelSteps(plan, n)).toBe(true);
  const reference = images.slice();
  applyPlan(reference, n, plan, levels.background);
  const input = prepareInput(images.slice(), new Int32Array(n), { plan, background: levels.background });
  const got = input.x.dataSync().slice();
  tf.dispose([input.x, input.y]);
  // The corruptions round to grey levels, so the warps' last-bit differences may move a pixel by one level.
  const level = (levels.white - levels.background) / 255;
  let off = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - reference[i]!);
    expect(d).toBeLessThan(level * 1.01);
    if (d > 1e-4) off++;
  }
  expect(off).toBeLessThan(got.length / 1000);
  // Without the pixel steps the result would be far from the reference.
  const warpOnly = tf.tidy(() =>
    simdAffineWarp(tf.tensor4d(images, [n, 28, 28, 1]), plan, PLAN_STRIDE, levels.background)!
      .dataSync()
      .slice(),
  );
  expect(relDiff(warpOnly, reference)).toBeGreaterThan(0.01);
});

describe('transposed matmul', () => {
  // The dense layers' gradients (a·Bᵀ, aᵀ·b) at the batch sizes of training, inference and a server call,
  // with shared dimensions of one block (≤ 48), of several blocks and a partial last block, and column
  // counts that fill 16, 4 and 1 lanes.
  const cases: Array<[number[], number[], boolean, boolean]> = [];
  for (const rows of [1, 3, 32, 64, 97]) {
    cases.push([[rows, 40], [288, 40], false, true]);
    cases.push([[rows, 288], [rows, 40], true, false]);
    cases.push([[rows, 10], [40, 10], false, true]);
    cases.push([[rows, 7], [rows, 5], true, false]);
    cases.push([[rows, rows], [rows, rows], true, true]);
    cases.push([[1, rows, 50], [1, 21, 50], false, true]);
  }
  test.each(cases)('%j × %j (transposeA %s, transposeB %s): bit for bit the stock kernel', (a, b, ta, tb) => {
    const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
    const product = () =>
      tf.tidy(() =>
        tf
          .matMul(tf.tensor(rand(size(a), 21), a), tf.tensor(rand(size(b), 22), b), ta, tb)
          .dataSync()
          .slice(),
      );
    const simd = product();
    setKernelImplementation('reference');
    const stock = product();
    expect(simd.length).toBe(stock.length);
    let differ = 0;
    for (let i = 0; i < stock.length; i++) if (!Object.is(simd[i], stock[i])) differ++;
    expect(differ).toBe(0);
  });

  test('its gradients in a dense layer match the cpu backend', async () => {
    const grads = () =>
      tf.tidy(() => {
        const x = tf.tensor(rand(64 * 288, 31), [64, 288]);
        const w = tf.tensor(rand(288 * 40, 32), [288, 40]);
        const f = (p: tf.Tensor, q: tf.Tensor) =>
          tf.sum(
            tf.mul(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D), tf.tensor(rand(64 * 40, 33), [64, 40])),
          );
        return tf
          .grads(f)([x, w])
          .map((g) => g.dataSync().slice());
      });
    const simd = grads();
    await tf.setBackend('cpu');
    const cpu = grads();
    for (const [i, c] of cpu.entries()) expect(relDiff(simd[i]!, c)).toBeLessThan(1e-5);
  });
});

test('Identity shares the memory of its input, and disposing either leaves the other intact', () => {
  const x = tf.tensor(rand(1000, 41), [10, 100]);
  const y = tf.clone(x);
  expect(y.dataId).toBe(x.dataId);
  const values = x.dataSync().slice();
  x.dispose();
  expect(y.dataSync()).toEqual(values);
  const z = tf.clone(y);
  y.dispose();
  expect(z.dataSync()).toEqual(values);
  z.dispose();
});
