// `trainer train`: checks the data's lineage, trains a seeded model with augmentation, validation, early
// stopping and checkpoints, and writes the run directory (model, metadata, metrics, TensorBoard, plots).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataverError, type Logger, Rng, silentLogger, writeFileAtomicSync } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { type BackendChoice, type BackendPreference, initBackend } from './backend/select.js';
import { infer } from './batch.js';
import { learningRateAt, type TrainConfig } from './config.js';
import { augmentBatch } from './data/augment.js';
import {
  type Dataset,
  loadProcessed,
  type Normalization,
  PIXELS,
  splitValidation,
  subset,
} from './data/dataset.js';
import { checkDataLineage, type DataLineage, materializeRevision } from './data/lineage.js';
import { countParams, createModel, type Model } from './model/index.js';
import { loadCheckpoint, saveCheckpoint, saveModel, type TrainingState } from './model/io.js';
import { Optimizer } from './optim.js';
import { WorkerPool } from './parallel/pool.js';
import { lineChart } from './report/plots.js';
import { EventWriter } from './report/tensorboard.js';

/** Version written into metadata; bump with incompatible metadata changes. */
export const METADATA_VERSION = 1;

/** Options of {@link train} beyond the configuration. */
export interface TrainOptions {
  config: TrainConfig;
  /** Folder that relative paths in the config are resolved against [process.cwd()]. */
  cwd?: string;
  /** Continue from `<out>/checkpoints/last.ckpt`. */
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

/** One epoch's metrics as written to metrics.jsonl. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  train_loss: number;
  train_accuracy: number;
  val_loss: number | null;
  val_accuracy: number | null;
  learning_rate: number;
  images_per_second: number;
  seconds: number;
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

/** Lineage as recorded in metadata.json. */
export interface LineageRecord {
  status: 'clean' | 'dirty' | 'unknown' | 'revision';
  repoRoot: string | null;
  outputs: Array<{ path: string; hash: string }>;
  dirty: Array<{ path: string; state: string }>;
  allowDirty: boolean;
  rev: string | null;
  commit: string | null;
  note?: string;
}

function configHash(config: TrainConfig): string {
  // Epochs and output may change on --resume without changing what is being trained.
  const { epochs: _e, output: _o, ...rest } = config;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

async function resolveData(
  config: TrainConfig,
  opts: TrainOptions,
  log: Logger,
): Promise<{ dataDir: string; lineage: LineageRecord; cleanup?: () => void; dataRoot?: string }> {
  const cwd = opts.cwd ?? process.cwd();
  const dataDir = path.resolve(cwd, config.data.dir);
  if (opts.rev) {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-rev-'));
    const cleanup = () => fs.rmSync(dest, { recursive: true, force: true });
    try {
      const lineage = await checkDataLineage({ cwd, paths: [dataDir] }).catch(() => null);
      const root = lineage?.repoRoot ?? null;
      if (!root)
        throw new DataverError('USAGE', `--rev needs data inside a dataver repository (${dataDir} is not)`);
      await materializeRevision({ cwd, rev: opts.rev, paths: [dataDir], dest });
      const rel = path.relative(root, dataDir);
      const git = spawnSync('git', ['rev-parse', '--verify', `${opts.rev}^{commit}`], {
        cwd: root,
        encoding: 'utf8',
      });
      log.info(`training on the data of revision ${opts.rev} (materialized in ${dest})`);
      return {
        dataDir: path.join(dest, rel),
        dataRoot: dest,
        cleanup,
        lineage: {
          status: 'revision',
          repoRoot: root,
          outputs: lockedOutputsAt(root, opts.rev, rel),
          dirty: [],
          allowDirty: false,
          rev: opts.rev,
          commit: git.status === 0 ? git.stdout.trim() : null,
        },
      };
    } catch (error) {
      cleanup();
      throw error;
    }
  }
  let lineage: DataLineage;
  try {
    lineage = await checkDataLineage({ cwd, paths: [dataDir] });
  } catch (error) {
    if (error instanceof DataverError && error.code === 'LINEAGE_UNAVAILABLE') {
      if (!opts.allowDirty) throw error;
      log.warn(`${error.message}; lineage of ${config.data.dir} is unknown (--allow-dirty)`);
      return {
        dataDir,
        lineage: {
          status: 'unknown',
          repoRoot: null,
          outputs: [],
          dirty: [],
          allowDirty: true,
          rev: null,
          commit: null,
          note: error.message,
        },
      };
    }
    throw error;
  }
  const base = {
    repoRoot: lineage.repoRoot,
    outputs: lineage.outputs,
    dirty: lineage.dirty,
    allowDirty: !!opts.allowDirty,
    rev: null,
  };
  if (lineage.repoRoot === null) {
    log.warn(`${config.data.dir} is not inside a dataver repository: its lineage is unknown`);
    return { dataDir, lineage: { ...base, status: 'unknown', commit: null } };
  }
  const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: lineage.repoRoot, encoding: 'utf8' });
  const commit = git.status === 0 ? git.stdout.trim() : null;
  if (lineage.dirty.length > 0) {
    const what = lineage.dirty.map((d) => `${d.path} (${d.state})`).join(', ');
    if (!opts.allowDirty) {
      throw new DataverError('DATA_DIRTY', `data differs from data.lock.json: ${what}`, {
        hint: 'restore it with `dataver checkout`, record it with `dataver add`, or pass --allow-dirty',
      });
    }
    log.warn(`training on data that differs from data.lock.json (--allow-dirty): ${what}`);
    return { dataDir, lineage: { ...base, status: 'dirty', commit } };
  }
  return { dataDir, lineage: { ...base, status: 'clean', commit } };
}

