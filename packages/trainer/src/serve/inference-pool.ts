// Micro-batching over model workers: images of concurrent requests wait in one queue, and whenever a
// worker is free it takes the waiting images (up to `maxBatch`) as one model call. Under light load an
// image goes alone at once; under heavy load batches grow by themselves while the workers are busy.
import { Worker } from 'node:worker_threads';
import type { BackendPreference } from '../backend/select.js';
import { PIXELS } from '../data/dataset.js';
import type { ImageLimits } from '../data/image-probe.js';
import { ApiError, imageApiError } from './http-errors.js';
import {
  type BatchItem,
  type BatchRequest,
  isModelWorkerMessage,
  type ModelWorkerInit,
  type ModelWorkerMessage,
  workerScript,
} from './worker-protocol.js';

/** One image to classify: its encoded bytes, or ink already decoded (784 values in [0,1]). */
export type ModelInput = { name: string; bytes: Uint8Array } | { name: string; ink: Float32Array };

/** Options of {@link InferencePool.start}. */
export interface InferencePoolOptions {
  modelDir: string;
  backend: BackendPreference;
  workers: number;
  maxBatch: number;
  maxQueue: number;
  limits: ImageLimits;
  classes: number;
  /** Called with the size of every model call (metrics). */
  onBatch?: (size: number) => void;
  /** Called when a worker stops unexpectedly (it is replaced). */
  onWorkerExit?: (message: string) => void;
}

interface Waiting {
  input: ModelInput;
  resolve: (probabilities: Float32Array) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Waiting[] | null;
}

/** A pool of model workers fed by one micro-batching queue. */
export class InferencePool {
  private readonly queue: Waiting[] = [];
  private pumping = false;
  private closing = false;
  private nextId = 1;

  private constructor(
    private readonly options: InferencePoolOptions,
    private readonly slots: Slot[],
    /** The backend the workers run. */
    readonly backend: { name: string; reason: string },
  ) {}

  /**
   * Starts the workers and resolves once each has loaded the model and run a warm-up batch.
   *
   * @example
   * ```ts
   * const pool = await InferencePool.start({ modelDir, backend: 'auto', workers: 1, maxBatch: 64,
   *   maxQueue: 4096, limits, classes: 10 });
   * const [probabilities] = await pool.classify([{ name: 'file', bytes }]);
   * ```
   */
  static async start(options: InferencePoolOptions): Promise<InferencePool> {
    const started = await Promise.all(Array.from({ length: options.workers }, () => spawn(options)));
    const pool = new InferencePool(
      options,
      started.map(({ worker }) => ({ worker, busy: null })),
      started[0]?.backend ?? { name: 'none', reason: 'no workers' },
    );
    for (const slot of pool.slots) pool.watch(slot);
    return pool;
  }

  /** Images waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Classifies the images of one request; resolves to one probability row per image, or rejects with
   * the first image's refusal (an {@link ApiError}).
   *
   * @example
   * ```ts
   * const rows = await pool.classify(images);
   * ```
   */
  classify(inputs: ModelInput[]): Promise<Float32Array[]> {
    if (this.closing) return Promise.reject(new ApiError(503, 'not_ready', 'the server is shutting down'));
    if (this.queue.length + inputs.length > this.options.maxQueue)
      return Promise.reject(
        new ApiError(503, 'overloaded', `${this.queue.length} images are waiting already; retry later`),
      );
    const rows = inputs.map(
      (input) => new Promise<Float32Array>((resolve, reject) => this.queue.push({ input, resolve, reject })),
    );
    if (!this.pumping) {
      this.pumping = true;
      // Wait for the rest of this event-loop turn: requests that arrived together share a batch.
      setImmediate(() => {
        this.pumping = false;
        this.pump();
      });
    }
    return Promise.all(rows);
  }

