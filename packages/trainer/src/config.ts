// The training configuration: `configs/train.yaml` validated with zod into a typed value, with CLI flags
// layered on top. Errors name the key, what was found and what is allowed.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { DataverError } from '@dataver/foundation';
import { z } from 'zod';
import { MODEL_NAMES } from './model/index.js';
import { OPTIMIZER_NAMES } from './optim.js';

/** Learning-rate schedules. */
export const SCHEDULE_NAMES = ['constant', 'step', 'cosine', 'onecycle'] as const;

const schedule = z
  .object({
    name: z.enum(SCHEDULE_NAMES).default('onecycle'),
    /** step: multiply by gamma every stepEpochs. */
    stepEpochs: z.number().positive().default(3),
    gamma: z.number().positive().max(1).default(0.5),
    /** onecycle: fraction of the steps spent warming up from lr/25 to lr. */
    warmupFraction: z.number().min(0).max(0.9).default(0.15),
    /** cosine, onecycle: the floor reached at the end. */
    minLearningRate: z.number().min(0).default(1e-5),
  })
  .strict();

const augmentation = z
  .object({
    enabled: z.boolean().default(true),
    probability: z.number().min(0).max(1).default(0.5),
    rotation: z.number().min(0).max(180).default(15),
    /** Share of transformed images whose rotation is drawn in ± nearRotation instead (more upright digits). */
    nearUpright: z.number().min(0).max(1).default(0),
    /** The ± degrees of the nearUpright draws (the `mixed` recipe rotates by up to 18). */
    nearRotation: z.number().min(0).max(180).default(18),
    shift: z.number().min(0).max(14).default(2),
    scale: z.number().min(0).max(0.9).default(0.1),
    strokeWidth: z.number().min(0).max(1).default(0),
    /** Share of images given the `mixed` recipe's pixel corruptions (contrast, blur, occlusion, noise). */
    corruption: z.number().min(0).max(1).default(0),
    /** With `canonicalize`: ± degrees of extra turn on each transformed image. */
    jitter: z.number().min(0).max(45).default(0),
  })
  .strict();

/** The zod schema of `configs/train.yaml`. */
export const trainConfigSchema = z
  .object({
    model: z.enum(MODEL_NAMES).default('cnn-small'),
    /**
     * Turn every digit upright by the principal axis of its ink before the network sees it (training
     * and inference; recorded in the model), so that the model need not learn the data's rotations.
     */
    canonicalize: z.boolean().default(false),
    /**
     * Scale every image to mean 0 and standard deviation 1 of its own before the network sees it
     * (training and inference; recorded in the model): contrast and background level stop mattering.
     */
    standardize: z.boolean().default(false),
    /** Dropout rate before the first dense layer; null: the model's own (cnn-small and cnn-medium 0.1, cnn-large 0.5). */
    dropout: z.number().min(0).max(0.9).nullable().default(null),
    epochs: z.number().int().min(1).max(1000).default(8),
    batchSize: z.number().int().min(1).max(8192).default(64),
    /**
     * Threads for data-parallel training (the main thread included; each batch split evenly, batch-norm
     * statistics shared by all), or `auto`: one per core the machine's load leaves free. A speed knob:
     * the maths do not depend on it (only float rounding of the gradient sums does, so bit-identical
     * results need the same count, which the run's logs/run.json records).
     */
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(16)]).default('auto'),
    seed: z.number().int().min(0).max(0xffffffff).default(0),
    optimizer: z.enum(OPTIMIZER_NAMES).default('adam'),
    learningRate: z.number().positive().max(10).default(0.003),
    weightDecay: z.number().min(0).max(1).default(0),
    schedule: schedule.default(schedule.parse({})),
    augmentation: augmentation.default(augmentation.parse({})),
    validationSplit: z.number().min(0).max(0.5).default(0.1),
    earlyStopping: z
      .object({ patience: z.number().int().min(0).default(3), minDelta: z.number().min(0).default(0) })
      .strict()
      .default({ patience: 3, minDelta: 0 }),
    data: z
      .object({
        dir: z.string().min(1).default('data/processed'),
        /** Use only the first N training images (quick runs and tests). */
        limit: z.number().int().positive().nullable().default(null),
      })
      .strict()
      .default({ dir: 'data/processed', limit: null }),
    output: z
      .object({
        /** Model, metadata.json, metrics.json, plots: reproducible bit for bit. */
        dir: z.string().min(1).default('models/latest'),
        /** Checkpoints, metrics.jsonl, TensorBoard events, run.json (timings) [<dir>/logs]. */
        logs: z.string().min(1).nullable().default(null),
      })
      .strict()
      .default({ dir: 'models/latest', logs: null }),
  })
  .strict();

