import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select';
import { createModel } from '../src/model';
import { loadMnist } from '../test/helpers/mnist';

async function main() {
  await initBackend((process.env.B as 'wasm') ?? 'wasm');
  const bs = Number(process.env.BS ?? 64);
  const n = Number(process.env.N ?? 6400);
  const d = loadMnist('train', n);
  const model = createModel('cnn-small', { seed: 1 });
  const opt = tf.train.adam(1e-3);
  const vars = model.variables.filter((v) => v.trainable).map((v) => v.variable);
  const prof: Record<string, number> = {};
  const step = (i: number) => {
    const x = tf.tensor4d(d.images.subarray(i * bs * 784, (i + 1) * bs * 784), [bs, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(d.labels.subarray(i * bs, (i + 1) * bs), 'int32'), 10);
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.forward(x, { training: true })) as tf.Scalar,
      true,
      vars,
    );
    const l = loss!.dataSync()[0];
    tf.dispose([x, y, loss!]);
    return l;
  };
  for (let i = 0; i < 5; i++) step(i);
  if (process.env.PROF) {
    const p = await tf.profile(() => {
      step(5);
    });
    for (const k of p.kernels) prof[k.name] = (prof[k.name] ?? 0) + (k.kernelTimeMs as number);
    console.log(
      Object.entries(prof)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15),
    );
  }
  const t0 = performance.now();
  let last = 0;
  const steps = Math.floor(n / bs);
  for (let i = 0; i < steps; i++) last = step(i);
  const dt = (performance.now() - t0) / 1000;
  console.log(
    `bs ${bs}: ${((steps * bs) / dt).toFixed(0)} img/s, loss ${last.toFixed(3)}, tensors ${tf.memory().numTensors}`,
  );
}
main();
