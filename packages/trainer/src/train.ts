// `trainer train`: checks the data's lineage, trains a seeded model with augmentation, validation, early
// stopping and checkpoints, and writes the run directory. The three parts live in train/: data.ts
// (load, split, lineage), epochs.ts (the epoch loop) and artifacts.ts (what is written).
import * as path from 'node:path';
import { type Logger, silentLogger } from '@dataver/foundation';
import { type BackendChoice, type BackendPreference, initBackend } from './backend/select.js';
import { infer } from './batch.js';
import { modelOptionsOf, type TrainConfig } from './config.js';
import type { EpochMetrics } from './model/history.js';
import { countParams, createModel } from './model/index.js';
import { RunLog, writeRunArtifacts } from './train/artifacts.js';
import { loadTrainingData } from './train/data.js';
import { readResumePoint, trainEpochs } from './train/epochs.js';

export type { LineageRecord } from './data/lineage.js';
export type { EpochMetrics } from './model/history.js';
export { METADATA_VERSION, type RunSummary } from './train/artifacts.js';

/** Options of {@link train} beyond the configuration. */
export interface TrainOptions {
  config: TrainConfig;
  /** Folder that relative paths in the config are resolved against [process.cwd()]. */
  cwd?: string;
  /** Continue from `<logs>/checkpoints/last.ckpt`. */
  resume?: boolean;
  /** Train on data that differs from data.lock.json (recorded in metadata). */
  allowDirty?: boolean;
  /** Train on the data of this git revision (materialized outside the workspace). */
  rev?: string;
  backend?: BackendPreference;
  log?: Logger;
  /** Show a progress bar (the CLI sets it on a TTY). */
  progress?: boolean;
  /** Called after each epoch (tests, the CLI's JSON mode). */
  onEpoch?: (metrics: EpochMetrics) => void;
}

/** What a training run produced. */
export interface TrainResult {
  outDir: string;
  backend: BackendChoice;
  history: EpochMetrics[];
  bestEpoch: number;
  testAccuracy: number | null;
  testLoss: number | null;
  stoppedEarly: boolean;
  imagesPerSecond: number;
  seconds: number;
  metadataFile: string;
  logsDir: string;
}

/**
 * Trains a model as configured and writes the run directory.
 *
 * @example
 * ```ts
 * const config = await loadTrainConfig('configs/train.yaml');
 * const result = await train({ config: applyOverrides(config, { epochs: 1 }) });
 * console.log(result.testAccuracy);
 * ```
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const config = opts.config;
  const log = opts.log ?? silentLogger;
  const cwd = opts.cwd ?? process.cwd();
  const outDir = path.resolve(cwd, config.output.dir);
  // Volatile outputs (timings, wall clocks, checkpoints) live apart from the model, metadata and metrics,
  // so that a pipeline can track the latter and expect them to reproduce bit for bit.
  const logsDir = path.resolve(cwd, config.output.logs ?? path.join(config.output.dir, 'logs'));
  const started = performance.now();

  // Everything that can fail on bad input is checked before anything is written.
  const data = await loadTrainingData({ config, cwd, rev: opts.rev, allowDirty: opts.allowDirty, log });
  const resume = opts.resume ? readResumePoint(logsDir, config) : null;

  const backend = await initBackend(opts.backend);
  log.info(`backend: ${backend.name} (${backend.reason})`);
  const model = createModel(config.model, modelOptionsOf(config));
  try {
    log.info(
      `model ${config.model}: ${countParams(model).trainable} trainable parameters; ${data.train.count} train, ${data.validation?.count ?? 0} validation, ${data.test.count} test images`,
    );
    const runLog = RunLog.open(logsDir, { resume: resume !== null });
    const loop = await trainEpochs({
      config,
      model,
      train: data.train,
      validation: data.validation,
      normalization: data.normalization,
      backend: backend.name,
      logsDir,
      resume,
      sink: runLog,
      log,
      progress: opts.progress,
      onEpoch: opts.onEpoch,
    });
    const inferred =
      data.test.count > 0 ? infer(model, data.test.images, data.test.count, data.test.labels) : null;
    const test = inferred
      ? { loss: inferred.loss ?? Number.NaN, accuracy: inferred.accuracy ?? Number.NaN }
      : null;
    if (test) log.info(`test accuracy ${(100 * test.accuracy).toFixed(2)}% (best epoch ${loop.bestEpoch})`);
    const seconds = (performance.now() - started) / 1000;
    const imagesPerSecond = loop.trainSeconds > 0 ? loop.trainImages / loop.trainSeconds : 0;
    const { metadataFile } = writeRunArtifacts({
      outDir,
      logsDir,
      config,
      model,
      data,
      backend,
      history: loop.history,
      bestEpoch: loop.bestEpoch,
      bestMetric: loop.bestMetric,
      stoppedEarly: loop.stoppedEarly,
      test,
      seconds,
      imagesPerSecond,
      workers: loop.workers,
    });
    return {
      outDir,
      backend,
      history: loop.history,
      bestEpoch: loop.bestEpoch ?? loop.history.length,
      testAccuracy: test?.accuracy ?? null,
      testLoss: test?.loss ?? null,
      stoppedEarly: loop.stoppedEarly,
      imagesPerSecond,
      seconds,
      metadataFile,
      logsDir,
    };
  } finally {
    model.dispose();
  }
}
