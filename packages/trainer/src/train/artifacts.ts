// What a training run leaves on disk. In the output folder, reproducible bit for bit: the model,
// metadata.json, metrics.json and plots. In the logs folder, volatile: metrics.jsonl, TensorBoard
// events and run.json (timings, host, commit, absolute paths).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomicSync } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '../backend/select.js';
import { configHash, type TrainConfig } from '../config.js';
import type { EpochMetrics } from '../model/history.js';
import { countParams, type Model } from '../model/index.js';
import { saveModel } from '../model/io.js';
import { lineChart, type Series } from '../report/plots.js';
import { EventWriter } from '../report/tensorboard.js';
import type { TrainingData } from './data.js';
import type { EpochSink } from './epochs.js';

/** Version written into metadata; bump with incompatible metadata changes. */
export const METADATA_VERSION = 1;

/** The summary of a run as written to metrics.json (reproducible: no timings). */
export interface RunSummary {
  test_accuracy: number | null;
  test_loss: number | null;
  best_epoch: number | null;
  best_val_loss: number | null;
  val_accuracy: number | null;
  train_loss: number | null;
  train_accuracy: number | null;
  epochs_run: number;
  stopped_early: boolean;
}

/** The per-epoch logs of a run: metrics.jsonl and TensorBoard scalars. */
export class RunLog implements EpochSink {
  private constructor(
    readonly metricsFile: string,
    private readonly events: EventWriter,
  ) {}

  /**
   * Opens the logs of a run in `logsDir`: a fresh metrics.jsonl, or the existing one continued on
   * resume; TensorBoard events go to a new file of `logsDir/tensorboard` either way.
   *
   * @example
   * ```ts
   * const runLog = RunLog.open('models/latest/logs', { resume: false });
   * runLog.epoch(metrics);
   * ```
   */
  static open(logsDir: string, options: { resume: boolean }): RunLog {
    fs.mkdirSync(logsDir, { recursive: true });
    const metricsFile = path.join(logsDir, 'metrics.jsonl');
    if (!options.resume) fs.writeFileSync(metricsFile, '');
    return new RunLog(metricsFile, new EventWriter(path.join(logsDir, 'tensorboard')));
  }

  /** Appends one epoch's metrics to metrics.jsonl and its scalars to TensorBoard. */
  epoch(metrics: EpochMetrics): void {
    fs.appendFileSync(this.metricsFile, `${JSON.stringify(metrics)}\n`);
    const scalars: Record<string, number> = {
      'loss/train': metrics.train_loss,
      'accuracy/train': metrics.train_accuracy,
      learning_rate: metrics.learning_rate,
      images_per_second: metrics.images_per_second,
    };
    if (metrics.val_loss !== null && metrics.val_accuracy !== null) {
      scalars['loss/validation'] = metrics.val_loss;
      scalars['accuracy/validation'] = metrics.val_accuracy;
    }
    this.events.scalars(metrics.epoch, scalars);
  }
}

/** Everything {@link writeRunArtifacts} records. */
export interface RunArtifacts {
  outDir: string;
  logsDir: string;
  config: TrainConfig;
  /** The trained model, holding the weights to save. */
  model: Model;
  data: TrainingData;
  backend: BackendChoice;
  history: EpochMetrics[];
  bestEpoch: number | null;
  bestMetric: number | null;
  stoppedEarly: boolean;
  test: { loss: number; accuracy: number } | null;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
  imagesPerSecond: number;
  workers: number;
}

/**
 * Writes the model, plots (loss, accuracy, learning rate), metrics.json and metadata.json into the
 * output folder and run.json into the logs folder; returns the summary and metadata.json's path.
 *
 * @example
 * ```ts
 * const { metadataFile } = writeRunArtifacts({ outDir, logsDir, config, model, data, backend, ...loop,
 *   test, seconds, imagesPerSecond, workers: loop.workers });
 * ```
 */
export function writeRunArtifacts(run: RunArtifacts): { summary: RunSummary; metadataFile: string } {
  const { outDir, logsDir, config, model, data, history, validation } = {
    ...run,
    validation: run.data.validation,
  };
  saveModel(outDir, model, data.normalization);
  writePlots(path.join(outDir, 'plots'), history, validation !== null);

  const last = history[history.length - 1];
  const summary: RunSummary = {
    test_accuracy: run.test?.accuracy ?? null,
    test_loss: run.test?.loss ?? null,
    best_epoch: run.bestEpoch,
    best_val_loss: validation ? run.bestMetric : null,
    val_accuracy: run.bestEpoch ? (history[run.bestEpoch - 1]?.val_accuracy ?? null) : null,
    train_loss: last?.train_loss ?? null,
    train_accuracy: last?.train_accuracy ?? null,
    epochs_run: history.length,
    stopped_early: run.stoppedEarly,
  };
  writeJson(path.join(outDir, 'metrics.json'), summary);

  const { commit, repoRoot, ...stableLineage } = data.lineage;
  writeJson(path.join(logsDir, 'run.json'), {
    createdAt: new Date().toISOString(),
    seconds: run.seconds,
    images_per_second: run.imagesPerSecond,
    workers: run.workers,
    commit,
    repoRoot,
    history,
    host: { platform: process.platform, arch: process.arch, cpus: os.cpus().length, node: process.version },
  });
  const metadataFile = path.join(outDir, 'metadata.json');
  writeJson(metadataFile, {
    format: 'dataver-trainer-run',
    version: METADATA_VERSION,
    config,
    configHash: configHash(config),
    normalization: data.normalization,
    backend: { name: run.backend.name, reason: run.backend.reason, tfjs: tf.version.tfjs },
    model: { name: model.name, options: model.options, parameters: countParams(model) },
    data: {
      dir: config.data.dir,
      files: data.files,
      train: data.train.count,
      validation: validation?.count ?? 0,
      test: data.test.count,
      // Commit and absolute paths change with every checkout: they are in logs/run.json.
      lineage: { ...stableLineage, inRepository: repoRoot !== null },
    },
    metrics: summary,
    history: history.map(({ seconds: _s, images_per_second: _i, ...h }) => h),
  });
  return { summary, metadataFile };
}

function writePlots(dir: string, history: EpochMetrics[], withValidation: boolean): void {
  type Key = 'train_loss' | 'train_accuracy' | 'val_loss' | 'val_accuracy' | 'learning_rate';
  // Validation values are null only in runs without a validation set, whose charts omit them.
  const series = (name: string, key: Key): Series => ({
    name,
    values: history.map((h) => h[key] ?? Number.NaN),
  });
  const curves = (train: Key, validation: Key): Series[] =>
    withValidation ? [series('train', train), series('validation', validation)] : [series('train', train)];
  const charts: Array<[string, Buffer]> = [
    ['loss.png', lineChart('Loss', curves('train_loss', 'val_loss'))],
    ['accuracy.png', lineChart('Accuracy', curves('train_accuracy', 'val_accuracy'))],
    ['learning_rate.png', lineChart('Learning rate', [series('lr', 'learning_rate')])],
  ];
  for (const [name, png] of charts) writeFileAtomicSync(path.join(dir, name), png, { mkdir: true });
}

function writeJson(file: string, value: unknown): void {
  writeFileAtomicSync(file, `${JSON.stringify(value, null, 2)}\n`, { mkdir: true });
}
