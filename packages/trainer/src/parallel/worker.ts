// Worker thread of data-parallel training: holds its own backend and model replica; for each step it
// reads the weights from shared memory, runs the gradient step on its slice of the batch (batch
// statistics exchanged with the other threads), leaves its gradients in its block of shared memory, and
// then gathers and augments its slice of the next batch from the shared training set (prefetch). After
// an epoch it classifies its share of the validation images into shared memory.

import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { BatchSync } from '../backend/batch-sync.js';
import { initBackend } from '../backend/select.js';
import { inferLogits } from '../batch.js';
import { PIXELS } from '../data/dataset.js';
import { createModel } from '../model/index.js';
import { gradientStep, type PreparedInput, prepareInput } from '../model/step.js';
import {
  type ErrorReply,
  isLogitsRequest,
  isStepRequest,
  isWorkerInit,
  type LogitsReply,
  type ReadyMessage,
  type SliceWork,
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
  const classes = model.options.numClasses;
  const validation = shared.validation && {
    images: new Float32Array(shared.validation.images),
    logits: new Float32Array(shared.validation.logits),
  };

  // The next step's inputs, made while the main thread sums gradients and updates the weights.
  let prepared: { work: SliceWork; input: PreparedInput } | null = null;
  const prepare = (work: SliceWork): PreparedInput => {
    const slice = gatherSlice(images, labels, work.indices, staging);
    return prepareInput(
      slice.images,
      slice.labels,
      work.plan ? { plan: work.plan, background: work.background } : undefined,
    );
  };
  const takePrepared = (work: SliceWork): PreparedInput => {
    const ready = prepared;
    prepared = null;
    if (ready && sameSlice(ready.work, work)) return ready.input;
    if (ready) tf.dispose([ready.input.x, ready.input.y]);
    return prepare(work);
  };

  port.on('message', (message: unknown) => {
    try {
      if (isLogitsRequest(message)) {
        if (!validation) throw new Error('parallel/worker.js was started without validation images');
        const { start, count } = message;
        readVariables(model.variables, weights);
        inferLogits(
          model,
          validation.images.subarray(start * PIXELS, (start + count) * PIXELS),
          count,
          undefined,
          validation.logits.subarray(start * classes, (start + count) * classes),
        );
        const reply: LogitsReply = { kind: 'logits' };
        port.postMessage(reply);
        return;
      }
      if (!isStepRequest(message)) throw new Error('parallel/worker.js received an invalid step request');
      const { work } = message;
      const input = takePrepared(work);
      readVariables(model.variables, weights);
      const r = gradientStep(model, staging.images, staging.labels, Rng.fromState(message.rng), trainVars, {
        prepared: input,
        slice: { offset: work.offset, count: work.indices.length, total: work.total },
        sync,
      });
      flattenGrads(trainables, r.grads, grads);
      tf.dispose(r.grads);
      const reply: StepReply = { kind: 'step', loss: r.loss, correct: r.correct };
      port.postMessage(reply);
      if (message.next) prepared = { work: message.next, input: prepare(message.next) };
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

function sameSlice(a: SliceWork, b: SliceWork): boolean {
  if (a.offset !== b.offset || a.total !== b.total || a.indices.length !== b.indices.length) return false;
  return a.indices.every((v, i) => v === b.indices[i]);
}

void start();
