// Worker thread of data-parallel training: holds its own backend and model replica; for each step it
// reads the weights from shared memory, gathers and augments its slice of the batch from the shared
// training set, runs the gradient step (batch statistics exchanged with the other threads) and leaves
// its gradients in its block of shared memory.

import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { BatchSync } from '../backend/batch-sync.js';
import { initBackend } from '../backend/select.js';
import { createModel } from '../model/index.js';
import { gradientStep } from '../model/step.js';
import {
  type ErrorReply,
  isStepRequest,
  isWorkerInit,
  type ReadyMessage,
  type StepReply,
} from './protocol.js';
import { createStaging, flattenGrads, gatherSlice, readVariables } from './slices.js';

async function start(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('parallel/worker.js runs as a worker thread only');
  if (!isWorkerInit(workerData)) throw new Error('parallel/worker.js was started with invalid workerData');
  const { shared, index } = workerData;
  await initBackend(workerData.backend);
  const model = createModel(workerData.model, workerData.options);
  const trainables = model.variables.filter((v) => v.trainable);
  const trainVars = trainables.map((v) => v.variable);
  const images = new Float32Array(shared.images);
  const labels = new Int32Array(shared.labels);
  const weights = new Float32Array(shared.weights);
  const grads = new Float32Array(shared.grads, index * shared.gradSize * 4, shared.gradSize);
  const sync = new BatchSync(shared.sync);
  const staging = createStaging(shared.sync.maxImages);

  port.on('message', (message: unknown) => {
    try {
      if (!isStepRequest(message)) throw new Error('parallel/worker.js received an invalid step request');
      readVariables(model.variables, weights);
      const slice = gatherSlice(images, labels, message.indices, staging);
      const r = gradientStep(model, slice.images, slice.labels, Rng.fromState(message.rng), trainVars, {
        slice: { offset: message.offset, count: message.indices.length, total: message.total },
        sync,
        augment: message.plan ? { plan: message.plan, background: message.background } : undefined,
      });
      flattenGrads(trainables, r.grads, grads);
      tf.dispose(r.grads);
      const reply: StepReply = { kind: 'step', loss: r.loss, correct: r.correct };
      port.postMessage(reply);
    } catch (error) {
      // The other threads may be waiting at a barrier for this one: release them.
      sync.abort();
      const reply: ErrorReply = {
        kind: 'error',
        message: error instanceof Error ? error.message : String(error),
      };
      port.postMessage(reply);
    }
  });
  const ready: ReadyMessage = { kind: 'ready' };
  port.postMessage(ready);
}

void start();