/** Outputs of `data.lock.json` at a revision that cover a repository path (for metadata). */
function lockedOutputsAt(root: string, rev: string, rel: string): Array<{ path: string; hash: string }> {
  const show = spawnSync('git', ['show', `${rev}:data.lock.json`], { cwd: root, encoding: 'utf8' });
  if (show.status !== 0) return [];
  try {
    const lock = JSON.parse(show.stdout) as { outputs?: Record<string, { hash?: string }> };
    const norm = rel.split(path.sep).join('/');
    return Object.entries(lock.outputs ?? {})
      .filter(([p]) => p === norm || norm.startsWith(`${p}/`) || p.startsWith(`${norm}/`))
      .map(([p, e]) => ({ path: p, hash: String(e.hash) }));
  } catch {
    return [];
  }
}

function snapshotWeights(model: Model): Float32Array[] {
  return model.variables.map((v) => (v.variable.dataSync() as Float32Array).slice());
}

function restoreWeights(model: Model, weights: Float32Array[]): void {
  for (const [i, v] of model.variables.entries())
    v.variable.assign(tf.tensor(weights[i]!, v.variable.shape, 'float32'));
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
  const { dataDir, lineage, cleanup, dataRoot } = await resolveData(config, opts, log);
  let data: Awaited<ReturnType<typeof loadProcessed>>;
  try {
    data = await loadProcessed(dataDir, ['train', 'test']);
  } finally {
    cleanup?.();
  }
  const normalization: Normalization = data.normalization;
  let full: Dataset = data.train;
  if (config.data.limit !== null && config.data.limit < full.count) {
    full = subset(
      full,
      Int32Array.from({ length: config.data.limit }, (_, i) => i),
    );
  }
  const splitRng = new Rng(config.seed ^ 0x5eed);
  const { train: trainSet, validation } = splitValidation(full, config.validationSplit, (idx) =>
    splitRng.shuffle(idx),
  );
  if (trainSet.count < 2)
    throw new DataverError('DATA_INVALID', `only ${trainSet.count} training image(s) after the split`);

  const ckptDir = path.join(logsDir, 'checkpoints');
  let resumeFrom: ReturnType<typeof loadCheckpoint> | null = null;
  if (opts.resume) {
    resumeFrom = loadCheckpoint(path.join(ckptDir, 'last.ckpt'));
    if (resumeFrom.state.configHash !== configHash(config)) {
      throw new DataverError(
        'CONFIG_INVALID',
        'the checkpoint was trained with another configuration (only epochs may change on --resume)',
      );
    }
  }

  const backend = await initBackend(opts.backend);
  log.info(`backend: ${backend.name} (${backend.reason})`);
  const model = createModel(config.model, { seed: config.seed });
  const optimizer = new Optimizer({
    name: config.optimizer,
    learningRate: config.learningRate,
    weightDecay: config.weightDecay,
  });
  const params = countParams(model);
  log.info(
    `model ${config.model}: ${params.trainable} trainable parameters; ${trainSet.count} train, ${validation?.count ?? 0} validation, ${data.test.count} test images`,
  );

  let rng = new Rng(config.seed);
  let history: EpochMetrics[] = [];
  let startEpoch = 0;
  let step = 0;
  let bestMetric: number | null = null;
  let bestEpoch: number | null = null;
  let patienceLeft = 0;
  let epochsWithoutImprovement = 0;
  if (resumeFrom) {
    resumeFrom.restoreWeights(model);
    optimizer.setState(resumeFrom.optimizer);
    const s = resumeFrom.state;
    rng = Rng.fromState(s.rng);
    history = s.history as unknown as EpochMetrics[];
    startEpoch = s.epoch;
    step = s.step;
    bestMetric = s.bestMetric;
    bestEpoch = s.bestEpoch;
    epochsWithoutImprovement = s.epochsWithoutImprovement;
    log.info(`resuming after epoch ${startEpoch} (step ${step})`);
  }
  patienceLeft = config.earlyStopping.patience - epochsWithoutImprovement;
  // Best weights so far, kept in memory; on resume, read back from best.ckpt.
  let bestWeights: Float32Array[] | null = null;
  if (resumeFrom && bestEpoch !== null) {
    const best = loadCheckpoint(path.join(ckptDir, 'best.ckpt'));
    const probe = createModel(config.model, { seed: config.seed });
    best.restoreWeights(probe);
    bestWeights = snapshotWeights(probe);
    probe.dispose();
  }

  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(logsDir, { recursive: true });
  const metricsFile = path.join(logsDir, 'metrics.jsonl');
  if (!resumeFrom) fs.writeFileSync(metricsFile, '');
  const events = new EventWriter(path.join(logsDir, 'tensorboard'));

  const bs = config.batchSize;
  const stepsPerEpoch = Math.floor(trainSet.count / bs) || 1;
  const totalSteps = stepsPerEpoch * config.epochs;
  const background = (0 - normalization.mean) / normalization.std;
  const trainables = model.variables.filter((v) => v.trainable);
  const trainVars = trainables.map((v) => v.variable);
  const batchImages = new Float32Array(bs * PIXELS);
  const batchLabels = new Int32Array(bs);
  let stoppedEarly = false;
  let trainImages = 0;
  let trainSeconds = 0;

  const bar = opts.progress ? await makeBar() : null;
  const workers = Math.min(config.workers, Math.floor(bs / 2)) || 1;
  const pool = workers > 1 ? await WorkerPool.start(model, workers, backend.name) : null;
  const poolSize = pool?.size ?? 1;
  if (pool)
    log.info(`data-parallel over ${pool.size} worker threads (batch ${bs} split into ${pool.size} slices)`);
  try {
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      const order = rng.shuffle(Int32Array.from({ length: trainSet.count }, (_, i) => i));
      const t0 = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      bar?.start(stepsPerEpoch, 0, {
        epoch: epoch + 1,
        epochs: config.epochs,
        loss: '-',
        acc: '-',
        ips: '-',
      });
      for (let b = 0; b < stepsPerEpoch; b++) {
        const n = Math.min(bs, trainSet.count - b * bs);
        for (let i = 0; i < n; i++) {
          const j = order[b * bs + i]!;
          batchImages.set(trainSet.images.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
          batchLabels[i] = trainSet.labels[j]!;
        }
        if (config.augmentation.enabled) augmentBatch(batchImages, n, config.augmentation, rng, background);
        optimizer.learningRate = learningRateAt(config, step, totalSteps, stepsPerEpoch);
        if (pool && n >= pool.size) {
          const r = await pool.step(batchImages, batchLabels, n, rng);
          if (!Number.isFinite(r.loss)) {
            throw new DataverError(
              'DATA_INVALID',
              `loss became ${r.loss} at step ${step}: lower the learning rate`,
            );
          }
          optimizer.apply(trainables, r.grads);
          tf.dispose(r.grads);
          correct += r.correct;
          lossSum += r.loss * n;
          seen += n;
          step++;
          if (bar && (b % 10 === 0 || b === stepsPerEpoch - 1)) {
            const secs = (performance.now() - t0) / 1000;
            bar.update(b + 1, {
              loss: (lossSum / seen).toFixed(4),
              acc: ((100 * correct) / seen).toFixed(2),
              ips: (seen / secs).toFixed(0),
            });
          }
          continue;
        }
        const x = tf.tensor4d(batchImages.subarray(0, n * PIXELS), [n, 28, 28, 1]);
        const y = tf.oneHot(tf.tensor1d(batchLabels.subarray(0, n), 'int32'), model.options.numClasses);
        let predicted: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.forward(x, { training: true, rng });
          predicted = tf.keep(tf.argMax(logits, 1));
          return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
        }, trainVars);
        const loss = value.dataSync()[0]!;
        if (!Number.isFinite(loss)) {
          throw new DataverError(
            'DATA_INVALID',
            `loss became ${loss} at step ${step}: lower the learning rate`,
          );
        }
        optimizer.apply(trainables, grads);
        const pred = (predicted as unknown as tf.Tensor).dataSync();
        for (let i = 0; i < n; i++) if (pred[i] === batchLabels[i]) correct++;
        tf.dispose([x, y, value, predicted as unknown as tf.Tensor]);
        tf.dispose(grads);
        lossSum += loss * n;
        seen += n;
        step++;
        if (bar && (b % 10 === 0 || b === stepsPerEpoch - 1)) {
          const secs = (performance.now() - t0) / 1000;
          bar.update(b + 1, {
            loss: (lossSum / seen).toFixed(4),
            acc: ((100 * correct) / seen).toFixed(2),
            ips: (seen / secs).toFixed(0),
          });
        }
      }
      bar?.stop();
      const seconds = (performance.now() - t0) / 1000;
      trainImages += seen;
      trainSeconds += seconds;
      const val = validation ? infer(model, validation.images, validation.count, validation.labels) : null;
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        step,
        train_loss: lossSum / seen,
        train_accuracy: correct / seen,
        val_loss: val?.loss ?? null,
        val_accuracy: val?.accuracy ?? null,
        learning_rate: optimizer.learningRate,
        images_per_second: seen / seconds,
        seconds,
      };
      history.push(metrics);
      fs.appendFileSync(metricsFile, `${JSON.stringify(metrics)}\n`);
      const scalars: Record<string, number> = {
        'loss/train': metrics.train_loss,
        'accuracy/train': metrics.train_accuracy,
        learning_rate: metrics.learning_rate,
        images_per_second: metrics.images_per_second,
      };
      if (val) {
        scalars['loss/validation'] = val.loss!;
        scalars['accuracy/validation'] = val.accuracy!;
      }
      events.scalars(epoch + 1, scalars);
      log.info(
        `epoch ${epoch + 1}/${config.epochs}: loss ${metrics.train_loss.toFixed(4)} acc ${(100 * metrics.train_accuracy).toFixed(2)}%` +
          (val ? `, val loss ${val.loss!.toFixed(4)} acc ${(100 * val.accuracy!).toFixed(2)}%` : '') +
          `, ${metrics.images_per_second.toFixed(0)} images/s, ${seconds.toFixed(1)} s`,
      );
      opts.onEpoch?.(metrics);

      // Best by validation loss (train loss without a validation set); ties keep the earlier epoch.
      const monitored = val ? val.loss! : metrics.train_loss;
      const improved = bestMetric === null || monitored < bestMetric - config.earlyStopping.minDelta;
      if (improved) {
        bestMetric = monitored;
        bestEpoch = epoch + 1;
        bestWeights = snapshotWeights(model);
        epochsWithoutImprovement = 0;
        patienceLeft = config.earlyStopping.patience;
      } else {
        epochsWithoutImprovement++;
        patienceLeft--;
      }
      const state: TrainingState = {
        epoch: epoch + 1,
        step,
        rng: rng.state(),
        bestMetric,
        bestEpoch,
        epochsWithoutImprovement,
        history: history as unknown as Array<Record<string, number>>,
        configHash: configHash(config),
        normalization,
        architecture: { name: model.name, options: model.options },
      };
      saveCheckpoint(path.join(ckptDir, 'last.ckpt'), model, optimizer.getState(), state);
      if (improved) saveCheckpoint(path.join(ckptDir, 'best.ckpt'), model, optimizer.getState(), state);
      if (config.earlyStopping.patience > 0 && patienceLeft <= 0 && epoch + 1 < config.epochs) {
        log.info(`early stopping: no improvement for ${config.earlyStopping.patience} epoch(s)`);
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    await pool?.close();
  }

  if (bestWeights) restoreWeights(model, bestWeights);
  saveModel(outDir, model, normalization);
  const test = data.test.count > 0 ? infer(model, data.test.images, data.test.count, data.test.labels) : null;
  if (test) log.info(`test accuracy ${(100 * test.accuracy!).toFixed(2)}% (best epoch ${bestEpoch})`);

  const plotsDir = path.join(outDir, 'plots');
  fs.mkdirSync(plotsDir, { recursive: true });
  const series = (key: keyof EpochMetrics) => history.map((h) => h[key] as number);
  writeFileAtomicSync(
    path.join(plotsDir, 'loss.png'),
    lineChart('Loss', [
      { name: 'train', values: series('train_loss') },
      ...(validation ? [{ name: 'validation', values: series('val_loss') }] : []),
    ]),
    { mkdir: true },
  );
  writeFileAtomicSync(
    path.join(plotsDir, 'accuracy.png'),
    lineChart('Accuracy', [
      { name: 'train', values: series('train_accuracy') },
      ...(validation ? [{ name: 'validation', values: series('val_accuracy') }] : []),
    ]),
    { mkdir: true },
  );
  writeFileAtomicSync(
    path.join(plotsDir, 'learning_rate.png'),
    lineChart('Learning rate', [{ name: 'lr', values: series('learning_rate') }]),
    { mkdir: true },
  );

  const seconds = (performance.now() - started) / 1000;
  const imagesPerSecond = trainSeconds > 0 ? trainImages / trainSeconds : 0;
  const last = history[history.length - 1];
  const summary = {
    test_accuracy: test?.accuracy ?? null,
    test_loss: test?.loss ?? null,
    best_epoch: bestEpoch,
    best_val_loss: validation ? bestMetric : null,
    val_accuracy: bestEpoch ? (history[bestEpoch - 1]?.val_accuracy ?? null) : null,
    train_loss: last?.train_loss ?? null,
    train_accuracy: last?.train_accuracy ?? null,
    epochs_run: history.length,
    stopped_early: stoppedEarly,
  };
  writeFileAtomicSync(path.join(outDir, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`, {
    mkdir: true,
  });
  const { commit, repoRoot, ...stableLineage } = lineage;
  const run = {
    createdAt: new Date().toISOString(),
    seconds,
    images_per_second: imagesPerSecond,
    workers: poolSize,
    commit,
    repoRoot,
    history,
    host: { platform: process.platform, arch: process.arch, cpus: os.cpus().length, node: process.version },
  };
  writeFileAtomicSync(path.join(logsDir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`, { mkdir: true });
  const metadata = {
    format: 'dataver-trainer-run',
    version: METADATA_VERSION,
    config,
    configHash: configHash(config),
    normalization,
    backend: { name: backend.name, reason: backend.reason, tfjs: tf.version.tfjs },
    model: { name: model.name, options: model.options, parameters: params },
    data: {
      dir: config.data.dir,
      files: data.files.map((f) => path.relative(dataRoot ?? cwd, f)),
      train: trainSet.count,
      validation: validation?.count ?? 0,
      test: data.test.count,
      // Commit and absolute paths change with every checkout: they are in logs/run.json.
      lineage: { ...stableLineage, inRepository: repoRoot !== null },
    },
    metrics: summary,
    history: history.map(({ seconds: _s, images_per_second: _i, ...h }) => h),
  };
  const metadataFile = path.join(outDir, 'metadata.json');
  writeFileAtomicSync(metadataFile, `${JSON.stringify(metadata, null, 2)}\n`, { mkdir: true });
  model.dispose();
  return {
    outDir,
    backend,
    history,
    bestEpoch: bestEpoch ?? history.length,
    testAccuracy: test?.accuracy ?? null,
    testLoss: test?.loss ?? null,
    stoppedEarly,
    imagesPerSecond,
    seconds,
    metadataFile,
    logsDir,
  };
}

interface Bar {
  start(total: number, value: number, payload: Record<string, unknown>): void;
  update(value: number, payload: Record<string, unknown>): void;
  stop(): void;
}

async function makeBar(): Promise<Bar> {
  const { SingleBar } = await import('cli-progress');
  return new SingleBar({
    format:
      'epoch {epoch}/{epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc}% | {ips} images/s | eta {eta}s',
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
}
