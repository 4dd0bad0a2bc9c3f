// Decode workers for large images: one image per worker at a time, each with a time limit; a worker
// that overruns it is terminated and replaced, so a hostile image costs one slot for a bounded time.
import { Worker } from 'node:worker_threads';
import type { ImageLimits } from '../data/image-probe.js';
import { ApiError, imageApiError } from './http-errors.js';
import {
  type DecodeRequest,
  type DecodeWorkerInit,
  isDecodeWorkerMessage,
  workerScript,
} from './worker-protocol.js';

/** Options of {@link DecodePool}. */
export interface DecodePoolOptions {
  size: number;
  limits: ImageLimits;
  timeoutMs: number;
  maxQueue: number;
}

interface Job {
  id: number;
  name: string;
  bytes: Uint8Array;
  resolve: (ink: Float32Array) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  /** Terminated for overrunning its time; it takes no job until replaced. */
  dead: boolean;
}

/** A pool of decode workers with a per-image time limit. */
export class DecodePool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closing = false;

  /**
   * Starts `options.size` decode workers.
   *
   * @example
   * ```ts
   * const pool = new DecodePool({ size: 1, limits, timeoutMs: 5000, maxQueue: 256 });
   * const ink = await pool.decode(bytes, 'file');
   * ```
   */
  constructor(private readonly options: DecodePoolOptions) {
    this.slots = Array.from({ length: Math.max(1, options.size) }, () => this.slot());
  }

  /** Images waiting for a decode worker. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Decodes one image to 784 ink values; rejects with the image's refusal (an {@link ApiError}),
   * `decode_timeout` after `timeoutMs`, or 503 when too many wait.
   *
   * @example
   * ```ts
   * const ink = await pool.decode(bytes, 'photo.jpg');
   * ```
   */
  decode(bytes: Uint8Array, name: string): Promise<Float32Array> {
    if (this.closing) return Promise.reject(new ApiError(503, 'not_ready', 'the server is shutting down'));
    if (this.queue.length >= this.options.maxQueue)
      return Promise.reject(
        new ApiError(503, 'overloaded', 'too many large images are waiting; retry later'),
      );
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, name, bytes, resolve, reject });
      this.pump();
    });
  }

  /** Refuses new images, waits for those being decoded, and stops the workers. */
  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0))
      job.reject(new ApiError(503, 'not_ready', 'the server is shutting down'));
    await new Promise<void>((resolve) => {
      const check = () => (this.slots.every((s) => s.job === null) ? resolve() : setTimeout(check, 5));
      check();
    });
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private slot(): Slot {
    const init: DecodeWorkerInit = { limits: this.options.limits };
    const slot: Slot = {
      worker: new Worker(workerScript(__dirname, 'decode-worker.js'), { workerData: init }),
      job: null,
      timer: null,
      dead: false,
    };
    slot.worker.on('message', (message: unknown) => {
      if (!isDecodeWorkerMessage(message) || slot.job?.id !== message.id) return;
      const job = this.finish(slot);
      if (message.kind === 'decoded') job?.resolve(message.ink);
      else job?.reject(imageApiError(message.reason, message.message));
      this.pump();
    });
    slot.worker.once('exit', () => {
      if (this.closing) return;
      // Killed for overrunning its time, or crashed: the job (if any) fails, a new worker takes the slot.
      this.finish(slot)?.reject(new ApiError(500, 'internal_error', 'internal error'));
      this.replace(slot);
    });
    return slot;
  }

  private replace(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots[index] = this.slot();
    this.pump();
  }

  private finish(slot: Slot): Job | null {
    const job = slot.job;
    if (slot.timer) clearTimeout(slot.timer);
    slot.job = null;
    slot.timer = null;
    return job;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job !== null || slot.dead) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      slot.timer = setTimeout(() => {
        const overrun = this.finish(slot);
        overrun?.reject(
          imageApiError('timeout', `${overrun.name}: decoding took longer than ${this.options.timeoutMs} ms`),
        );
        slot.dead = true;
        void slot.worker.terminate();
      }, this.options.timeoutMs);
      const request: DecodeRequest = { kind: 'decode', id: job.id, name: job.name, bytes: job.bytes };
      slot.worker.postMessage(request);
    }
  }
}
