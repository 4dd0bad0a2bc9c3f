// Data-parallel training on threads: the main thread and `size − 1` workers each take a contiguous slice
// of every batch, gather and augment it themselves from a shared copy of the training set, and run the
// same gradient step. Batch-norm statistics are exchanged at each layer (backend/batch-sync.ts), so
// every thread normalizes with the whole batch's statistics and the gradients (shares of the batch's
// gradient) add up to what one thread computes: the thread count is a speed knob, not part of the
// result, up to float rounding of the gradient sums. For a given count, results are bit-identical.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Rng, type RngState } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { BatchSync, createBatchSyncShared } from '../backend/batch-sync.js';
import type { BackendPreference } from '../backend/select.js';
import { type InferenceResult, inferLogits, scoreLogits } from '../batch.js';
import { PLAN_STRIDE } from '../data/augment.js';
import { type Dataset, PIXELS } from '../data/dataset.js';
import type { Model } from '../model/index.js';
import { gradientStep, type PreparedInput, prepareInput } from '../model/step.js';
import {
  isWorkerMessage,
  type LogitsRequest,
  type PoolShared,
  type SliceWork,
  type StepReply,
  type StepRequest,
  type WorkerInit,
  type WorkerMessage,
} from './protocol.js';
import { createStaging, flattenGrads, gatherSlice, type Staging, writeVariables } from './slices.js';

function workerScript(): string {
  const here = path.join(__dirname, 'worker.js');
  if (fs.existsSync(here)) return here;
  // Running from TypeScript sources (tests): use the built worker.
  return path.resolve(__dirname, '../../dist/parallel/worker.js');
}

/** One batch as the loop hands it to the pool. */
export interface BatchWork {
  /** Indices into the training set, in batch order. */
  indices: Int32Array;
  /** The batch's augmentation plan (data/augment.ts), or null. */
  plan: Float64Array | null;
  background: number;
  /** Generator state of the step, the same for every thread. */
  rng: RngState;
}

/** Result of a parallel step. */
export interface ParallelStep {
  /** Mean loss over the batch. */
  loss: number;
  correct: number;
  /** The batch's gradients keyed by variable name, as tensors (caller disposes). */
  grads: Record<string, tf.Tensor>;
}

/** Slice sizes: as equal as possible, the first ones one larger. */
function sliceSizes(count: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(count / parts) + (i < count % parts ? 1 : 0));
}

/** A group of training threads: the main thread and its workers, each with a model replica. */
export class WorkerPool {
  private failure: Error | null = null;
  /** The main thread's inputs of the next batch, made while the workers finish (prefetch). */
  private prepared: { work: BatchWork; input: PreparedInput } | null = null;

