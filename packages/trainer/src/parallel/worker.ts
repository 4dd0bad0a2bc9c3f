// Worker thread of data-parallel training: holds its own wasm backend and model replica, and for each
// step receives the current weights and a slice of the batch, and returns gradients, loss, correct
// predictions and the batch-norm statistics it saw.

import { parentPort, workerData } from 'node:worker_threads';
import { Rng, type RngState } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { type BackendPreference, initBackend } from '../backend/select.js';
import { createModel, type Model, type ModelName, type ModelOptions } from '../model/index.js';
import type { StepReply, StepRequest } from './protocol.js';

interface Init {
  model: ModelName;
  options: ModelOptions;
  backend: BackendPreference;
}

async function start(): Promise<void> {
  const init = workerData as Init;
  await initBackend(init.backend);
  const model: Model = createModel(init.model, init.options);
  const trainables = model.variables.filter((v) => v.trainable);
  parentPort!.on('message', (req: StepRequest) => {
    let offset = 0;
    for (const v of model.variables) {
      v.variable.assign(
        tf.tensor(req.weights.subarray(offset, offset + v.variable.size), v.variable.shape, 'float32'),
      );
      offset += v.variable.size;
    }
    const n = req.labels.length;
    const rng = Rng.fromState(req.rng as RngState);
    const x = tf.tensor4d(req.images, [n, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(req.labels, 'int32'), model.options.numClasses);
    let predicted: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(
      () => {
        const logits = model.forward(x, { training: true, rng });
        predicted = tf.keep(tf.argMax(logits, 1));
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      },
      trainables.map((v) => v.variable),
    );
    const flatGrads = new Float32Array(req.gradSize);
    let g = 0;
    for (const v of trainables) {
      flatGrads.set(grads[v.variable.name]!.dataSync() as Float32Array, g);
      g += v.variable.size;
    }
    // Batch-norm statistics after this replica's update (the main thread averages them).
    const state = new Float32Array(req.stateSize);
    let s = 0;
    for (const v of model.variables) {
      if (v.trainable) continue;
      state.set(v.variable.dataSync() as Float32Array, s);
      s += v.variable.size;
    }
    const pred = (predicted as unknown as tf.Tensor).dataSync();
    let correct = 0;
    for (let i = 0; i < n; i++) if (pred[i] === req.labels[i]) correct++;
    const reply: StepReply = { loss: value.dataSync()[0]!, correct, grads: flatGrads, state };
    tf.dispose([x, y, value, predicted as unknown as tf.Tensor]);
    tf.dispose(grads);
    parentPort!.postMessage(reply, [flatGrads.buffer as ArrayBuffer, state.buffer as ArrayBuffer]);
  });
  parentPort!.postMessage('ready');
}

void start();