  /** Stops taking images, waits for the batches in flight, and stops the workers. */
  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.queue.splice(0))
      w.reject(new ApiError(503, 'not_ready', 'the server is shutting down'));
    await Promise.all(this.slots.map((slot) => this.idle(slot)));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private idle(slot: Slot): Promise<void> {
    if (slot.busy === null) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (slot.busy === null ? resolve() : setTimeout(check, 5));
      check();
    });
  }

  private pump(): void {
    const free = this.slots.filter((s) => s.busy === null);
    for (const [k, slot] of free.entries()) {
      if (this.queue.length === 0) return;
      // Share what waits among the free workers, at most maxBatch each.
      const share = Math.ceil(this.queue.length / (free.length - k));
      this.send(slot, this.queue.splice(0, Math.min(this.options.maxBatch, share)));
    }
  }

  private send(slot: Slot, batch: Waiting[]): void {
    const items: BatchItem[] = [];
    let byteLength = 0;
    let inkCount = 0;
    for (const { input } of batch) {
      if ('bytes' in input) byteLength += input.bytes.length;
      else inkCount++;
    }
    // One buffer of each kind, transferred: no per-image copies across threads.
    const bytes = new Uint8Array(byteLength);
    const inks = new Float32Array(inkCount * PIXELS);
    let b = 0;
    let k = 0;
    for (const { input } of batch) {
      if ('bytes' in input) {
        bytes.set(input.bytes, b);
        items.push({ name: input.name, kind: 'bytes', offset: b, length: input.bytes.length });
        b += input.bytes.length;
      } else {
        inks.set(input.ink.subarray(0, PIXELS), k * PIXELS);
        items.push({ name: input.name, kind: 'ink', offset: k * PIXELS, length: PIXELS });
        k++;
      }
    }
    const request: BatchRequest = { kind: 'batch', id: this.nextId++, items, bytes, inks };
    slot.busy = batch;
    this.options.onBatch?.(batch.length);
    slot.worker.postMessage(request, [bytes.buffer, inks.buffer]);
  }

  private settle(slot: Slot, message: ModelWorkerMessage): void {
    const batch = slot.busy;
    slot.busy = null;
    if (batch) {
      if (message.kind === 'result') {
        const classes = this.options.classes;
        const failed = new Map(message.failures.map((f) => [f.index, f]));
        for (const [i, w] of batch.entries()) {
          const failure = failed.get(i);
          if (failure) w.reject(imageApiError(failure.reason, failure.message));
          else w.resolve(message.probabilities.slice(i * classes, (i + 1) * classes));
        }
      } else {
        for (const w of batch)
          w.reject(
            new Error(`model worker failed: ${'message' in message ? message.message : message.kind}`),
          );
      }
    }
    if (this.queue.length > 0) this.pump();
  }

  private watch(slot: Slot): void {
    slot.worker.on('message', (message: unknown) => {
      if (isModelWorkerMessage(message) && (message.kind === 'result' || message.kind === 'error'))
        this.settle(slot, message);
    });
    slot.worker.once('exit', (code) => {
      if (this.closing) return;
      const why = `a model worker stopped (exit code ${code}); starting another`;
      this.options.onWorkerExit?.(why);
      for (const w of slot.busy ?? []) w.reject(new Error(why));
      slot.busy = [];
      spawn(this.options).then(
        ({ worker }) => {
          slot.worker = worker;
          slot.busy = null;
          this.watch(slot);
          this.pump();
        },
        (error: Error) => this.options.onWorkerExit?.(`could not restart a model worker: ${error.message}`),
      );
    });
  }
}

function spawn(
  options: InferencePoolOptions,
): Promise<{ worker: Worker; backend: { name: string; reason: string } }> {
  const init: ModelWorkerInit = {
    modelDir: options.modelDir,
    backend: options.backend,
    limits: options.limits,
  };
  const worker = new Worker(workerScript(__dirname, 'model-worker.js'), { workerData: init });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      void worker.terminate();
      reject(error);
    };
    worker.once('message', (message: unknown) => {
      if (isModelWorkerMessage(message) && message.kind === 'ready')
        resolve({ worker, backend: message.backend });
      else if (isModelWorkerMessage(message) && message.kind === 'failed')
        fail(Object.assign(new Error(message.message), { code: message.code }));
      else fail(new Error('a model worker sent something else than ready'));
    });
    worker.once('error', fail);
  });
}
