// The epoch loop of a training run: seeded shuffles and augmentation plans, batches on the main thread
// or split over data-parallel threads, the optimizer and its schedule, validation, early stopping, and
// best/last checkpoints from which `--resume` continues exactly where the run stopped.
import * as os from 'node:os';
import * as path from 'node:path';
import { DataverError, type Logger, Rng, type RngState } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import { simdAdamUpdate } from '../backend/adam-kernel.js';
import type { BackendName } from '../backend/select.js';
import { infer } from '../batch.js';
import { configHash, learningRateAt, modelOptionsOf, type TrainConfig } from '../config.js';
import { planAugmentation } from '../data/augment.js';
import { inkLeans } from '../data/canonical.js';
import type { Dataset, Normalization } from '../data/dataset.js';
import type { EpochMetrics } from '../model/history.js';
import { createModel, type Model } from '../model/index.js';
import { type Checkpoint, loadCheckpoint, saveCheckpoint, type TrainingState } from '../model/io.js';
import { gradientStep } from '../model/step.js';
import { Optimizer } from '../optim.js';
import { type BatchWork, WorkerPool } from '../parallel/pool.js';
import { createStaging, gatherSlice, type Staging } from '../parallel/slices.js';
import { type ProgressBar, progressBar } from './progress-bar.js';

/**
 * Where checkpoints (`last.ckpt`, `best.ckpt`) live below a run's logs folder.
 *
 * @example
 * ```ts
 * checkpointsDir('models/latest/logs'); // 'models/latest/logs/checkpoints'
 * ```
 */
export function checkpointsDir(logsDir: string): string {
  return path.join(logsDir, 'checkpoints');
}

/**
 * Reads the last checkpoint of a run for `--resume` and checks that it was trained with this
 * configuration (only `epochs` and `output` may differ); CONFIG_INVALID (exit 2) if not.
 *
 * @example
 * ```ts
 * const resume = readResumePoint('models/latest/logs', config);
 * console.log(resume.state.epoch); // epochs done so far
 * ```
 */
export function readResumePoint(logsDir: string, config: TrainConfig): Checkpoint {
  const checkpoint = loadCheckpoint(path.join(checkpointsDir(logsDir), 'last.ckpt'));
  if (checkpoint.state.configHash !== configHash(config)) {
    throw new DataverError(
      'CONFIG_INVALID',
      'the checkpoint was trained with another configuration (only epochs and workers may change on --resume)',
    );
  }
  return checkpoint;
}

/** Where the loop reports each finished epoch (metrics.jsonl, TensorBoard). */
export interface EpochSink {
  epoch(metrics: EpochMetrics): void;
}

/** Inputs of {@link trainEpochs}. */
export interface EpochLoopOptions {
  config: TrainConfig;
  /** Trained in place; holds the best epoch's weights on return. */
  model: Model;
  train: Dataset;
  validation: Dataset | null;
  normalization: Normalization;
  /** Backend the data-parallel workers start. */
  backend: BackendName;
  /** The run's logs folder (checkpoints go to its `checkpoints/`). */
  logsDir: string;
  /** The checkpoint to continue from ({@link readResumePoint}), or null for a fresh run. */
  resume: Checkpoint | null;
  sink: EpochSink;
  log: Logger;
  /** Show a progress bar on stderr. */
  progress?: boolean;
  onEpoch?: (metrics: EpochMetrics) => void;
}

/** What the loop did. */
export interface EpochLoopResult {
  /** Every epoch's metrics, including those of the run that was resumed. */
  history: EpochMetrics[];
  bestEpoch: number | null;
  /** The monitored value of the best epoch (validation loss, else train loss). */
  bestMetric: number | null;
  stoppedEarly: boolean;
  /** Images trained on and seconds spent by this process (not the resumed part). */
  trainImages: number;
  trainSeconds: number;
  /** Worker threads used (1: the main thread). */
  workers: number;
}

/** Mutable progress of the loop: what a checkpoint stores. */
interface LoopState {
  rng: Rng;
  history: EpochMetrics[];
  startEpoch: number;
  step: number;
  bestMetric: number | null;
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
}

function initialState(config: TrainConfig, resume: Checkpoint | null): LoopState {
  if (!resume) {
    return {
      rng: new Rng(config.seed),
      history: [],
      startEpoch: 0,
      step: 0,
      bestMetric: null,
      bestEpoch: null,
      epochsWithoutImprovement: 0,
    };
  }
  const s = resume.state;
  return {
    rng: Rng.fromState(s.rng),
    history: s.history,
    startEpoch: s.epoch,
    step: s.step,
    bestMetric: s.bestMetric,
    bestEpoch: s.bestEpoch,
    epochsWithoutImprovement: s.epochsWithoutImprovement,
  };
}

