// `trainer predict`: one line per image, or JSON.
import type { GlobalOptions, Output } from '@dataver/foundation';
import type { BackendPreference } from '../../backend/select.js';
import { predictFiles } from '../../predict.js';

interface PredictFlags {
  model: string;
  topK: number;
  threshold: number;
  backend?: BackendPreference;
  json?: boolean;
}

/**
 * Runs the command with parsed flags; resolves to its exit code.
 *
 * @example
 * ```ts
 * await run(new Output({}), [['seven.png']], { model: 'models/latest', topK: 3, threshold: 0.7 });
 * ```
 */
export async function run(
  _output: Output,
  args: unknown[],
  opts: PredictFlags & GlobalOptions,
): Promise<number> {
  const { predictions } = await predictFiles({
    modelDir: opts.model,
    files: args[0] as string[],
    topK: opts.topK,
    threshold: opts.threshold,
    backend: opts.backend,
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ threshold: opts.threshold, predictions }, null, 2)}\n`);
    return 0;
  }
  for (const p of predictions) {
    const top = p.top.map((t) => `${t.class}:${(100 * t.probability).toFixed(1)}%`).join(' ');
    process.stdout.write(
      `${p.file}: ${p.prediction} (${(100 * p.confidence).toFixed(1)}%)${p.lowConfidence ? ' LOW CONFIDENCE' : ''}  [${top}]\n`,
    );
  }
  return 0;
}
