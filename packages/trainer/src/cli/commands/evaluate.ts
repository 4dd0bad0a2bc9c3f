// `trainer evaluate`: report as a table or JSON.
import * as os from 'node:os';
import type { GlobalOptions, Output } from '@dataver/foundation';
import type { BackendPreference } from '../../backend/select.js';
import { DEFAULT_IMAGE_LIMITS } from '../../data/image-probe.js';
import { type EvaluationReport, evaluate } from '../../evaluate.js';
import { readManifest } from '../../model/io.js';
import { InferencePool } from '../../serve/inference-pool.js';
import { SWEEP_BATCH, type SweepOptions, type SweepReport } from '../../sweep.js';

interface EvaluateFlags {
  model: string;
  data?: string;
  images?: string;
  targets?: string;
  raw?: boolean;
  report?: string;
  sweep?: 'all' | 'rotation' | 'corruptions';
  sweepLimit?: number;
  manifest?: string;
  metrics?: string;
  backend?: BackendPreference;
  json?: boolean;
}

/**
 * Runs the command with parsed flags; resolves to its exit code.
 *
 * @example
 * ```ts
 * await run(new Output({}), [], { model: 'models/latest', data: 'data/processed', json: true });
 * ```
 */
export async function run(
  _output: Output,
  _args: unknown[],
  opts: EvaluateFlags & GlobalOptions,
): Promise<number> {
  const sweep = opts.sweep ? sweepOptions(opts.sweep, opts.sweepLimit) : undefined;
  const pool = sweep ? await sweepPool(opts, sweep) : null;
  let report: EvaluationReport;
  try {
    report = await evaluate({
      modelDir: opts.model,
      data: opts.images ? undefined : opts.data,
      images: opts.images,
      targets: opts.targets,
      raw: opts.raw,
      reportDir: opts.report,
      sweep: sweep && pool ? { ...sweep, classify: classifyWith(pool) } : sweep,
      manifest: opts.manifest,
      metricsFile: opts.metrics,
      backend: opts.backend,
    });
  } finally {
    await pool?.close();
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  if (opts.quiet) {
    process.stdout.write(`${report.accuracy}\n`);
    return 0;
  }
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`.padStart(8);
  const lines = [
    `data: ${report.data} (${report.count} images)`,
    `accuracy: ${pct(report.accuracy).trim()}   loss: ${report.loss.toFixed(4)}   macro F1: ${report.macroF1.toFixed(4)}`,
    '',
    'class  precision   recall       f1  support',
    ...report.perClass.map(
      (c) =>
        `${String(c.class).padStart(5)}  ${pct(c.precision)} ${pct(c.recall)} ${pct(c.f1)}  ${String(c.support).padStart(7)}`,
    ),
  ];
  if (report.shards) lines.push('', ...shardLines(report.shards));
  if (report.sweep) lines.push('', ...sweepLines(report.sweep));
  if (report.files)
    lines.push('', `report written to ${report.files.report} (+ confusion_matrix.png/json, worst.png)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/**
 * Model workers for the sweep on a machine with two or more cores (its passes are independent), or
 * null to run it on this thread. Both give the same numbers (see SweepOptions.classify); the pool is
 * used only where every request is a whole batch, so that its batches are those of this thread.
 */
async function sweepPool(opts: EvaluateFlags, sweep: SweepOptions): Promise<InferencePool | null> {
  const workers = Math.min(2, os.availableParallelism());
  if (workers < 2 || (sweep.limit ?? 10000) % SWEEP_BATCH !== 0) return null;
  return InferencePool.start({
    modelDir: opts.model,
    backend: opts.backend ?? 'auto',
    workers,
    maxBatch: SWEEP_BATCH,
    maxQueue: 1 << 20,
    limits: DEFAULT_IMAGE_LIMITS,
    classes: readManifest(opts.model).classes,
  });
}

/** A pool's classification of consecutive ink images as one probability buffer. */
function classifyWith(pool: InferencePool): NonNullable<SweepOptions['classify']> {
  return async (ink, count) => {
    const inputs = Array.from({ length: count }, (_, i) => ({
      name: `sweep ${i}`,
      ink: ink.subarray(i * 784, (i + 1) * 784),
    }));
    const rows = await pool.classify(inputs);
    const classes = rows[0]?.length ?? 0;
    const out = new Float32Array(count * classes);
    for (const [i, row] of rows.entries()) out.set(row, i * classes);
    return out;
  };
}

/** What `--sweep <kind>` measures: rotations, corruptions or both, on the first `limit` digits. */
function sweepOptions(kind: 'all' | 'rotation' | 'corruptions', limit: number | undefined): SweepOptions {
  return {
    ...(kind === 'rotation' ? { corruptions: [] } : {}),
    ...(kind === 'corruptions' ? { angles: [] } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

function shardLines(shards: NonNullable<EvaluationReport['shards']>): string[] {
  const worstAt = shards.worstAngle === null ? '' : ` (shard rotated ${shards.worstAngle.toFixed(1)}°)`;
  return [
    `per shard (${shards.perShard.length}): mean ${pct(shards.mean)}, worst ${pct(shards.worst)}${worstAt}`,
  ];
}

function sweepLines(sweep: SweepReport): string[] {
  const s = sweep.summary;
  const lines = [`robustness on ${sweep.count} MNIST test digits: clean ${pct(sweep.clean)}`];
  if (sweep.rotation.length)
    lines.push(
      `  rotated within ±50°: mean ${pct(s.rotationMean)}, worst ${pct(s.rotationWorst)} at ${s.rotationWorstAngle}°; over ±60°: mean ${pct(s.rotationMeanAll)}`,
    );
  for (const c of sweep.corruptions) lines.push(`  ${c.at.padEnd(12)} ${pct(c.accuracy).padStart(7)}`);
  return lines;
}
