// Synchronised batch statistics for data-parallel training: threads that each hold a slice of one batch
// exchange per-image partial sums through shared memory and a barrier, and every thread adds all of
// them in image order. The statistics are then those of the whole batch, bit for bit the same as on one
// thread, so the thread count changes speed, not the maths.

/** Where this thread's images sit in the batch of the current step. */
export interface BatchSlice {
  /** Index of this thread's first image in the batch. */
  offset: number;
  /** Images of this thread. */
  count: number;
  /** Images of the whole batch. */
  total: number;
}

const CONTROL_BYTES = 64;
const ARRIVED = 0;
const GENERATION = 1;
const ABORTED = 2;
/** How long a thread waits at a barrier before it gives up on the others. */
const BARRIER_TIMEOUT_MS = 120_000;

/** The shared block of a {@link BatchSync}: control words, then two alternating slots of partials. */
export interface BatchSyncShared {
  buffer: SharedArrayBuffer;
  parties: number;
  /** Largest batch and largest per-image partial width (2 · channels) the slots hold. */
  maxImages: number;
  maxWidth: number;
}

/**
 * Allocates the shared block for `parties` threads.
 *
 * @example
 * ```ts
 * const shared = createBatchSyncShared(2, 64, 2 * 64);
 * ```
 */
export function createBatchSyncShared(parties: number, maxImages: number, maxWidth: number): BatchSyncShared {
  const slot = maxImages * maxWidth * 8;
  return { buffer: new SharedArrayBuffer(CONTROL_BYTES + 2 * slot), parties, maxImages, maxWidth };
}

/** One thread's handle on the shared block. */
export class BatchSync {
  private readonly control: Int32Array;
  private readonly slots: [Float64Array, Float64Array];
  private call = 0;

  /**
   * @example
   * ```ts
   * const sync = new BatchSync(shared); // in every participating thread
   * ```
   */
  constructor(private readonly shared: BatchSyncShared) {
    this.control = new Int32Array(shared.buffer, 0, CONTROL_BYTES / 4);
    const len = shared.maxImages * shared.maxWidth;
    this.slots = [
      new Float64Array(shared.buffer, CONTROL_BYTES, len),
      new Float64Array(shared.buffer, CONTROL_BYTES + len * 8, len),
    ];
  }

  /** Starts a step: every thread makes the same sequence of reductions from here. */
  resetStep(): void {
    this.call = 0;
  }

  /**
   * Publishes this thread's per-image partials (count × width, for images offset…) and returns the
   * sums over all images of the batch, added in image order. Two slots alternate, so one barrier per
   * call is enough: no thread can reuse a slot before every thread has read it.
   */
  reduce(partials: Float64Array, width: number, slice: BatchSlice): Float64Array {
    if (width > this.shared.maxWidth || slice.total > this.shared.maxImages)
      throw new Error(`batch statistics of ${slice.total}×${width} exceed the shared block`);
    const slot = this.slots[this.call & 1]!;
    this.call++;
    slot.set(partials.subarray(0, slice.count * width), slice.offset * width);
    this.barrier();
    return sumImages(slot, slice.total, width);
  }

  /** Makes every thread waiting at a barrier (now or later) throw: a participant has failed. */
  abort(): void {
    Atomics.store(this.control, ABORTED, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
  }

  private barrier(): void {
    const c = this.control;
    if (Atomics.load(c, ABORTED)) throw new Error('a training thread failed: batch step aborted');
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, ARRIVED, 1) === this.shared.parties - 1) {
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    // A short spin first: the others are usually microseconds away, and a wait/notify round trip costs more.
    for (let i = 0; i < 4000; i++) if (Atomics.load(c, GENERATION) !== generation) break;
    while (Atomics.load(c, GENERATION) === generation) {
      if (Atomics.wait(c, GENERATION, generation, BARRIER_TIMEOUT_MS) === 'timed-out')
        throw new Error(`a training thread did not reach the batch barrier within ${BARRIER_TIMEOUT_MS} ms`);
    }
    if (Atomics.load(c, ABORTED)) throw new Error('a training thread failed: batch step aborted');
  }
}

/**
 * Sums per-image rows (images × width) in image order, in float64.
 *
 * @example
 * ```ts
 * sumImages(new Float64Array([1, 2, 3, 4]), 2, 2); // Float64Array [4, 6]
 * ```
 */
export function sumImages(partials: Float64Array, images: number, width: number): Float64Array {
  const out = new Float64Array(width);
  for (let i = 0; i < images; i++) {
    const row = i * width;
    for (let j = 0; j < width; j++) out[j]! += partials[row + j]!;
  }
  return out;
}

interface BatchContext {
  slice: BatchSlice;
  sync: BatchSync | null;
}

let current: BatchContext | null = null;

/**
 * Runs `fn` (a training step of this thread's slice) with the slice and the thread group's sync known
 * to the kernels: batch statistics and the loss are then those of the whole batch.
 *
 * @example
 * ```ts
 * const r = withBatchSlice({ offset: 32, count: 32, total: 64 }, sync, () => gradientStep(...));
 * ```
 */
export function withBatchSlice<T>(slice: BatchSlice, sync: BatchSync | null, fn: () => T): T {
  const previous = current;
  current = { slice, sync };
  sync?.resetStep();
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/**
 * The slice of the running step, or a whole batch of `count` images outside a sliced step.
 *
 * @example
 * ```ts
 * const { total } = currentSlice(n); // images whose statistics a batch-norm layer uses
 * ```
 */
export function currentSlice(count: number): BatchSlice {
  return current?.slice ?? { offset: 0, count, total: count };
}

/**
 * Batch-wide sums of per-image partials (count × width): across the thread group when the step is
 * split, else over this thread's images; both add the same numbers in the same order.
 *
 * @example
 * ```ts
 * const sums = reduceOverBatch(partials, count, 2 * channels);
 * ```
 */
export function reduceOverBatch(partials: Float64Array, count: number, width: number): Float64Array {
  if (current?.sync && current.slice.count === count)
    return current.sync.reduce(partials, width, current.slice);
  return sumImages(partials, count, width);
}
