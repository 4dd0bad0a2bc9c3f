// Gradient checks of the wasm kernel fixes: against the cpu backend and against numerical gradients.
import * as tf from '@tensorflow/tfjs';
import { bnLeakyPool } from '../src/backend/fused';
import { initBackend } from '../src/backend/select';
import { simdFor, wasmBackend } from '../src/backend/wasm-backend';
import { WINOGRAD_GRAD_MIN_IN } from '../src/backend/wasm-kernels';

function rand(shape: number[], seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

async function onBackend<T>(name: 'wasm' | 'cpu', fn: () => T): Promise<T> {
  await tf.setBackend(name);
  return fn();
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe.each([
  { name: 'same, 3x3', x: [2, 6, 5, 3], w: [3, 3, 3, 4], pad: 'same' as const },
  { name: 'valid, 3x3', x: [2, 7, 7, 2], w: [3, 3, 2, 5], pad: 'valid' as const },
  { name: 'same, 5x5 one channel', x: [3, 8, 8, 1], w: [5, 5, 1, 3], pad: 'same' as const },
  // Even kernels pad one side more (bottom and right): the padded grid cannot share padding between images.
  { name: 'same, 2x4 (uneven padding)', x: [3, 5, 6, 2], w: [2, 4, 2, 3], pad: 'same' as const },
])('conv2d gradients ($name)', ({ x: xShape, w: wShape, pad }) => {
  function grads() {
    return tf.tidy(() => {
      const x = tf.tensor(rand(xShape, 1), xShape) as tf.Tensor4D;
      const w = tf.tensor(rand(wShape, 2), wShape) as tf.Tensor4D;
      const f = (a: tf.Tensor, b: tf.Tensor) => {
        const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad);
        return tf.sum(tf.mul(y, tf.tensor(rand(y.shape, 3), y.shape)));
      };
      const [dx, dw] = tf.grads(f)([x, w]);
      return { dx: dx!.dataSync().slice(), dw: dw!.dataSync().slice() };
    });
  }

  test('match the cpu backend', async () => {
    const wasm = await onBackend('wasm', grads);
    const cpu = await onBackend('cpu', grads);
    await tf.setBackend('wasm');
    expect(maxAbsDiff(wasm.dx, cpu.dx)).toBeLessThan(1e-4);
    expect(maxAbsDiff(wasm.dw, cpu.dw)).toBeLessThan(1e-4);
  });

  test('match numerical gradients', async () => {
    await tf.setBackend('wasm');
    const { dx, dw } = grads();
    const xs = rand(xShape, 1);
    const ws = rand(wShape, 2);
    const loss = (xv: Float32Array, wv: Float32Array) =>
      tf.tidy(() => {
        const y = tf.conv2d(
          tf.tensor(xv, xShape) as tf.Tensor4D,
          tf.tensor(wv, wShape) as tf.Tensor4D,
          1,
          pad,
        );
        return tf.sum(tf.mul(y, tf.tensor(rand(y.shape, 3), y.shape))).dataSync()[0]!;
      });
    const h = 1e-2;
    for (const i of [0, 7, xs.length - 1]) {
      const p = xs.slice();
      const m = xs.slice();
      p[i]! += h;
      m[i]! -= h;
      expect(Math.abs((loss(p, ws) - loss(m, ws)) / (2 * h) - dx[i]!)).toBeLessThan(2e-2);
    }
    for (const i of [0, 5, ws.length - 1]) {
      const p = ws.slice();
      const m = ws.slice();
      p[i]! += h;
      m[i]! -= h;
      expect(Math.abs((loss(xs, p) - loss(xs, m)) / (2 * h) - dw[i]!)).toBeLessThan(2e-2);
    }
  });
});

// 3×3 stride-1 convolutions run on the Winograd SIMD kernel: channel counts with every tail (1, 2, 3,
// 9, 10, 13: channel groups of four and single ones; 24: an output group of four after the groups of
// eight), odd sizes (a partial last tile), explicit and uneven padding, and batches of many chunks. The
// filter gradient runs Winograd from WINOGRAD_GRAD_MIN_IN input and 4 output channels, the direct kernel
// below that.
describe.each([
  { name: 'one input channel', x: [3, 28, 28, 1], w: [3, 3, 1, 16], pad: 'same' as const },
  { name: 'one input channel, three outputs', x: [2, 9, 7, 1], w: [3, 3, 1, 3], pad: 'same' as const },
  { name: 'odd size, channel tails', x: [5, 9, 4, 9], w: [3, 3, 9, 13], pad: 'same' as const },
  { name: 'valid', x: [2, 7, 7, 2], w: [3, 3, 2, 5], pad: 'valid' as const },
  { name: 'valid, inC % 4 = 3, three outputs', x: [3, 7, 5, 11], w: [3, 3, 11, 3], pad: 'valid' as const },
  { name: 'valid, inC % 4 = 3, five outputs', x: [3, 7, 5, 11], w: [3, 3, 11, 5], pad: 'valid' as const },
  { name: 'many chunks', x: [40, 14, 14, 16], w: [3, 3, 16, 24], pad: 'same' as const },
  { name: 'one pixel', x: [1, 1, 1, 3], w: [3, 3, 3, 4], pad: 'same' as const },
  {
    name: 'explicit uneven padding',
    x: [2, 5, 6, 10],
    w: [3, 3, 10, 9],
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ] as tf.backend_util.ExplicitPadding,
  },
])('Winograd conv2d ($name)', ({ x: xShape, w: wShape, pad }) => {
  const run = () =>
    tf.tidy(() =>
      tf
        .conv2d(
          tf.tensor(rand(xShape, 1), xShape) as tf.Tensor4D,
          tf.tensor(rand(wShape, 2), wShape) as tf.Tensor4D,
          1,
          pad,
        )
        .dataSync()
        .slice(),
    );

  // The filter gradient of sum(conv(x, w) ⊙ r) for a fixed random r, on at most 4 images (the cpu
  // backend's kernel is slow; 4 images of 14×14 are still 3 chunks of tiles).
  const gShape = [Math.min(4, xShape[0]!), ...xShape.slice(1)];
  const filterGrad = () =>
    tf.tidy(() => {
      const x = tf.tensor(rand(gShape, 1), gShape) as tf.Tensor4D;
      const f = (w: tf.Tensor) => {
        const y = tf.conv2d(x, w as tf.Tensor4D, 1, pad);
        return tf.sum(tf.mul(y, tf.tensor(rand(y.shape, 3), y.shape)));
      };
      return tf
        .grad(f)(tf.tensor(rand(wShape, 2), wShape))
        .dataSync()
        .slice();
    });

  test('matches the cpu backend, on the SIMD kernel', async () => {
    // One input channel and outputs in fours: the kernel that keeps the tile in registers.
    const one = wShape[2] === 1 && wShape[3]! % 4 === 0;
    const wasm = await onSimdKernel(one ? 'winogradConv3x3One' : 'winogradConv3x3', run, 1);
    const cpu = await onBackend('cpu', run);
    await tf.setBackend('wasm');
    // Sums of up to 9·16 products of values in [-1, 1]: float32 rounding of either order.
    expect(maxAbsDiff(wasm, cpu)).toBeLessThan(2e-5);
  });

  test('filter gradient matches the cpu backend, on the SIMD kernel', async () => {
    const calls = wShape[2]! >= WINOGRAD_GRAD_MIN_IN && wShape[3]! >= 4 ? 1 : 0;
    const wasm = await onSimdKernel('winogradFilterGrad', filterGrad, calls);
    const cpu = await onBackend('cpu', filterGrad);
    await tf.setBackend('wasm');
    // Sums over every output position of the batch (up to 2 352 products): relative float32 rounding.
    const scale = Math.max(1, ...Array.from(cpu, Math.abs));
    expect(maxAbsDiff(wasm, cpu) / scale).toBeLessThan(2e-6);
  });
});