/** A validated training configuration. */
export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** Allowed keys at each nesting level, for messages about unknown keys. */
function allowedKeys(pathParts: PropertyKey[]): string[] {
  let shape: z.ZodTypeAny = trainConfigSchema;
  for (const part of pathParts) {
    const inner = unwrap(shape);
    if (inner instanceof z.ZodObject) shape = (inner.shape as Record<string, z.ZodTypeAny>)[String(part)]!;
  }
  const inner = unwrap(shape);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

function unwrap(t: z.ZodTypeAny): z.ZodTypeAny {
  let cur: z.ZodTypeAny = t;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodNullable || cur instanceof z.ZodOptional) {
    cur = cur.unwrap() as z.ZodTypeAny;
  }
  return cur;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const key = issue.path.map(String).join('.') || '(top level)';
  let found: unknown = input;
  for (const p of issue.path) found = (found as Record<PropertyKey, unknown> | undefined)?.[p];
  const shown = JSON.stringify(found);
  switch (issue.code) {
    case 'invalid_value':
      return `${key}: ${shown} is not allowed (allowed: ${issue.values.map((v) => String(v)).join(', ')})`;
    case 'unrecognized_keys':
      return `${issue.path.length ? `${key}: ` : ''}unknown key ${issue.keys.map((k) => `'${k}'`).join(', ')} (allowed: ${allowedKeys(issue.path).join(', ')})`;
    case 'invalid_type':
      return `${key}: expected ${issue.expected}, got ${shown === undefined ? 'nothing' : shown}`;
    case 'too_small':
      return `${key}: ${shown} is too small (minimum ${String(issue.minimum)}${issue.inclusive ? '' : ', exclusive'})`;
    case 'too_big':
      return `${key}: ${shown} is too big (maximum ${String(issue.maximum)}${issue.inclusive ? '' : ', exclusive'})`;
    default:
      return `${key}: ${issue.message}`;
  }
}

/**
 * Validates a parsed configuration object (defaults filled in).
 *
 * @example
 * ```ts
 * const config = parseTrainConfig({ epochs: 3, optimizer: 'sgd' });
 * ```
 */
export function parseTrainConfig(input: unknown, source = 'config'): TrainConfig {
  const result = trainConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => describeIssue(i, input));
    throw new DataverError('CONFIG_INVALID', `${source}: ${lines.join('; ')}`, {
      hint: 'fix the key(s) named above; see docs/training.md for the reference',
    });
  }
  return result.data;
}

/**
 * Reads and validates a YAML configuration file.
 *
 * @example
 * ```ts
 * const config = await loadTrainConfig('configs/train.yaml');
 * ```
 */
