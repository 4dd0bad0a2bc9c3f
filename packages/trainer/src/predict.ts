// `trainer predict`: classifies image files (PNG/JPEG, any size) with a trained model: the class, its
// probability, all class probabilities, the top-k and a low-confidence flag; optionally a plot of each
// input digit beside its probabilities.
import * as path from 'node:path';
import { writeFileAtomicSync } from '@dataver/foundation';
import { type BackendPreference, initBackend } from './backend/select.js';
import { infer } from './batch.js';
import { PIXELS } from './data/dataset.js';
import { imageToInk, normalizeInk, readImageFile } from './data/image.js';
import type { Model } from './model/index.js';
import { loadModel, type ModelManifest } from './model/io.js';
import { probabilityPlotPng } from './report/plots.js';

/** One image's prediction. */
export interface Prediction {
  file?: string;
  prediction: number;
  confidence: number;
  /** Probability of every class, in class order (they sum to 1). */
  probabilities: number[];
  top: Array<{ class: number; probability: number }>;
  lowConfidence: boolean;
}

/** Options of {@link predictFiles}. */
export interface PredictOptions {
  modelDir: string;
  files: string[];
  /** Classes to list [3]. */
  topK?: number;
  /** Below this top probability a prediction is flagged [0.7]. */
  threshold?: number;
  backend?: BackendPreference;
  /** Write a PNG of every input digit beside a bar chart of its probabilities here. */
  plot?: string;
}

/**
 * Predicts normalized 28×28 images with a loaded model.
 *
 * @example
 * ```ts
 * const [p] = predictNormalized(model, x, 1, { topK: 3, threshold: 0.7 });
 * ```
 */
export function predictNormalized(
  model: Model,
  images: Float32Array,
  count: number,
  options: { topK?: number; threshold?: number } = {},
): Prediction[] {
  const k = model.options.numClasses;
  const topK = Math.max(1, Math.min(k, options.topK ?? 3));
  const threshold = options.threshold ?? 0.7;
  const { probabilities, predictions } = infer(model, images, count);
  const out: Prediction[] = [];
  for (let i = 0; i < count; i++) {
    const probs = Array.from(probabilities.subarray(i * k, (i + 1) * k));
    const top = probs
      .map((p, c) => ({ class: c, probability: p }))
      .sort((a, b) => b.probability - a.probability || a.class - b.class)
      .slice(0, topK);
    const prediction = predictions[i] ?? 0;
    const confidence = probs[prediction] ?? 0;
    out.push({ prediction, confidence, probabilities: probs, top, lowConfidence: confidence < threshold });
  }
  return out;
}

/**
 * Loads a model and predicts image files.
 *
 * @example
 * ```ts
 * const { predictions } = await predictFiles({ modelDir: 'models/latest', files: ['seven.png'], plot: 'seven.plot.png' });
 * ```
 */
export async function predictFiles(
  opts: PredictOptions,
): Promise<{ manifest: ModelManifest; predictions: Prediction[]; plot: string | null }> {
  // Decode first: a bad image fails before the backend loads.
  const inks = opts.files.map((f) => imageToInk(readImageFile(f), f));
  await initBackend(opts.backend);
  const { model, manifest } = loadModel(opts.modelDir);
  const images = new Float32Array(inks.length * PIXELS);
  for (const [i, ink] of inks.entries()) images.set(normalizeInk(ink, manifest.normalization), i * PIXELS);
  const predictions = predictNormalized(model, images, inks.length, opts).map((p, i) => {
    const file = opts.files[i] ?? '';
    return { file: path.relative(process.cwd(), file) || file, ...p };
  });
  model.dispose();
  if (opts.plot) {
    const rows = predictions.map((p, i) => ({
      ink: inks[i] ?? new Float32Array(PIXELS),
      probabilities: p.probabilities,
      caption: `${path.basename(p.file)}: ${p.prediction} (${(100 * p.confidence).toFixed(1)}%)`,
    }));
    writeFileAtomicSync(opts.plot, probabilityPlotPng(rows), { mkdir: true });
  }
  return { manifest, predictions, plot: opts.plot ?? null };
}