/** fn() on the wasm backend, checking that it called the SIMD kernel `name` `calls` times. */
async function onSimdKernel<T>(
  name: 'winogradConv3x3' | 'winogradConv3x3One' | 'winogradFilterGrad',
  fn: () => T,
  calls: number,
): Promise<T> {
  await tf.setBackend('wasm');
  const simd = simdFor(wasmBackend(tf.backend()));
  if (!simd) throw new Error('the SIMD kernels did not load: run `npm run build`');
  const kernels = simd.kernels as unknown as Record<string, (...args: number[]) => void>;
  const kernel = kernels[name]!;
  let made = 0;
  kernels[name] = (...args) => {
    made++;
    kernel(...args);
  };
  try {
    const result = fn();
    expect(made).toBe(calls);
    return result;
  } finally {
    kernels[name] = kernel;
  }
}

test('Winograd conv2d gives each image the output it has alone, bit for bit', async () => {
  await tf.setBackend('wasm');
  const shape = [9, 14, 14, 16];
  const w = tf.tensor(rand([3, 3, 16, 24], 2), [3, 3, 16, 24]) as tf.Tensor4D;
  const x = tf.tensor(rand(shape, 1), shape) as tf.Tensor4D;
  const batch = tf.conv2d(x, w, 1, 'same').dataSync();
  const per = batch.length / shape[0]!;
  for (const i of [0, 4, 8]) {
    const alone = tf.conv2d(tf.slice(x, [i, 0, 0, 0], [1, 14, 14, 16]), w, 1, 'same').dataSync();
    expect(alone.every((v, j) => Object.is(v, batch[i * per + j]))).toBe(true);
  }
  tf.dispose([w, x]);
});

