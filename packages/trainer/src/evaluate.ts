// `trainer evaluate`: accuracy, per-class precision/recall/F1, confusion matrix and the worst-classified
// samples of a trained model on a test set (processed folder or explicit image/target tensor files).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataverError, writeFileAtomicSync } from '@dataver/foundation';
import { type BackendPreference, initBackend } from './backend/select.js';
import { infer } from './batch.js';
import {
  type Dataset,
  datasetFromTensors,
  loadProcessed,
  PIXELS,
  readTensorChecked,
} from './data/dataset.js';
import { loadModel, readManifest } from './model/io.js';
import { confusionMatrixPng, imageGridPng } from './report/plots.js';
import { robustnessSweep, type SweepOptions, type SweepReport, sweepMarkdown, sweepPng } from './sweep.js';

/** Where the evaluation data comes from. */
export interface EvaluateOptions {
  modelDir: string;
  /** Processed folder: its `test_images`/`test_target` are used [data/processed]. */
  data?: string;
  images?: string;
  targets?: string;
  /** Float images are raw pixels, not normalized. */
  raw?: boolean;
  /** Write confusion matrix (PNG, JSON), worst samples grid and report.json here. */
  reportDir?: string;
  /** How many worst-classified samples to show [32]. */
  worst?: number;
  /** Also measure robustness: the MNIST test digits under every course rotation and each corruption. */
  sweep?: boolean | SweepOptions;
  /**
   * A `manifest.json` of `corrupt-mnist generate` for the evaluated images: accuracy is also
   * reported per shard, with the shard's rotation (a hold-out set of many angles).
   */
  manifest?: string;
  /** Also write the headline metrics (`metrics.json` of the report) to this file, e.g. a pipeline's metrics. */
  metricsFile?: string;
  backend?: BackendPreference;
}

/** Per-class scores. */
export interface ClassReport {
  class: number;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** The evaluation result (`--json` prints it). */
export interface EvaluationReport {
  model: string;
  data: string;
  count: number;
  /** Fraction in [0, 1]. */
  accuracy: number;
  loss: number;
  macroF1: number;
  perClass: ClassReport[];
  confusionMatrix: number[][];
  worst: Array<{ index: number; label: number; predicted: number; confidence: number }>;
  /** The robustness sweep, when asked for. */
  sweep?: SweepReport;
  /** Accuracy per shard of a generated set (with `manifest`), and its mean and worst within ±50°. */
  shards?: {
    perShard: Array<{ start: number; count: number; angle: number | null; accuracy: number }>;
    mean: number;
    worst: number;
    worstAngle: number | null;
  };
  files?: Record<string, string>;
}

/**
 * Computes precision, recall and F1 per class from a confusion matrix (rows true, columns predicted).
 *
 * @example
 * ```ts
 * perClassReport([[5, 1], [0, 4]]); // class 0: precision 1, recall 5/6, …
 * ```
 */
export function perClassReport(confusion: number[][]): ClassReport[] {
  return confusion.map((row, c) => {
    const tp = row[c] ?? 0;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((sum, r) => sum + (r[c] ?? 0), 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: c, precision, recall, f1, support };
  });
}

/**
 * Evaluates a model directory on a test set.
 *
 * @example
 * ```ts
 * const report = await evaluate({ modelDir: 'models/latest', data: 'data/processed' });
 * console.log(report.accuracy);
 * ```
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvaluationReport> {
  if ((opts.images && !opts.targets) || (!opts.images && opts.targets)) {
    throw new DataverError('USAGE', '--images and --targets go together');
  }
  const modelDir = path.resolve(opts.modelDir);
  // Model manifest and data are read before tfjs loads: bad input fails fast and cheaply.
  const manifest = readManifest(modelDir);
  let ds: Dataset;
  let source: string;
  if (opts.images && opts.targets) {
    const [images, targets] = [await readTensorChecked(opts.images), await readTensorChecked(opts.targets)];
    ds = datasetFromTensors(images, targets, {
      normalization: manifest.normalization,
      raw: opts.raw,
      classes: manifest.classes,
      names: { images: opts.images, targets: opts.targets },
    });
    source = `${opts.images} + ${opts.targets}`;
  } else {
    const dir = opts.data ?? 'data/processed';
    ds = (await loadProcessed(dir, ['test'])).test;
    source = dir;
  }
  await initBackend(opts.backend);
  const { model } = loadModel(modelDir);
  const r = infer(model, ds.images, ds.count, ds.labels);
  const k = manifest.classes;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const wrong: EvaluationReport['worst'] = [];
  for (const [i, label] of ds.labels.entries()) {
    const predicted = r.predictions[i] ?? -1;
    const row = confusion[label];
    if (row && predicted >= 0) row[predicted] = (row[predicted] ?? 0) + 1;
    // Worst: wrong predictions, most confident first (then lowest probability of the true class).
    if (predicted !== label) {
      wrong.push({ index: i, label, predicted, confidence: r.probabilities[i * k + predicted] ?? 0 });
    }
  }
  const perClass = perClassReport(confusion);
  wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  const worst = wrong.slice(0, opts.worst ?? 32);
  const report: EvaluationReport = {
    // Paths as given, not resolved: the report must not depend on where the checkout lives.
    model: opts.modelDir,
    data: source,
    count: ds.count,
    accuracy: r.accuracy!,
    loss: r.loss!,
    macroF1: perClass.reduce((a, c) => a + c.f1, 0) / k,
    perClass,
    confusionMatrix: confusion,
    worst,
  };
  if (opts.manifest) report.shards = perShard(readShards(opts.manifest, ds.count), r.predictions, ds.labels);
  if (opts.sweep) {
    report.sweep = await robustnessSweep(
      model,
      manifest.normalization,
      opts.sweep === true ? {} : opts.sweep,
    );
  }
  const metricsText = `${JSON.stringify(metricsOf(report), null, 2)}\n`;
  if (opts.reportDir) {
    const dir = opts.reportDir;
    const files = {
      confusionPng: path.join(dir, 'confusion_matrix.png'),
      confusionJson: path.join(dir, 'confusion_matrix.json'),
      worstPng: path.join(dir, 'worst.png'),
      report: path.join(dir, 'report.json'),
      metrics: path.join(dir, 'metrics.json'),
      ...(report.sweep
        ? {
            sweepJson: path.join(dir, 'sweep.json'),
            sweepMarkdown: path.join(dir, 'sweep.md'),
            sweepPng: path.join(dir, 'sweep.png'),
          }
        : {}),
    };
    writeFileAtomicSync(files.confusionPng, confusionMatrixPng(confusion), { mkdir: true });
    writeFileAtomicSync(
      files.confusionJson,
      `${JSON.stringify({ labels: [...Array(k).keys()], matrix: confusion }, null, 2)}\n`,
      { mkdir: true },
    );
    const tiles = worst.map((w) => ({
      pixels: ds.images.subarray(w.index * PIXELS, (w.index + 1) * PIXELS),
      caption: `${w.label}>${w.predicted} ${Math.round(w.confidence * 100)}%`,
      bad: true,
    }));
    writeFileAtomicSync(
      files.worstPng,
      imageGridPng(tiles, manifest.normalization, 8, 'Worst classified: true>predicted'),
      { mkdir: true },
    );
    if (report.sweep && files.sweepJson && files.sweepMarkdown && files.sweepPng) {
      writeFileAtomicSync(files.sweepJson, `${JSON.stringify(report.sweep, null, 2)}\n`, { mkdir: true });
      writeFileAtomicSync(files.sweepMarkdown, sweepMarkdown(report.sweep), { mkdir: true });
      writeFileAtomicSync(files.sweepPng, sweepPng(report.sweep), { mkdir: true });
    }
    report.files = files;
    writeFileAtomicSync(files.report, `${JSON.stringify(report, null, 2)}\n`, { mkdir: true });
    writeFileAtomicSync(files.metrics, metricsText, { mkdir: true });
  }
  if (opts.metricsFile) writeFileAtomicSync(opts.metricsFile, metricsText, { mkdir: true });
  model.dispose();
  return report;
}

/** The test-split shards of a generate manifest, checked against the evaluated image count. */
function readShards(file: string, count: number): Array<{ start: number; count: number; angle?: number }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new DataverError('DATA_INVALID', 'not a readable manifest.json of corrupt-mnist generate', {
      file,
      cause,
    });
  }
  const shards = (parsed as { test?: unknown }).test;
  const valid =
    Array.isArray(shards) &&
    shards.every(
      (s: { start?: unknown; count?: unknown; angle?: unknown }) =>
        Number.isInteger(s.start) &&
        Number.isInteger(s.count) &&
        (s.angle === undefined || typeof s.angle === 'number'),
    );
  if (!valid) throw new DataverError('DATA_INVALID', 'manifest.json has no valid "test" shards', { file });
  const list = shards as Array<{ start: number; count: number; angle?: number }>;
  const last = list.at(-1);
  if (!last || last.start + last.count !== count) {
    throw new DataverError(
      'DATA_INVALID',
      `its test shards cover ${last ? last.start + last.count : 0} images, the evaluated set holds ${count}`,
      {
        file,
      },
    );
  }
  return list;
}

