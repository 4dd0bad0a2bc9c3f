// The settings of `trainer serve`, each with a documented default: model, threshold, workers, batching,
// and the hard limits that protect the server from oversized or hostile input.
import * as os from 'node:os';
import type { BackendPreference } from '../backend/select.js';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../data/image-probe.js';

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Limits on one request; each violation is a 4xx answer, never a crash. */
export interface ServeLimits extends ImageLimits {
  /** Largest body of an upload or a batch, in bytes [16 MiB]. */
  maxBodyBytes: number;
  /** Largest JSON body of /predict-drawing, in bytes [4 MiB]. */
  maxJsonBytes: number;
  /** Images in one /predict-batch request [64]. */
  maxBatchItems: number;
  /** Longest decode of one large image before it is abandoned, in ms [5000]. */
  decodeTimeoutMs: number;
  /** Images waiting for a model call before new ones get 503 [4096]. */
  maxQueue: number;
}

/** Everything `createServer` needs. */
export interface ServeOptions {
  modelDir: string;
  /** An evaluation report folder (`trainer evaluate --report`) whose figures /model-info shows. */
  reportDir?: string;
  /** Below this top probability a prediction is flagged `low_confidence` [0.7]. */
  threshold: number;
  backend: BackendPreference;
  /** Threads that hold the model and decode small images [one per core, at most 4]. */
  workers: number;
  /** Threads that decode large images [1]. */
  decodeWorkers: number;
  /** Most images in one model call [64]. */
  maxBatch: number;
  /** Images of at most this many pixels are decoded beside the model; larger ones in the decode pool [512 × 512]. */
  fastLanePixels: number;
  limits: ServeLimits;
  logLevel: LogLevel;
  /** How long SIGTERM waits for requests in flight before giving up, in ms [10 000]. */
  shutdownTimeoutMs: number;
}

/**
 * The defaults of every setting but the model directory.
 *
 * @example
 * ```ts
 * const options: ServeOptions = { ...defaultServeOptions(), modelDir: 'models/latest' };
 * ```
 */
export function defaultServeOptions(): Omit<ServeOptions, 'modelDir'> {
  return {
    threshold: 0.7,
    backend: 'auto',
    // One per core, at most 4 (each holds a model and a backend; the main thread mostly waits on I/O).
    workers: Math.min(4, Math.max(1, os.availableParallelism())),
    decodeWorkers: 1,
    maxBatch: 64,
    fastLanePixels: 512 * 512,
    limits: {
      ...DEFAULT_IMAGE_LIMITS,
      maxBodyBytes: 16 * 2 ** 20,
      maxJsonBytes: 4 * 2 ** 20,
      maxBatchItems: 64,
      decodeTimeoutMs: 5000,
      maxQueue: 4096,
    },
    logLevel: 'info',
    shutdownTimeoutMs: 10_000,
  };
}
