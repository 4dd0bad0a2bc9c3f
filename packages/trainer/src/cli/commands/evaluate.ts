// `trainer evaluate`: report as a table or JSON.
import type { GlobalOptions, Output } from '@dataver/foundation';
import type { BackendPreference } from '../../backend/select.js';
import { type EvaluationReport, evaluate } from '../../evaluate.js';
import type { SweepOptions, SweepReport } from '../../sweep.js';

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
  const report = await evaluate({
    modelDir: opts.model,
    data: opts.images ? undefined : opts.data,
    images: opts.images,
    targets: opts.targets,
    raw: opts.raw,
    reportDir: opts.report,
    sweep: opts.sweep ? sweepOptions(opts.sweep, opts.sweepLimit) : undefined,
    manifest: opts.manifest,
    metricsFile: opts.metrics,
    backend: opts.backend,
  });
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
