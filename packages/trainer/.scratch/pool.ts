import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select';
import { createModel } from '../src/model';
import { Optimizer } from '../src/optim';
import { WorkerPool } from '../src/parallel/pool';
import { Rng } from '../src/util/rng';
import { loadMnist } from '../test/helpers/mnist';

(async () => {
  await initBackend('wasm');
  const d = loadMnist('train', 12800);
  const m = createModel('cnn-small');
  const opt = new Optimizer({ name: 'adam', learningRate: 1e-3 });
  const tr = m.variables.filter((v) => v.trainable);
  for (const k of [1, 2]) {
    const pool = await WorkerPool.start(m, k, 'wasm');
    const rng = new Rng(1);
    let tw = 0,
      tm = 0;
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) {
      const a = performance.now();
      const r = await pool.step(
        d.images.subarray((i % 200) * 64 * 784, ((i % 200) + 1) * 64 * 784),
        d.labels.subarray((i % 200) * 64, ((i % 200) + 1) * 64),
        64,
        rng,
      );
      const b = performance.now();
      opt.apply(tr, r.grads);
      tf.dispose(r.grads);
      tm += performance.now() - b;
      tw += b - a;
    }
    const dt = performance.now() - t0;
    console.log(
      k,
      'workers',
      (((200 * 64) / dt) * 1000).toFixed(0),
      'img/s; step',
      (tw / 200).toFixed(2),
      'ms, main',
      (tm / 200).toFixed(2),
      'ms',
    );
    await pool.close();
  }
})();
