import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select';
import { infer } from '../src/batch';
import { createModel } from '../src/model';
import { loadMnist } from '../test/helpers/mnist';

(async () => {
  await initBackend('wasm');
  const d = loadMnist('test', 10000);
  const m = createModel('cnn-small');
  for (const bs of [256, 1000, 2500]) {
    infer(m, d.images, 2000, undefined, bs);
    const t0 = performance.now();
    infer(m, d.images, 10000, undefined, bs);
    console.log(bs, (10000 / ((performance.now() - t0) / 1000)).toFixed(0), 'img/s');
  }
  if (process.env.PROF) {
    const p = await tf.profile(() => {
      infer(m, d.images, 1000, undefined, 1000);
    });
    const agg: Record<string, number> = {};
    for (const k of p.kernels) agg[k.name] = (agg[k.name] ?? 0) + (k.kernelTimeMs as number);
    console.log(agg);
  }
})();
