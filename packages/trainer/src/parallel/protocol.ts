// Messages between the training loop and its data-parallel workers, with the type guards that check
// them where they cross the thread boundary (structured clone keeps typed arrays as they are).
import { types } from 'node:util';
import type { RngState } from '@dataver/foundation';
import type { BackendPreference } from '../backend/select.js';
import { MODEL_NAMES, type ModelName, type ModelOptions } from '../model/index.js';

/** What a worker is started with (its `workerData`). */
export interface WorkerInit {
  model: ModelName;
  options: ModelOptions;
  backend: BackendPreference;
}

/** One step's work for a worker. */
export interface StepRequest {
  /** All variables (trainable and batch-norm statistics) in model order. */
  weights: Float32Array;
  /** Transferred, so backed by its own ArrayBuffer. */
  images: Float32Array<ArrayBuffer>;
  labels: Int32Array<ArrayBuffer>;
  /** Generator state for this replica's dropout masks. */
  rng: RngState;
  gradSize: number;
  stateSize: number;
}

/** A worker's answer to a {@link StepRequest}. */
export interface StepReply {
  kind: 'step';
  /** Mean loss over the worker's slice. */
  loss: number;
  correct: number;
  /** Gradients of the trainable variables, flattened in model order. */
  grads: Float32Array<ArrayBuffer>;
  /** Non-trainable variables (batch-norm statistics) after the step. */
  state: Float32Array<ArrayBuffer>;
}

/** Sent once by a worker when its backend and model replica are ready. */
export interface ReadyMessage {
  kind: 'ready';
}

/** Everything a worker sends. */
export type WorkerMessage = ReadyMessage | StepReply;

// util.types checks work across realms (jest runs code in a vm context whose Float32Array is not the
// one that deserializes worker messages), unlike instanceof.
const { isFloat32Array, isInt32Array } = types;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const BACKEND_PREFERENCES: readonly string[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

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
    BACKEND_PREFERENCES.includes(value.backend)
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
    isFloat32Array(value.weights) &&
    isFloat32Array(value.images) &&
    isInt32Array(value.labels) &&
    Array.isArray(value.rng) &&
    value.rng.length === 4 &&
    value.rng.every((x) => typeof x === 'number') &&
    typeof value.gradSize === 'number' &&
    typeof value.stateSize === 'number'
  );
}

/**
 * Checks a message received from a worker.
 *
 * @example
 * ```ts
 * worker.on('message', (m: unknown) => { if (isWorkerMessage(m) && m.kind === 'step') use(m.grads); });
 * ```
 */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (!isRecord(value)) return false;
  if (value.kind === 'ready') return true;
  return (
    value.kind === 'step' &&
    typeof value.loss === 'number' &&
    typeof value.correct === 'number' &&
    isFloat32Array(value.grads) &&
    isFloat32Array(value.state)
  );
}