function perShard(
  shards: Array<{ start: number; count: number; angle?: number }>,
  predictions: Int32Array,
  labels: Int32Array,
): NonNullable<EvaluationReport['shards']> {
  const per = shards.map((s) => {
    let correct = 0;
    for (let i = s.start; i < s.start + s.count; i++) if (predictions[i] === labels[i]) correct++;
    return { start: s.start, count: s.count, angle: s.angle ?? null, accuracy: correct / s.count };
  });
  const band = per.filter((s) => s.angle === null || Math.abs(s.angle) <= 50);
  const worst = band.reduce<(typeof per)[number] | undefined>(
    (w, s) => (!w || s.accuracy < w.accuracy ? s : w),
    undefined,
  );
  return {
    perShard: per,
    mean: band.reduce((a, s) => a + s.accuracy, 0) / Math.max(1, band.length),
    worst: worst?.accuracy ?? 0,
    worstAngle: worst?.angle ?? null,
  };
}

/** The numbers `dataver metrics diff` compares across commits (fractions, 6 significant digits). */
function metricsOf(report: EvaluationReport): Record<string, number> {
  const r6 = (v: number): number => Number(v.toPrecision(6));
  const sweep = report.sweep;
  return {
    accuracy: report.accuracy,
    loss: report.loss,
    macro_f1: report.macroF1,
    count: report.count,
    ...(report.shards ? { shard_mean: r6(report.shards.mean), shard_worst: r6(report.shards.worst) } : {}),
    ...(sweep ? { clean_mnist: r6(sweep.clean) } : {}),
    ...(sweep?.rotation.length
      ? {
          rotation_mean: r6(sweep.summary.rotationMean),
          rotation_worst: r6(sweep.summary.rotationWorst),
          rotation_mean_60: r6(sweep.summary.rotationMeanAll),
        }
      : {}),
    ...(sweep?.corruptions.length ? { corruption_worst: r6(sweep.summary.corruptionWorst) } : {}),
  };
}
