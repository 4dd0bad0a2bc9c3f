// Worker thread of data-parallel training: holds its own backend and model replica, and for each step
// receives the current weights and a slice of the batch, and returns gradients, loss, correct
// predictions and the batch-norm statistics it saw.

import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/select.js';
import { createModel } from '../model/index.js';
import { gradientStep } from '../model/step.js';
import {
  isStepRequest,
  isWorkerInit,
  type ReadyMessage,
  type StepReply,
  type StepRequest,
} from './protocol.js';

async function start(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('parallel/worker.js runs as a worker thread only');
  if (!isWorkerInit(workerData)) throw new Error('parallel/worker.js was started with invalid workerData');
  await initBackend(workerData.backend);
  const model = createModel(workerData.model, workerData.options);
  const trainables = model.variables.filter((v) => v.trainable);
  const trainVars = trainables.map((v) => v.variable);

  const step = (req: StepRequest): StepReply => {
    let offset = 0;
    for (const v of model.variables) {
      v.variable.assign(
        tf.tensor(req.weights.subarray(offset, offset + v.variable.size), v.variable.shape, 'float32'),
      );
      offset += v.variable.size;
    }
    const { loss, correct, grads } = gradientStep(
      model,
      req.images,
      req.labels,
      Rng.fromState(req.rng),
      trainVars,
    );
    const flatGrads = new Float32Array(req.gradSize);
    let g = 0;
    for (const v of trainables) {
      const grad = grads[v.variable.name];
      if (grad) flatGrads.set(grad.dataSync(), g);
      g += v.variable.size;
    }
    tf.dispose(grads);
    // Batch-norm statistics after this replica's update (the main thread averages them).
    const state = new Float32Array(req.stateSize);
    let s = 0;
    for (const v of model.variables) {
      if (v.trainable) continue;
      state.set(v.variable.dataSync(), s);
      s += v.variable.size;
    }
    return { kind: 'step', loss, correct, grads: flatGrads, state };
  };

  port.on('message', (message: unknown) => {
    if (!isStepRequest(message)) throw new Error('parallel/worker.js received an invalid step request');
    const reply = step(message);
    port.postMessage(reply, [reply.grads.buffer, reply.state.buffer]);
  });
  const ready: ReadyMessage = { kind: 'ready' };
  port.postMessage(ready);
}

void start();
