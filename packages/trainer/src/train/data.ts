// The data side of a training run: find the data and its lineage, load the processed train and test
// sets, apply the configured limit and split off the seeded validation set.
import * as path from 'node:path';
import { DataverError, type Logger, Rng } from '@dataver/foundation';
import type { TrainConfig } from '../config.js';
import { type Dataset, loadProcessed, type Normalization, splitValidation, subset } from '../data/dataset.js';
import { type LineageRecord, resolveDataSource } from '../data/lineage.js';

/** The data sets of a run, ready for the epoch loop. */
export interface TrainingData {
  train: Dataset;
  validation: Dataset | null;
  test: Dataset;
  normalization: Normalization;
  /** The files read, relative to the working folder (or to the revision's copy), for metadata. */
  files: string[];
  lineage: LineageRecord;
}

/** Options of {@link loadTrainingData}. */
export interface TrainingDataOptions {
  config: TrainConfig;
  /** Folder that `config.data.dir` is relative to. */
  cwd: string;
  /** Train on the data of this git revision. */
  rev?: string;
  allowDirty?: boolean;
  log: Logger;
}

/**
 * Loads the data of a run: lineage first (dirty data is refused before anything is read), then the
 * processed tensors, the `data.limit` first training images and a validation split seeded by
 * `config.seed`.
 *
 * @example
 * ```ts
 * const data = await loadTrainingData({ config, cwd: process.cwd(), log: silentLogger });
 * console.log(data.train.count, data.validation?.count, data.lineage.status);
 * ```
 */
export async function loadTrainingData(options: TrainingDataOptions): Promise<TrainingData> {
  const { config, cwd } = options;
  const source = await resolveDataSource({
    cwd,
    dataDir: config.data.dir,
    rev: options.rev,
    allowDirty: options.allowDirty,
    log: options.log,
  });
  let processed: Awaited<ReturnType<typeof loadProcessed>>;
  try {
    processed = await loadProcessed(source.dataDir, ['train', 'test']);
  } finally {
    source.cleanup();
  }
  let full = processed.train;
  if (config.data.limit !== null && config.data.limit < full.count) {
    full = subset(
      full,
      Int32Array.from({ length: config.data.limit }, (_, i) => i),
    );
  }
  const splitRng = new Rng(config.seed ^ 0x5eed);
  const { train, validation } = splitValidation(full, config.validationSplit, (idx) => splitRng.shuffle(idx));
  if (train.count < 2)
    throw new DataverError('DATA_INVALID', `only ${train.count} training image(s) after the split`);
  return {
    train,
    validation,
    test: processed.test,
    normalization: processed.normalization,
    files: processed.files.map((f) => path.relative(source.filesRoot, f)),
    lineage: source.lineage,
  };
}
