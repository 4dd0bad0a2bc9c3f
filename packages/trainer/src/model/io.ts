// Model directories and checkpoints on disk. A model directory holds `model.json` (format version,
// architecture, normalization, weight manifest with a sha256) and `weights.bin`; a checkpoint is one
// self-checking file (weights, optimizer state, training state, sha256 trailer). All writes are atomic.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataverError, writeFileAtomicSync } from '@dataver/foundation';
import * as tf from '@tensorflow/tfjs';
import type { Normalization } from '../data/dataset.js';
import type { OptimizerState } from '../optim.js';
import type { EpochMetrics } from './history.js';
import { createModel, MODEL_NAMES, type Model, type ModelName, type ModelOptions } from './index.js';

/** Identifies our model directories and their layout version. */
export const MODEL_FORMAT = 'dataver-trainer-model';
/** Bumped when the layout changes incompatibly. */
export const MODEL_FORMAT_VERSION = 1;

/** Contents of `model.json`. */
export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: number;
  architecture: { name: ModelName; options: Required<ModelOptions> };
  normalization: Normalization;
  classes: number;
  weights: Array<{ name: string; shape: number[]; offset: number; size: number }>;
  weightsFile: string;
  weightsSha256: string;
}

/** A model loaded from disk with its manifest. */
export interface LoadedModel {
  model: Model;
  manifest: ModelManifest;
}

function packWeights(model: Model): { manifest: ModelManifest['weights']; bytes: Uint8Array } {
  const manifest: ModelManifest['weights'] = [];
  let offset = 0;
  for (const v of model.variables) {
    manifest.push({ name: v.name, shape: [...v.variable.shape], offset, size: v.variable.size });
    offset += v.variable.size;
  }
  const all = new Float32Array(offset);
  let at = 0;
  for (const v of model.variables) {
    all.set(v.variable.dataSync(), at);
    at += v.variable.size;
  }
  return { manifest, bytes: new Uint8Array(all.buffer) };
}

function unpackWeights(
  model: Model,
  manifest: ModelManifest['weights'],
  data: Float32Array,
  where: string,
): void {
  const byName = new Map(manifest.map((w) => [w.name, w]));
  for (const v of model.variables) {
    const w = byName.get(v.name);
    if (!w || w.size !== v.variable.size || w.shape.join(',') !== v.variable.shape.join(',')) {
      throw new DataverError(
        'MODEL_INCOMPATIBLE',
        `${where}: weight ${v.name} is missing or has another shape`,
      );
    }
    if (w.offset + w.size > data.length)
      throw new DataverError('CHECKPOINT_CORRUPT', `${where}: weights are truncated`);
    v.variable.assign(tf.tensor(data.subarray(w.offset, w.offset + w.size), v.variable.shape, 'float32'));
  }
}

/**
 * Saves a model directory (`model.json` + `weights.bin`).
 *
 * @example
 * ```ts
 * saveModel('models/latest', model, { mean: 0.16, std: 0.28 });
 * ```
 */