export async function loadTrainConfig(file: string | undefined): Promise<TrainConfig> {
  if (!file) return parseTrainConfig({});
  if (!fs.existsSync(file)) throw new DataverError('CONFIG_INVALID', `config file ${file} not found`);
  const { parse } = await import('yaml');
  let raw: unknown;
  try {
    raw = parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataverError(
      'CONFIG_INVALID',
      `${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  return parseTrainConfig(raw, file);
}

/**
 * The architecture options a configuration asks for (seeded initial weights, canonicalization,
 * standardization, and the dropout rate where it sets one).
 *
 * @example
 * ```ts
 * const model = createModel(config.model, modelOptionsOf(config));
 * ```
 */
export function modelOptionsOf(config: TrainConfig): {
  seed: number;
  canonicalize: boolean;
  standardize: boolean;
  dropout?: number;
} {
  const { seed, canonicalize, standardize, dropout } = config;
  return { seed, canonicalize, standardize, ...(dropout === null ? {} : { dropout }) };
}

/**
 * Identifies what a configuration trains: a hash of everything but `epochs`, `output` and `workers`, which
 * may change on `--resume` without changing the run (a checkpoint of another hash cannot be resumed).
 *
 * @example
 * ```ts
 * configHash(parseTrainConfig({ epochs: 1 })) === configHash(parseTrainConfig({ epochs: 9 })); // true
 * ```
 */
export function configHash(config: TrainConfig): string {
  const { epochs: _e, output: _o, workers: _w, ...rest } = config;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

/** CLI flags that override the file. */
export interface ConfigOverrides {
  epochs?: number;
  batchSize?: number;
  workers?: number | 'auto';
  seed?: number;
  learningRate?: number;
  model?: string;
  data?: string;
  out?: string;
  logs?: string;
  limit?: number;
  augment?: boolean;
}

/**
 * Applies CLI overrides and validates the result again.
 *
 * @example
 * ```ts
 * applyOverrides(config, { epochs: 1, out: '/tmp/run' });
 * ```
 */
export function applyOverrides(config: TrainConfig, o: ConfigOverrides): TrainConfig {
  const merged = structuredClone(config) as Record<string, unknown> & TrainConfig;
  if (o.epochs !== undefined) merged.epochs = o.epochs;
  if (o.batchSize !== undefined) merged.batchSize = o.batchSize;
  if (o.workers !== undefined) merged.workers = o.workers;
  if (o.seed !== undefined) merged.seed = o.seed;
  if (o.learningRate !== undefined) merged.learningRate = o.learningRate;
  if (o.model !== undefined) (merged as Record<string, unknown>)['model'] = o.model;
  if (o.data !== undefined) merged.data = { ...merged.data, dir: o.data };
  if (o.limit !== undefined) merged.data = { ...merged.data, limit: o.limit };
  if (o.out !== undefined) merged.output = { ...merged.output, dir: o.out };
  if (o.logs !== undefined) merged.output = { ...merged.output, logs: o.logs };
  if (o.augment !== undefined) merged.augmentation = { ...merged.augmentation, enabled: o.augment };
  return parseTrainConfig(merged, 'command line');
}

/**
 * Learning rate at a step under the configured schedule.
 *
 * @example
 * ```ts
 * learningRateAt(config, 0, 1000); // onecycle starts at lr / 25
 * ```
 */
export function learningRateAt(
  config: TrainConfig,
  step: number,
  totalSteps: number,
  stepsPerEpoch = 1,
): number {
  const lr = config.learningRate;
  const s = config.schedule;
  const floor = Math.min(s.minLearningRate, lr);
  switch (s.name) {
    case 'constant':
      return lr;
    case 'step':
      return lr * s.gamma ** Math.floor(step / stepsPerEpoch / s.stepEpochs);
    case 'cosine':
      return floor + ((lr - floor) * (1 + Math.cos((Math.PI * step) / Math.max(1, totalSteps)))) / 2;
    case 'onecycle': {
      const warm = Math.floor(totalSteps * s.warmupFraction);
      if (step < warm) return lr / 25 + ((lr - lr / 25) * step) / warm;
      const t = (step - warm) / Math.max(1, totalSteps - warm);
      return floor + ((lr - floor) * (1 + Math.cos(Math.PI * t))) / 2;
    }
  }
}