function snapshotWeights(model: Model): Float32Array[] {
  return model.variables.map((v) => Float32Array.from(v.variable.dataSync()));
}

function restoreWeights(model: Model, weights: Float32Array[]): void {
  for (const [i, v] of model.variables.entries()) {
    const w = weights[i];
    if (!w) throw new Error(`no saved weights for variable ${v.name}`);
    v.variable.assign(tf.tensor(w, v.variable.shape, 'float32'));
  }
}

function nonFiniteLoss(loss: number, step: number): DataverError {
  return new DataverError('DATA_INVALID', `loss became ${loss} at step ${step}: lower the learning rate`);
}

/** Loss and accuracy on the validation set, in inference mode (on every thread of a pool). */
async function evaluateOn(
  model: Model,
  ds: Dataset,
  pool: WorkerPool | null,
): Promise<{ loss: number; accuracy: number }> {
  const r = pool ? await pool.evaluate() : infer(model, ds.images, ds.count, ds.labels);
  return { loss: r.loss ?? Number.NaN, accuracy: r.accuracy ?? Number.NaN };
}

/**
 * Runs the epochs of a run (from the resume point, if any), writing `last.ckpt` after every epoch and
 * `best.ckpt` after every improvement, and stops early after `earlyStopping.patience` epochs without
 * one. On return the model holds the weights of the best epoch. Same seed, data, worker count and
 * backend give bit-identical weights, resumed or not.
 *
 * @example
 * ```ts
 * const result = await trainEpochs({ config, model, train, validation, normalization, backend: 'wasm',
 *   logsDir: 'models/latest/logs', resume: null, sink: { epoch: () => {} }, log: silentLogger });
 * console.log(result.bestEpoch, result.history.length);
 * ```
 */