export function saveModel(dir: string, model: Model, normalization: Normalization): ModelManifest {
  const { manifest: weights, bytes } = packWeights(model);
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    architecture: { name: model.name, options: model.options },
    normalization,
    classes: model.options.numClasses,
    weights,
    weightsFile: 'weights.bin',
    weightsSha256: createHash('sha256').update(bytes).digest('hex'),
  };
  // Weights first: a model.json never points at weights that are not there yet.
  writeFileAtomicSync(path.join(dir, 'weights.bin'), bytes, { mkdir: true });
  writeFileAtomicSync(path.join(dir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`, {
    mkdir: true,
  });
  return manifest;
}

/**
 * Reads and checks `model.json` (format and version) without loading tfjs weights.
 *
 * @example
 * ```ts
 * readManifest('models/latest').normalization; // { mean, std }
 * ```
 */
export function readManifest(dir: string): ModelManifest {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) {
    throw new DataverError('MODEL_MISSING', `${file} not found`, {
      hint: 'train a model first: trainer train --out DIR',
    });
  }
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelManifest;
  } catch (error) {
    throw new DataverError('MODEL_INCOMPATIBLE', `${file} is not valid JSON`, { cause: error });
  }
  if (manifest.format !== MODEL_FORMAT) {
    throw new DataverError(
      'MODEL_INCOMPATIBLE',
      `${dir} is not a trainer model directory (format ${JSON.stringify(manifest.format)})`,
    );
  }
  if (manifest.version !== MODEL_FORMAT_VERSION) {
    throw new DataverError(
      'MODEL_INCOMPATIBLE',
      `${dir} was written by another trainer version (model format ${manifest.version}, this one reads ${MODEL_FORMAT_VERSION})`,
      { hint: 'retrain the model with this version' },
    );
  }
  if (!MODEL_NAMES.includes(manifest.architecture?.name)) {
    throw new DataverError(
      'MODEL_INCOMPATIBLE',
      `${dir}: unknown architecture ${JSON.stringify(manifest.architecture?.name)}`,
    );
  }
  return manifest;
}

/**
 * Loads a model directory written by {@link saveModel}, checking format, version and weight hash.
 *
 * @example
 * ```ts
 * const { model, manifest } = loadModel('models/latest');
 * ```
 */
export function loadModel(dir: string): LoadedModel {
  const manifest = readManifest(dir);
  const wfile = path.join(dir, manifest.weightsFile);
  if (!fs.existsSync(wfile)) throw new DataverError('MODEL_MISSING', `${wfile} not found`);
  const bytes = fs.readFileSync(wfile);
  if (createHash('sha256').update(bytes).digest('hex') !== manifest.weightsSha256) {
    throw new DataverError(
      'CHECKPOINT_CORRUPT',
      `${wfile} does not match the hash in model.json (corrupt or replaced)`,
    );
  }
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const model = createModel(manifest.architecture.name, manifest.architecture.options);
  unpackWeights(model, manifest.weights, data, wfile);
  return { model, manifest };
}

const CKPT_MAGIC = Buffer.from('TRNCKPT1');

/** Training progress stored in a checkpoint beside the weights and optimizer state. */
export interface TrainingState {
  epoch: number;
  step: number;
  rng: [number, number, number, number];
  bestMetric: number | null;
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
  history: EpochMetrics[];
  configHash: string;
  normalization: Normalization;
  architecture: { name: ModelName; options: Required<ModelOptions> };
}

/**
 * Writes a checkpoint file: magic, header length, JSON header, float32 payload, sha256 trailer.
 *
 * @example
 * ```ts
 * saveCheckpoint('out/checkpoints/last.ckpt', model, optimizer.getState(), state);
 * ```
 */
export function saveCheckpoint(
  file: string,
  model: Model,
  optimizer: OptimizerState,
  state: TrainingState,
): void {
  const { manifest: weights, bytes: weightBytes } = packWeights(model);
  const slots: Array<{ key: string; index: number; offset: number; size: number }> = [];
  let offset = weightBytes.length / 4;
  const arrays: Float32Array[] = [];
  for (const [key, list] of Object.entries(optimizer.slots)) {
    for (const [index, arr] of list.entries()) {
      slots.push({ key, index, offset, size: arr.length });
      offset += arr.length;
      arrays.push(arr);
    }
  }
  const header = Buffer.from(
    JSON.stringify({ weights, optimizer: { name: optimizer.name, step: optimizer.step, slots }, state }),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const parts: Uint8Array[] = [
    CKPT_MAGIC,
    len,
    header,
    weightBytes,
    ...arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)),
  ];
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  parts.push(hash.digest());
  writeFileAtomicSync(file, parts, { mkdir: true });
}

/** A checkpoint read back. */
export interface Checkpoint {
  optimizer: OptimizerState;
  state: TrainingState;
  /** Loads the weights into a model of the same architecture. */
  restoreWeights(model: Model): void;
}

/**
 * Reads and verifies a checkpoint written by {@link saveCheckpoint}.
 *
 * @example
 * ```ts
 * const ckpt = loadCheckpoint('out/checkpoints/last.ckpt'); ckpt.restoreWeights(model);
 * ```
 */
export function loadCheckpoint(file: string): Checkpoint {
  if (!fs.existsSync(file)) throw new DataverError('MODEL_MISSING', `checkpoint ${file} not found`);
  const buf = fs.readFileSync(file);
  const corrupt = (why: string) =>
    new DataverError('CHECKPOINT_CORRUPT', `checkpoint ${file} is corrupt (${why})`, {
      hint: 'use the other checkpoint (best/last) or train without --resume',
    });
  if (buf.length < CKPT_MAGIC.length + 4 + 32 || !buf.subarray(0, CKPT_MAGIC.length).equals(CKPT_MAGIC)) {
    throw corrupt('not a trainer checkpoint');
  }
  const body = buf.subarray(0, buf.length - 32);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(buf.subarray(buf.length - 32))
  )
    throw corrupt('checksum mismatch');
  const hlen = buf.readUInt32LE(CKPT_MAGIC.length);
  const hstart = CKPT_MAGIC.length + 4;
  const header = JSON.parse(buf.subarray(hstart, hstart + hlen).toString('utf8')) as {
    weights: ModelManifest['weights'];
    optimizer: {
      name: OptimizerState['name'];
      step: number;
      slots: Array<{ key: string; index: number; offset: number; size: number }>;
    };
    state: TrainingState;
  };
  const payload = body.subarray(hstart + hlen);
  const data = new Float32Array(
    payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length),
  );
  const slots: Record<string, Float32Array[]> = {};
  for (const s of header.optimizer.slots) {
    if (s.offset + s.size > data.length) throw corrupt('optimizer state truncated');
    const list = slots[s.key] ?? [];
    list[s.index] = data.slice(s.offset, s.offset + s.size);
    slots[s.key] = list;
  }
  return {
    optimizer: { name: header.optimizer.name, step: header.optimizer.step, slots },
    state: header.state,
    restoreWeights: (model) => unpackWeights(model, header.weights, data, file),
  };
}