// The one-channel kernel does the general kernel's operations in its order. The general kernel runs
// when a second, all-zero input channel is added (its products then add ±0, which changes nothing).
test.each([
  { pad: 'same' as const, x: [3, 28, 28, 1], outC: 16 },
  { pad: 'valid' as const, x: [2, 9, 8, 1], outC: 12 },
  { pad: 'same' as const, x: [2, 5, 7, 1], outC: 4 },
])(
  'one-channel Winograd conv2d matches the general kernel bit for bit (%j)',
  async ({ pad, x: xShape, outC }) => {
    await tf.setBackend('wasm');
    const wShape = [3, 3, 1, outC];
    const x = tf.tensor(rand(xShape, 1), xShape) as tf.Tensor4D;
    const w = tf.tensor(rand(wShape, 2), wShape) as tf.Tensor4D;
    const one = await onSimdKernel('winogradConv3x3One', () => tf.conv2d(x, w, 1, pad).dataSync(), 1);
    const general = await onSimdKernel(
      'winogradConv3x3',
      () =>
        tf.conv2d(tf.concat([x, tf.zerosLike(x)], 3), tf.concat([w, tf.zerosLike(w)], 2), 1, pad).dataSync(),
      1,
    );
    expect(one.length).toBe(general.length);
    expect(one.every((v, i) => Object.is(v, general[i]))).toBe(true);
    tf.dispose([x, w]);
  },
);

test('the filter gradient refuses a dy of another shape than the convolution gives', async () => {
  await tf.setBackend('wasm');
  const x = tf.zeros([2, 6, 6, 8]);
  const dy = tf.zeros([2, 5, 6, 4]); // 'same' gives 6×6
  const attrs = { strides: [1, 1], pad: 'same', filterShape: [3, 3, 8, 4], dataFormat: 'NHWC' };
  expect(() =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap),
  ).toThrow('dy is [2, 5, 6, 4], the convolution gives [2, 6, 6, 4]');
  tf.dispose([x, dy]);
});