export async function trainEpochs(options: EpochLoopOptions): Promise<EpochLoopResult> {
  const { config, model, train: trainSet, validation, normalization, resume, log } = options;
  const ckptDir = checkpointsDir(options.logsDir);
  const optimizer = new Optimizer(
    { name: config.optimizer, learningRate: config.learningRate, weightDecay: config.weightDecay },
    simdAdamUpdate,
  );
  const st = initialState(config, resume);
  if (resume) {
    resume.restoreWeights(model);
    optimizer.setState(resume.optimizer);
    log.info(`resuming after epoch ${st.startEpoch} (step ${st.step})`);
  }
  let patienceLeft = config.earlyStopping.patience - st.epochsWithoutImprovement;
  // Best weights so far, kept in memory; on resume, read back from best.ckpt.
  let bestWeights: Float32Array[] | null = null;
  if (resume && st.bestEpoch !== null) {
    const best = loadCheckpoint(path.join(ckptDir, 'best.ckpt'));
    const probe = createModel(config.model, modelOptionsOf(config));
    best.restoreWeights(probe);
    bestWeights = snapshotWeights(probe);
    probe.dispose();
  }

  const bs = config.batchSize;
  const stepsPerEpoch = Math.floor(trainSet.count / bs) || 1;
  const trainables = model.variables.filter((v) => v.trainable);
  let stoppedEarly = false;
  let trainImages = 0;
  let trainSeconds = 0;

  const bar = options.progress ? await progressBar() : null;
  const threads = trainingThreads(
    config.workers,
    bs,
    options.backend,
    config.workers === 'auto' && options.backend === 'wasm' ? await busyCores() : undefined,
  );
  const pool =
    threads.count > 1
      ? await WorkerPool.start(model, threads.count, options.backend, trainSet, bs, validation)
      : null;
  log.info(
    pool
      ? `data-parallel over ${pool.size} threads (${threads.why}; batch ${bs} split into ${pool.size} slices, batch statistics shared)`
      : `training on one thread (${threads.why})`,
  );
  const batches: BatchContext = {
    config,
    model,
    optimizer,
    trainables,
    trainVars: trainables.map((v) => v.variable),
    train: trainSet,
    pool,
    bar,
    state: st,
    stepsPerEpoch,
    totalSteps: stepsPerEpoch * config.epochs,
    background: (0 - normalization.mean) / normalization.std,
    white: (1 - normalization.mean) / normalization.std,
    leans: model.options.canonicalize ? inkLeans(trainSet) : null,
    staging: createStaging(bs),
  };
  try {
    for (let epoch = st.startEpoch; epoch < config.epochs; epoch++) {
      const t0 = performance.now();
      bar?.start(stepsPerEpoch, 0, {
        epoch: epoch + 1,
        epochs: config.epochs,
        loss: '-',
        acc: '-',
        ips: '-',
      });
      const totals = await runBatches(batches, t0);
      bar?.stop();
      const seconds = (performance.now() - t0) / 1000;
      const { lossSum, correct, seen } = totals;
      trainImages += seen;
      trainSeconds += seconds;
      const val = validation ? await evaluateOn(model, validation, pool) : null;
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        step: st.step,
        train_loss: lossSum / seen,
        train_accuracy: correct / seen,
        val_loss: val?.loss ?? null,
        val_accuracy: val?.accuracy ?? null,
        learning_rate: optimizer.learningRate,
        images_per_second: seen / seconds,
        seconds,
      };
      st.history.push(metrics);
      options.sink.epoch(metrics);
      log.info(
        `epoch ${epoch + 1}/${config.epochs}: loss ${metrics.train_loss.toFixed(4)} acc ${(100 * metrics.train_accuracy).toFixed(2)}%` +
          (val ? `, val loss ${val.loss.toFixed(4)} acc ${(100 * val.accuracy).toFixed(2)}%` : '') +
          `, ${metrics.images_per_second.toFixed(0)} images/s, ${seconds.toFixed(1)} s`,
      );
      options.onEpoch?.(metrics);

      // Best by validation loss (train loss without a validation set); ties keep the earlier epoch.
      const monitored = val ? val.loss : metrics.train_loss;
      const improved = st.bestMetric === null || monitored < st.bestMetric - config.earlyStopping.minDelta;
      if (improved) {
        st.bestMetric = monitored;
        st.bestEpoch = epoch + 1;
        bestWeights = snapshotWeights(model);
        st.epochsWithoutImprovement = 0;
        patienceLeft = config.earlyStopping.patience;
      } else {
        st.epochsWithoutImprovement++;
        patienceLeft--;
      }
      const state: TrainingState = {
        epoch: epoch + 1,
        step: st.step,
        rng: st.rng.state(),
        bestMetric: st.bestMetric,
        bestEpoch: st.bestEpoch,
        epochsWithoutImprovement: st.epochsWithoutImprovement,
        history: st.history,
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
  return {
    history: st.history,
    bestEpoch: st.bestEpoch,
    bestMetric: st.bestMetric,
    stoppedEarly,
    trainImages,
    trainSeconds,
    workers: pool?.size ?? 1,
  };
}

/** What one epoch's batches need; `state` and the optimizer advance as they run. */
interface BatchContext {
  config: TrainConfig;
  model: Model;
  optimizer: Optimizer;
  trainables: Model['variables'];
  trainVars: tf.Variable[];
  train: Dataset;
  pool: WorkerPool | null;
  bar: ProgressBar | null;
  state: LoopState;
  stepsPerEpoch: number;
  totalSteps: number;
  /** The normalized value of a blank pixel, which augmentation fills in. */
  background: number;
  /** The normalized value of full ink (raw 255), for the augmentation's pixel corruptions. */
  white: number;
  /** Each training image's ink lean, when the model canonicalizes its inputs. */
  leans: Float64Array | null;
  /** Reused batch buffers of the single-thread path. */
  staging: Staging;
}

interface EpochTotals {
  lossSum: number;
  correct: number;
  seen: number;
}

/**
 * One epoch's batches: a seeded shuffle, then per batch an augmentation plan and a step generator drawn
 * from the run's generator, the scheduled learning rate, a gradient step (split over the threads when
 * there are several) and the optimizer update.
 */
async function runBatches(ctx: BatchContext, t0: number): Promise<EpochTotals> {
  const { config, train: trainSet, pool, bar, state: st } = ctx;
  const bs = config.batchSize;
  const order = st.rng.shuffle(Int32Array.from({ length: trainSet.count }, (_, i) => i));
  const totals: EpochTotals = { lossSum: 0, correct: 0, seen: 0 };
  // Each batch's random numbers are drawn in batch order; the next batch's are drawn one step ahead so
  // that the threads can prefetch it (within the epoch: the next shuffle is drawn when the epoch starts).
  const workOf = (b: number): BatchWork => {
    const indices = order.subarray(b * bs, b * bs + Math.min(bs, trainSet.count - b * bs));
    const leans = ctx.leans ? Array.from(indices, (i) => ctx.leans?.[i] ?? 0) : undefined;
    // With canonicalization the carried rotation does not matter: the turn upright undoes it.
    const angles =
      trainSet.angles && !leans ? Array.from(indices, (i) => trainSet.angles?.[i] ?? 0) : undefined;
    const plan =
      config.augmentation.enabled || leans
        ? planAugmentation(
            indices.length,
            config.augmentation.enabled ? config.augmentation : { ...config.augmentation, probability: 0 },
            st.rng,
            leans,
            { background: ctx.background, white: ctx.white },
            angles,
          )
        : null;
    const rng: RngState = [st.rng.uint32(), st.rng.uint32(), st.rng.uint32(), st.rng.uint32() | 1];
    return { indices, plan, background: ctx.background, rng };
  };
  let work = workOf(0);
  for (let b = 0; b < ctx.stepsPerEpoch; b++) {
    const next = b + 1 < ctx.stepsPerEpoch ? workOf(b + 1) : null;
    const n = work.indices.length;
    ctx.optimizer.learningRate = learningRateAt(config, st.step, ctx.totalSteps, ctx.stepsPerEpoch);
    let r: { loss: number; correct: number; grads: tf.NamedTensorMap };
    if (pool && n >= pool.size) {
      r = await pool.step(work, next);
    } else {
      const slice = gatherSlice(trainSet.images, trainSet.labels, work.indices, ctx.staging);
      r = gradientStep(ctx.model, slice.images, slice.labels, Rng.fromState(work.rng), ctx.trainVars, {
        augment: work.plan ? { plan: work.plan, background: ctx.background } : undefined,
      });
    }
    if (next) work = next;
    if (!Number.isFinite(r.loss)) {
      tf.dispose(r.grads);
      throw nonFiniteLoss(r.loss, st.step);
    }
    ctx.optimizer.apply(ctx.trainables, r.grads);
    tf.dispose(r.grads);
    totals.correct += r.correct;
    totals.lossSum += r.loss * n;
    totals.seen += n;
    st.step++;
    if (bar && (b % 10 === 0 || b === ctx.stepsPerEpoch - 1)) showProgress(bar, b + 1, totals, t0);
  }
  return totals;
}

/** How many threads train, and why. */
interface ThreadChoice {
  count: number;
  why: string;
}

/**
 * The training thread count: the configured number, or with `auto` one per core that the load leaves
 * free (`os.availableParallelism()` minus `load`, rounded), at least 1. `load` is the busy cores measured
 * just before (`busyCores`), or else the 1-minute load average — which still counts a command that has
 * just ended, such as the `npm ci` before `npm start`. Capped so that
 * every thread gets two images or more; several threads need the wasm backend (their batch statistics
 * are exchanged by its kernels).
 *
 * @example
 * ```ts
 * trainingThreads('auto', 64, 'wasm'); // { count: 2, why: 'auto: 2 of 2 cores free' } on a quiet machine
 * ```
 */
export function trainingThreads(
  workers: number | 'auto',
  batchSize: number,
  backend: BackendName,
  load: number = os.loadavg()[0] ?? 0,
): ThreadChoice {
  const cap = Math.max(1, Math.floor(batchSize / 2));
  if (backend !== 'wasm') return { count: 1, why: `the ${backend} backend trains on one thread here` };
  if (workers !== 'auto') {
    const count = Math.min(workers, cap);
    return {
      count,
      why: count < workers ? `workers ${workers}, capped by batch ${batchSize}` : `workers ${workers}`,
    };
  }
  const cores = os.availableParallelism();
  const free = Math.max(1, Math.min(cores, cores - Math.round(load)));
  return {
    count: Math.min(free, cap),
    why: `auto: ${free} of ${cores} cores free at load ${load.toFixed(2)}`,
  };
}

/**
 * How many cores are busy now: the share of each core's time that was not idle over `ms`
 * milliseconds, summed (unlike the load average, a command that ended a minute ago counts nothing).
 *
 * @example
 * ```ts
 * trainingThreads('auto', 64, 'wasm', await busyCores()); // 2 threads on a quiet 2-core machine
 * ```
 */
export async function busyCores(ms = 300): Promise<number> {
  const sample = () =>
    os.cpus().map(({ times: t }) => ({ idle: t.idle, all: t.user + t.nice + t.sys + t.idle + t.irq }));
  const before = sample();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = sample();
  let busy = 0;
  after.forEach((b, i) => {
    const a = before[i];
    const all = a ? b.all - a.all : 0;
    if (a && all > 0) busy += 1 - (b.idle - a.idle) / all;
  });
  return busy;
}

function showProgress(bar: ProgressBar, value: number, totals: EpochTotals, t0: number): void {
  const secs = (performance.now() - t0) / 1000;
  bar.update(value, {
    loss: (totals.lossSum / totals.seen).toFixed(4),
    acc: ((100 * totals.correct) / totals.seen).toFixed(2),
    ips: (totals.seen / secs).toFixed(0),
  });
}
