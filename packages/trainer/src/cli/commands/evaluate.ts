// `trainer evaluate`: report as a table or JSON.
import type { GlobalOptions, Output } from '@dataver/foundation';
import type { BackendPreference } from '../../backend/select.js';
import { evaluate } from '../../evaluate.js';

interface EvaluateFlags {
  model: string;
  data?: string;
  images?: string;
  targets?: string;
  raw?: boolean;
  report?: string;
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
  if (report.files)
    lines.push('', `report written to ${report.files.report} (+ confusion_matrix.png/json, worst.png)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
