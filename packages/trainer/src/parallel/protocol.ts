// Messages between the training loop and its data-parallel workers, with the type guards that check
// them where they cross the thread boundary. Bulk data never travels in messages: the training images,
// the weights, the gradients and the batch statistics live in SharedArrayBuffers set up once.
import { types } from 'node:util';
import type { RngState } from '@dataver/foundation';
import type { BatchSyncShared } from '../backend/batch-sync.js';
import type { BackendPreference } from '../backend/select.js';
import { MODEL_NAMES, type ModelName, type ModelOptions } from '../model/index.js';

/** Shared memory of a pool, seen by every thread. */
export interface PoolShared {
  /** Training images (count × 784 float32) and labels (int32). */
  images: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  /** All variables (trainable and batch-norm statistics) in model order, written before each step. */
  weights: SharedArrayBuffer;
  /** One gradient block (trainable variables in model order) per worker. */
  grads: SharedArrayBuffer;
  gradSize: number;
  sync: BatchSyncShared;
  /** Validation images (count × 784 float32) and their logits (count × classes), or null without. */
  validation: { images: SharedArrayBuffer; count: number; logits: SharedArrayBuffer } | null;
}

/** What a worker is started with (its `workerData`). */
export interface WorkerInit {
  model: ModelName;
  options: ModelOptions;
  backend: BackendPreference;
  /** This worker's gradient block in `shared.grads`. */
  index: number;
  shared: PoolShared;
}

/** A worker's slice of one batch. */
export interface SliceWork {
  /** Indices into the shared training images of this worker's images, in batch order. */
  indices: Int32Array;
  offset: number;
  total: number;
  /** This slice's rows of the batch's augmentation plan, or null without augmentation. */
  plan: Float64Array | null;
  background: number;
}

/** One step's work for a worker: its slice of this batch, and of the next one to prepare meanwhile. */
export interface StepRequest {
  kind: 'step';
  work: SliceWork;
  /** The next batch's slice: gathered and augmented after the reply, while the main thread updates. */
  next: SliceWork | null;
  /** Generator state of the step (the same for every thread: dropout masks are drawn batch-wide). */
  rng: RngState;
}

/** Logits of validation images start…start + count − 1 with the weights now in shared memory. */
export interface LogitsRequest {
  kind: 'logits';
  start: number;
  count: number;
}

/** A worker's answer to a {@link LogitsRequest}: the logits are in `shared.validation.logits`. */
export interface LogitsReply {
  kind: 'logits';
}

/** A worker's answer to a {@link StepRequest}; its gradients are in its block of `shared.grads`. */
export interface StepReply {
  kind: 'step';
  /** This slice's share of the batch's mean loss. */
  loss: number;
  correct: number;
}

/** Sent by a worker whose step failed (it has aborted the step's barrier). */
export interface ErrorReply {
  kind: 'error';
  message: string;
}

/** Sent once by a worker when its backend and model replica are ready. */
export interface ReadyMessage {
  kind: 'ready';
}

/** Everything a worker sends. */
export type WorkerMessage = ReadyMessage | StepReply | LogitsReply | ErrorReply;

// util.types checks work across realms (jest runs code in a vm context whose typed arrays are not the
// ones that deserialize worker messages), unlike instanceof.
const { isInt32Array, isFloat64Array, isSharedArrayBuffer } = types;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const BACKEND_PREFERENCES: readonly string[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

function isPoolShared(value: unknown): value is PoolShared {
  return (
    isRecord(value) &&
    isSharedArrayBuffer(value.images) &&
    isSharedArrayBuffer(value.labels) &&
    isSharedArrayBuffer(value.weights) &&
    isSharedArrayBuffer(value.grads) &&
    typeof value.gradSize === 'number' &&
    isRecord(value.sync) &&
    isSharedArrayBuffer(value.sync.buffer) &&
    typeof value.sync.parties === 'number' &&
    typeof value.sync.maxImages === 'number' &&
    typeof value.sync.maxWidth === 'number' &&
    (value.validation === null ||
      (isRecord(value.validation) &&
        isSharedArrayBuffer(value.validation.images) &&
        isSharedArrayBuffer(value.validation.logits) &&
        typeof value.validation.count === 'number'))
  );
}

/**
 * Checks a worker's `workerData`.
 *
 * @example
 * ```ts
 * if (!isWorkerInit(workerData)) throw new Error('bad workerData');
 * ```
 */
export function isWorkerInit(value: unknown): value is WorkerInit {
  return (
    isRecord(value) &&
    MODEL_NAMES.some((name) => name === value.model) &&
    isRecord(value.options) &&
    typeof value.backend === 'string' &&
    BACKEND_PREFERENCES.includes(value.backend) &&
    typeof value.index === 'number' &&
    isPoolShared(value.shared)
  );
}

/**
 * Checks a message received by a worker.
 *
 * @example
 * ```ts
 * port.on('message', (m: unknown) => { if (isStepRequest(m)) step(m); });
 * ```
 */
export function isStepRequest(value: unknown): value is StepRequest {
  return (
    isRecord(value) &&
    value.kind === 'step' &&
    isSliceWork(value.work) &&
    (value.next === null || isSliceWork(value.next)) &&
    Array.isArray(value.rng) &&
    value.rng.length === 4 &&
    value.rng.every((x) => typeof x === 'number')
  );
}

/**
 * Checks a message received by a worker: a request for validation logits.
 *
 * @example
 * ```ts
 * if (isLogitsRequest(m)) classify(m.start, m.count);
 * ```
 */
export function isLogitsRequest(value: unknown): value is LogitsRequest {
  return (
    isRecord(value) &&
    value.kind === 'logits' &&
    Number.isInteger(value.start) &&
    Number.isInteger(value.count)
  );
}

function isSliceWork(value: unknown): value is SliceWork {
  return (
    isRecord(value) &&
    isInt32Array(value.indices) &&
    typeof value.offset === 'number' &&
    typeof value.total === 'number' &&
    (value.plan === null || isFloat64Array(value.plan)) &&
    typeof value.background === 'number'
  );
}

/**
 * Checks a message received from a worker.
 *
 * @example
 * ```ts
 * worker.on('message', (m: unknown) => { if (isWorkerMessage(m) && m.kind === 'step') use(m.loss); });
 * ```
 */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (!isRecord(value)) return false;
  if (value.kind === 'ready') return true;
  if (value.kind === 'error') return typeof value.message === 'string';
  if (value.kind === 'logits') return true;
  return value.kind === 'step' && typeof value.loss === 'number' && typeof value.correct === 'number';
}