test('max-pool gradient on negative windows matches the cpu backend', async () => {
  const shape = [2, 6, 6, 3];
  const run = () =>
    tf.tidy(() => {
      const x = tf.sub(tf.tensor(rand(shape, 9), shape), 2) as tf.Tensor4D; // all negative
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), 3)))(x);
      return g.dataSync().slice();
    });
  const wasm = await onBackend('wasm', run);
  const cpu = await onBackend('cpu', run);
  await tf.setBackend('wasm');
  expect(maxAbsDiff(wasm, cpu)).toBe(0);
  expect(wasm.reduce((a, b) => a + b, 0)).toBeCloseTo(3 * 2 * 3 * 3 * 3, 3);
});

describe.each([
  { training: true, pool: 2 as const, shape: [3, 6, 7, 4] },
  { training: true, pool: 1 as const, shape: [2, 4, 4, 3] },
  { training: false, pool: 2 as const, shape: [2, 5, 6, 3] },
])(
  'fused batch-norm + LeakyReLU + max-pool (training $training, pool $pool)',
  ({ training, pool, shape }) => {
    const c = shape[3]!;
    const attrs = { training, pool, epsilon: 1e-5, alpha: 0.1 };
    const run = (forceStock: boolean, xv = rand(shape, 4)) =>
      tf.tidy(() => {
        const x = tf.tensor(xv, shape) as tf.Tensor4D;
        const gamma = tf.tensor1d(rand([c], 5).map((v) => v + 1.5));
        const beta = tf.tensor1d(rand([c], 6));
        const mm = tf.tensor1d(rand([c], 7).map((v) => v * 0.1));
        const mv = tf.tensor1d(rand([c], 8).map((v) => v * 0.2 + 0.5));
        const rOut = (s: number[]) => tf.tensor(rand(s, 10), s);
        const bias = tf.tensor1d(rand([c], 11));
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bi: tf.Tensor) => {
          const { output } = bnLeakyPool(
            a as tf.Tensor4D,
            bi as tf.Tensor1D,
            g as tf.Tensor1D,
            b as tf.Tensor1D,
            mm,
            mv,
            attrs,
            forceStock,
          );
          return tf.sum(tf.mul(output, rOut(output.shape)));
        };
        const { value, grads } = tf.valueAndGrads(f)([x, gamma, beta, bias]);
        const r = bnLeakyPool(x, bias, gamma, beta, mm, mv, attrs, forceStock);
        return {
          loss: value.dataSync()[0]!,
          out: r.output.dataSync().slice(),
          mean: r.mean.dataSync().slice(),
          variance: r.variance.dataSync().slice(),
          dx: grads[0]!.dataSync().slice(),
          dg: grads[1]!.dataSync().slice(),
          db: grads[2]!.dataSync().slice(),
          dbias: grads[3]!.dataSync().slice(),
        };
      });

    test('forward and gradients match stock ops on the cpu backend', async () => {
      const fused = await onBackend('wasm', () => run(false));
      const stock = await onBackend('cpu', () => run(true));
      await tf.setBackend('wasm');
      expect(maxAbsDiff(fused.out, stock.out)).toBeLessThan(1e-5);
      expect(maxAbsDiff(fused.mean, stock.mean)).toBeLessThan(1e-5);
      expect(maxAbsDiff(fused.variance, stock.variance)).toBeLessThan(1e-5);
      expect(maxAbsDiff(fused.dx, stock.dx)).toBeLessThan(1e-4);
      expect(maxAbsDiff(fused.dg, stock.dg)).toBeLessThan(1e-4);
      expect(maxAbsDiff(fused.db, stock.db)).toBeLessThan(1e-4);
      expect(maxAbsDiff(fused.dbias, stock.dbias)).toBeLessThan(1e-4);
    });

    test('gradient matches numerical gradient', async () => {
      await tf.setBackend('wasm');
      const xs = rand(shape, 4);
      const { dx } = run(false, xs);
      const h = 1e-3;
      for (const i of [0, 3, 17, xs.length - 1]) {
        const p = xs.slice();
        const m = xs.slice();
        p[i]! += h;
        m[i]! -= h;
        const num = (run(false, p).loss - run(false, m).loss) / (2 * h);
        expect(Math.abs(num - dx[i]!)).toBeLessThan(2e-2);
      }
    });
  },
);
