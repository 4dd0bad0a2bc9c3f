// From request images to probabilities: every image's header is checked against the limits on the main
// thread (microseconds, nothing decoded), then small images go to the model workers with their bytes and
// large ones through the decode pool first. The answer's fields are built here too.
import { checkImageLimits, probeImage } from '../data/image-probe.js';
import type { DecodePool } from './decode-pool.js';
import type { InferencePool, ModelInput } from './inference-pool.js';
import type { ServeLimits } from './options.js';

/** One image of a request: its bytes and the name that error messages use. */
export interface RequestImage {
  name: string;
  bytes: Uint8Array;
}

/** The per-image fields of an answer. */
export interface PredictionFields {
  prediction: number;
  confidence: number;
  probabilities: number[];
  low_confidence: boolean;
}

/**
 * The answer fields for one probability row.
 *
 * @example
 * ```ts
 * predictionFields(Float32Array.from([0.1, 0.9]), 0.7); // { prediction: 1, confidence: 0.9…, … }
 * ```
 */
export function predictionFields(probabilities: Float32Array, threshold: number): PredictionFields {
  let best = 0;
  for (let k = 1; k < probabilities.length; k++) if (probabilities[k]! > probabilities[best]!) best = k;
  const confidence = probabilities[best] ?? 0;
  return {
    prediction: best,
    confidence,
    probabilities: Array.from(probabilities),
    low_confidence: confidence < threshold,
  };
}

/** Routes images to the right workers. */
export class Predictor {
  /**
   * @example
   * ```ts
   * const predictor = new Predictor(inference, decode, limits, 512 * 512);
   * const rows = await predictor.classify([{ name: 'file', bytes }]);
   * ```
   */
  constructor(
    private readonly inference: InferencePool,
    private readonly decodePool: DecodePool,
    private readonly limits: ServeLimits,
    private readonly fastLanePixels: number,
  ) {}

  /**
   * Checks every image's header, then classifies them all; rejects with the first refusal.
   *
   * @example
   * ```ts
   * const [row] = await predictor.classify([{ name: 'file', bytes }]);
   * ```
   */
  async classify(images: RequestImage[]): Promise<Float32Array[]> {
    // All headers first: a bomb among the images is refused before anything is decoded.
    const headers = images.map(({ name, bytes }) => {
      const header = probeImage(bytes, name);
      checkImageLimits(header, this.limits, name);
      return header;
    });
    const inputs = await Promise.all(
      images.map(async ({ name, bytes }, i): Promise<ModelInput> => {
        const header = headers[i]!;
        if (header.width * header.height <= this.fastLanePixels) return { name, bytes };
        return { name, ink: await this.decodePool.decode(bytes, name) };
      }),
    );
    return this.inference.classify(inputs);
  }

  /**
   * Classifies ink that is already in MNIST layout (784 values in [0,1]).
   *
   * @example
   * ```ts
   * const [row] = await predictor.classifyInk(ink);
   * ```
   */
  classifyInk(ink: Float32Array, name = 'pixels'): Promise<Float32Array[]> {
    return this.inference.classify([{ name, ink }]);
  }
}
