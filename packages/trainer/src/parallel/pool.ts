// Data-parallel training on worker threads: each step's batch is split into equal slices, one per
// worker, whose gradients are averaged (weighted by slice size) before one optimizer update on the main
// thread. Batch-norm statistics are per slice ("ghost" batches), so results depend on the worker count,
// which is part of the configuration; for a given count they are deterministic.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Rng } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import type { BackendPreference } from '../backend/select.js';
import type { Model } from '../model/index.js';
import { isWorkerMessage, type StepReply, type StepRequest, type WorkerInit } from './protocol.js';

function workerScript(): string {
  const here = path.join(__dirname, 'worker.js');
  if (fs.existsSync(here)) return here;
  // Running from TypeScript sources (tests): use the built worker.
  return path.resolve(__dirname, '../../dist/parallel/worker.js');
}

/** Result of a parallel step. */
export interface ParallelStep {
  loss: number;
  correct: number;
  /** Averaged gradients keyed by variable name, as tensors (caller disposes). */
  grads: Record<string, tf.Tensor>;
}

/** A pool of training workers holding model replicas. */
export class WorkerPool {
  private constructor(
    private readonly workers: Worker[],
    private readonly model: Model,
  ) {}

  /**
   * Starts `count` workers with replicas of `model`'s architecture.
   *
   * @example
   * ```ts
   * const pool = await WorkerPool.start(model, 2, 'wasm');
   * ```
   */
  static async start(model: Model, count: number, backend: BackendPreference): Promise<WorkerPool> {
    const script = workerScript();
    const init: WorkerInit = { model: model.name, options: model.options, backend };
    const workers = Array.from({ length: count }, () => new Worker(script, { workerData: init }));
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', (m: unknown) =>
              isWorkerMessage(m) && m.kind === 'ready'
                ? resolve()
                : reject(new Error('a training worker sent something else than ready')),
            );
            w.once('error', reject);
          }),
      ),
    );
    return new WorkerPool(workers, model);
  }

  /** Number of workers. */
  get size(): number {
    return this.workers.length;
  }

  /** Runs forward + backward of one batch across the workers and sets the averaged statistics. */
  async step(images: Float32Array, labels: Int32Array, count: number, rng: Rng): Promise<ParallelStep> {
    const vars = this.model.variables;
    let total = 0;
    let gradSize = 0;
    let stateSize = 0;
    for (const v of vars) {
      total += v.variable.size;
      if (v.trainable) gradSize += v.variable.size;
      else stateSize += v.variable.size;
    }
    const weights = new Float32Array(total);
    let o = 0;
    for (const v of vars) {
      weights.set(v.variable.dataSync(), o);
      o += v.variable.size;
    }
    const k = this.workers.length;
    const sizes = Array.from({ length: k }, (_, i) => Math.floor(count / k) + (i < count % k ? 1 : 0));
    let start = 0;
    const replies = await Promise.all(
      this.workers.map((w, i) => {
        const n = sizes[i] ?? 0;
        const req: StepRequest = {
          weights,
          images: images.slice(start * 784, (start + n) * 784),
          labels: labels.slice(start, start + n),
          rng: [rng.uint32(), rng.uint32(), rng.uint32(), rng.uint32() | 1],
          gradSize,
          stateSize,
        };
        start += n;
        return new Promise<StepReply>((resolve, reject) => {
          const onError = (e: Error) => reject(e);
          w.once('error', onError);
          w.once('message', (m: unknown) => {
            w.off('error', onError);
            if (isWorkerMessage(m) && m.kind === 'step') resolve(m);
            else reject(new Error('a training worker answered a step with something else'));
          });
          w.postMessage(req, [req.images.buffer, req.labels.buffer]);
        });
      }),
    );
    const grads = new Float32Array(gradSize);
    const state = new Float32Array(stateSize);
    let loss = 0;
    let correct = 0;
    for (const [i, r] of replies.entries()) {
      const wgt = (sizes[i] ?? 0) / count;
      for (let j = 0; j < gradSize; j++) grads[j]! += wgt * r.grads[j]!;
      for (let j = 0; j < stateSize; j++) state[j]! += r.state[j]! / k;
      loss += wgt * r.loss;
      correct += r.correct;
    }
    const named: Record<string, tf.Tensor> = {};
    let g = 0;
    let s = 0;
    for (const v of vars) {
      if (v.trainable) {
        named[v.variable.name] = tf.tensor(
          grads.subarray(g, g + v.variable.size),
          v.variable.shape,
          'float32',
        );
        g += v.variable.size;
      } else {
        v.variable.assign(tf.tensor(state.subarray(s, s + v.variable.size), v.variable.shape, 'float32'));
        s += v.variable.size;
      }
    }
    return { loss, correct, grads: named };
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