  private constructor(
    private readonly workers: Worker[],
    private readonly model: Model,
    private readonly train: Dataset,
    private readonly shared: PoolShared,
    private readonly sync: BatchSync,
    private readonly staging: Staging,
    private readonly validation: Dataset | null,
  ) {
    for (const w of workers) {
      const fail = (error: Error) => {
        this.failure ??= error;
        this.sync.abort();
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`a training worker exited (code ${code})`)));
    }
  }

  /**
   * Starts `threads − 1` workers with replicas of `model`'s architecture (the main thread is the first
   * of the `threads`), sharing one copy of the training set, for batches of up to `maxBatch` images,
   * and one of the validation set, which {@link evaluate} classifies across the threads.
   *
   * @example
   * ```ts
   * const pool = await WorkerPool.start(model, 2, 'wasm', train, 64, validation);
   * ```
   */
  static async start(
    model: Model,
    threads: number,
    backend: BackendPreference,
    train: Dataset,
    maxBatch: number,
    validation: Dataset | null = null,
  ): Promise<WorkerPool> {
    const images = new SharedArrayBuffer(train.count * PIXELS * 4);
    new Float32Array(images).set(train.images.subarray(0, train.count * PIXELS));
    const labels = new SharedArrayBuffer(train.count * 4);
    new Int32Array(labels).set(train.labels.subarray(0, train.count));
    let total = 0;
    let gradSize = 0;
    let maxChannels = 1;
    for (const v of model.variables) {
      total += v.variable.size;
      if (v.trainable) gradSize += v.variable.size;
      else maxChannels = Math.max(maxChannels, v.variable.size);
    }
    const shared: PoolShared = {
      images,
      labels,
      weights: new SharedArrayBuffer(total * 4),
      grads: new SharedArrayBuffer(Math.max(1, threads - 1) * gradSize * 4),
      gradSize,
      sync: createBatchSyncShared(threads, maxBatch, 2 * maxChannels),
      validation: validation && sharedValidation(validation, model.options.numClasses),
    };
    const script = workerScript();
    const workers = Array.from({ length: threads - 1 }, (_, index) => {
      const init: WorkerInit = { model: model.name, options: model.options, backend, index, shared };
      return new Worker(script, { workerData: init });
    });
    try {
      await Promise.all(workers.map((w) => nextMessage(w).then((m) => expectReply(m, 'ready'))));
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    const staging = createStaging(maxBatch);
    return new WorkerPool(workers, model, train, shared, new BatchSync(shared.sync), staging, validation);
  }

  /** Threads that share each batch (the main thread included). */
  get size(): number {
    return this.workers.length + 1;
  }

  /** The slices of a batch: the main thread's first, then one per worker. */
  private slices(work: BatchWork): SliceWork[] {
    const count = work.indices.length;
    let offset = 0;
    return sliceSizes(count, this.size).map((n) => {
      const slice: SliceWork = {
        indices: work.indices.slice(offset, offset + n),
        offset,
        total: count,
        plan: work.plan ? work.plan.slice(offset * PLAN_STRIDE, (offset + n) * PLAN_STRIDE) : null,
        background: work.background,
      };
      offset += n;
      return slice;
    });
  }

  private prepareOwn(slice: SliceWork): PreparedInput {
    const own = gatherSlice(this.train.images, this.train.labels, slice.indices, this.staging);
    return prepareInput(
      own.images,
      own.labels,
      slice.plan ? { plan: slice.plan, background: slice.background } : undefined,
    );
  }

  /**
   * Runs forward + backward of one batch across the threads; `next` (the following batch, if known) is
   * gathered and augmented by every thread once its part of this step is done.
   */
  async step(work: BatchWork, next: BatchWork | null = null): Promise<ParallelStep> {
    if (this.failure) throw this.failure;
    const count = work.indices.length;
    writeVariables(this.model.variables, new Float32Array(this.shared.weights));
    const slices = this.slices(work);
    const nextSlices = next ? this.slices(next) : null;
    const replies: Array<Promise<StepReply>> = [];
    for (const [i, w] of this.workers.entries()) {
      const request: StepRequest = {
        kind: 'step',
        work: slices[i + 1]!,
        next: nextSlices?.[i + 1] ?? null,
        rng: work.rng,
      };
      replies.push(nextMessage(w).then((m) => expectReply(m, 'step')));
      w.postMessage(request);
    }
    const mine = slices[0]!;
    const ready = this.prepared;
    this.prepared = null;
    const input = ready && ready.work === work ? ready.input : this.prepareOwn(mine);
    if (ready && ready.work !== work) tf.dispose([ready.input.x, ready.input.y]);
    const trainables = this.model.variables.filter((v) => v.trainable);
    let result: ReturnType<typeof gradientStep>;
    try {
      result = gradientStep(
        this.model,
        this.staging.images,
        this.staging.labels,
        Rng.fromState(work.rng),
        trainables.map((v) => v.variable),
        { prepared: input, slice: { offset: 0, count: mine.indices.length, total: count }, sync: this.sync },
      );
    } catch (error) {
      this.sync.abort();
      // A worker that failed first released this thread from a barrier: its message says what went wrong.
      const settled = await Promise.allSettled(replies);
      const first = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      throw this.failure ?? first?.reason ?? error;
    }
    const flat = new Float32Array(this.shared.gradSize);
    flattenGrads(trainables, result.grads, flat);
    tf.dispose(result.grads);
    if (next && nextSlices) this.prepared = { work: next, input: this.prepareOwn(nextSlices[0]!) };
    const answers = await Promise.all(replies);
    let loss = result.loss;
    let correct = result.correct;
    // Shares added in thread order, so that a given thread count always rounds alike.
    for (const [i, r] of answers.entries()) {
      const block = new Float32Array(this.shared.grads, i * this.shared.gradSize * 4, this.shared.gradSize);
      for (let j = 0; j < flat.length; j++) flat[j]! += block[j]!;
      loss += r.loss;
      correct += r.correct;
    }
    const grads: Record<string, tf.Tensor> = {};
    let o = 0;
    for (const v of trainables) {
      grads[v.variable.name] = tf.tensor(flat.subarray(o, o + v.variable.size), v.variable.shape, 'float32');
      o += v.variable.size;
    }
    return { loss, correct, grads };
  }

  /**
   * Loss, accuracy and predictions of the validation set with the model's current weights, each thread
   * classifying a slice: the logits are those of one thread (an image's do not depend on its batch) and
   * are scored here in image order, so the result is bit for bit {@link infer}'s.
   */
  async evaluate(): Promise<InferenceResult> {
    if (this.failure) throw this.failure;
    const validation = this.validation;
    const shared = this.shared.validation;
    if (!validation || !shared) throw new Error('this pool was started without a validation set');
    writeVariables(this.model.variables, new Float32Array(this.shared.weights));
    const classes = this.model.options.numClasses;
    const logits = new Float32Array(shared.logits);
    const sizes = sliceSizes(validation.count, this.size);
    const replies: Array<Promise<void>> = [];
    let start = sizes[0] ?? 0;
    for (const [i, w] of this.workers.entries()) {
      const count = sizes[i + 1] ?? 0;
      const request: LogitsRequest = { kind: 'logits', start, count };
      replies.push(nextMessage(w).then((m) => void expectReply(m, 'logits')));
      w.postMessage(request);
      start += count;
    }
    const own = sizes[0] ?? 0;
    inferLogits(this.model, validation.images, own, undefined, logits.subarray(0, own * classes));
    await Promise.all(replies);
    return scoreLogits(logits, validation.count, classes, validation.labels);
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.prepared) tf.dispose([this.prepared.input.x, this.prepared.input.y]);
    this.prepared = null;
    for (const w of this.workers) w.removeAllListeners('exit');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      worker.off('message', onMessage);
      reject(e);
    };
    const onMessage = (m: unknown) => {
      worker.off('error', onError);
      resolve(m);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}

/**
 * The worker's message if it is of the `kind` expected; a worker's error or anything else throws.
 *
 * @example
 * ```ts
 * const reply = await nextMessage(worker).then((m) => expectReply(m, 'step'));
 * ```
 */
function expectReply<K extends WorkerMessage['kind']>(
  m: unknown,
  kind: K,
): Extract<WorkerMessage, { kind: K }> {
  if (!isWorkerMessage(m)) throw new Error('a training worker sent a malformed message');
  if (m.kind === 'error') throw new Error(`a training worker failed: ${m.message}`);
  if (m.kind !== kind) throw new Error(`a training worker sent '${m.kind}' instead of '${kind}'`);
  // Checked above: the message is of the kind asked for.
  return m as Extract<WorkerMessage, { kind: K }>;
}

/** The validation images in shared memory, and room for their logits. */
function sharedValidation(ds: Dataset, classes: number): NonNullable<PoolShared['validation']> {
  const images = new SharedArrayBuffer(ds.count * PIXELS * 4);
  new Float32Array(images).set(ds.images.subarray(0, ds.count * PIXELS));
  return { images, count: ds.count, logits: new SharedArrayBuffer(ds.count * classes * 4) };
}
