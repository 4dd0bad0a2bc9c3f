// Messages between the server's main thread and its worker threads (model workers and decode workers),
// with guards that check what arrives instead of trusting it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendPreference } from '../backend/select.js';
import type { ImageLimits, ImageProblem } from '../data/image-probe.js';

/** workerData of a model worker. */
export interface ModelWorkerInit {
  modelDir: string;
  backend: BackendPreference;
  limits: ImageLimits;
}

/** workerData of a decode worker. */
export interface DecodeWorkerInit {
  limits: ImageLimits;
}

/** One image of a batch: encoded bytes (a slice of `bytes`) or decoded ink (784 values of `inks`). */
export interface BatchItem {
  name: string;
  kind: 'bytes' | 'ink';
  offset: number;
  length: number;
}

/** Main → model worker: classify these images in one model call. */
export interface BatchRequest {
  kind: 'batch';
  id: number;
  items: BatchItem[];
  bytes: Uint8Array;
  inks: Float32Array;
}

/** An image that could not be used, by its index in the batch. */
export interface ItemFailure {
  index: number;
  reason: ImageProblem;
  message: string;
}

/** Model worker → main. */
export type ModelWorkerMessage =
  | { kind: 'ready'; backend: { name: string; reason: string }; warmupMs: number }
  | { kind: 'failed'; message: string; code: string | null }
  | { kind: 'result'; id: number; probabilities: Float32Array; failures: ItemFailure[] }
  | { kind: 'error'; id: number; message: string };

/** Main → decode worker. */
export interface DecodeRequest {
  kind: 'decode';
  id: number;
  name: string;
  bytes: Uint8Array;
}

/** Decode worker → main. */
export type DecodeWorkerMessage =
  | { kind: 'decoded'; id: number; ink: Float32Array }
  | { kind: 'refused'; id: number; reason: ImageProblem | 'internal'; message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isLimits(value: unknown): value is ImageLimits {
  return (
    isRecord(value) && typeof value['maxDimension'] === 'number' && typeof value['maxPixels'] === 'number'
  );
}

/**
 * Checks a model worker's workerData.
 *
 * @example
 * ```ts
 * if (!isModelWorkerInit(workerData)) throw new Error('bad workerData');
 * ```
 */
export function isModelWorkerInit(value: unknown): value is ModelWorkerInit {
  return (
    isRecord(value) &&
    typeof value['modelDir'] === 'string' &&
    typeof value['backend'] === 'string' &&
    isLimits(value['limits'])
  );
}

/**
 * Checks a decode worker's workerData.
 *
 * @example
 * ```ts
 * if (!isDecodeWorkerInit(workerData)) throw new Error('bad workerData');
 * ```
 */
export function isDecodeWorkerInit(value: unknown): value is DecodeWorkerInit {
  return isRecord(value) && isLimits(value['limits']);
}

/**
 * Checks a batch request.
 *
 * @example
 * ```ts
 * port.on('message', (m) => isBatchRequest(m) && run(m));
 * ```
 */
export function isBatchRequest(value: unknown): value is BatchRequest {
  return (
    isRecord(value) &&
    value['kind'] === 'batch' &&
    typeof value['id'] === 'number' &&
    Array.isArray(value['items']) &&
    value['bytes'] instanceof Uint8Array &&
    value['inks'] instanceof Float32Array
  );
}

/**
 * Checks a decode request.
 *
 * @example
 * ```ts
 * port.on('message', (m) => isDecodeRequest(m) && decode(m));
 * ```
 */
export function isDecodeRequest(value: unknown): value is DecodeRequest {
  return (
    isRecord(value) &&
    value['kind'] === 'decode' &&
    typeof value['id'] === 'number' &&
    typeof value['name'] === 'string' &&
    value['bytes'] instanceof Uint8Array
  );
}

/**
 * Checks a message from a model worker.
 *
 * @example
 * ```ts
 * worker.on('message', (m) => { if (isModelWorkerMessage(m) && m.kind === 'ready') start(); });
 * ```
 */
export function isModelWorkerMessage(value: unknown): value is ModelWorkerMessage {
  if (!isRecord(value)) return false;
  switch (value['kind']) {
    case 'ready':
      return isRecord(value['backend']) && typeof value['warmupMs'] === 'number';
    case 'failed':
      return typeof value['message'] === 'string';
    case 'result':
      return (
        typeof value['id'] === 'number' &&
        value['probabilities'] instanceof Float32Array &&
        Array.isArray(value['failures'])
      );
    case 'error':
      return typeof value['id'] === 'number' && typeof value['message'] === 'string';
    default:
      return false;
  }
}

/**
 * Checks a message from a decode worker.
 *
 * @example
 * ```ts
 * worker.on('message', (m) => { if (isDecodeWorkerMessage(m)) settle(m); });
 * ```
 */
export function isDecodeWorkerMessage(value: unknown): value is DecodeWorkerMessage {
  if (!isRecord(value) || typeof value['id'] !== 'number') return false;
  if (value['kind'] === 'decoded') return value['ink'] instanceof Float32Array;
  return value['kind'] === 'refused' && typeof value['message'] === 'string';
}

/**
 * The worker script `file` in `dir`, or the built one when `dir` holds TypeScript sources (tests).
 *
 * @example
 * ```ts
 * new Worker(workerScript(__dirname, 'model-worker.js'));
 * ```
 */
export function workerScript(dir: string, file: string): string {
  const here = path.join(dir, file);
  return fs.existsSync(here) ? here : path.resolve(dir, '../../dist/serve', file);
}
