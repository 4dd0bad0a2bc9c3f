// `trainer predict`: each image's class and all ten probabilities as text (a bar per class) or JSON,
// and with --plot a PNG of every input digit beside its probabilities.
import type { GlobalOptions, Output } from '@dataver/foundation';
import type { BackendPreference } from '../../backend/select.js';
import { type Prediction, predictFiles } from '../../predict.js';

interface PredictFlags {
  model: string;
  topK: number;
  threshold: number;
  plot?: string;
  backend?: BackendPreference;
  json?: boolean;
}

/**
 * The text form of one prediction: a headline, then one bar per class.
 *
 * @example
 * ```ts
 * process.stdout.write(predictionText(p));
 * ```
 */
export function predictionText(p: Prediction): string {
  const head = `${p.file}: ${p.prediction} (${(100 * p.confidence).toFixed(1)}%)${p.lowConfidence ? ' LOW CONFIDENCE' : ''}`;
  const bars = p.probabilities.map((q, k) => {
    const bar = '#'.repeat(Math.round(30 * q));
    return `  ${k}${k === p.prediction ? '*' : ' '} ${(100 * q).toFixed(1).padStart(5)}%  ${bar}`;
  });
  return `${[head, ...bars].join('\n')}\n`;
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
  output: Output,
  args: unknown[],
  opts: PredictFlags & GlobalOptions,
): Promise<number> {
  const files = (args[0] as unknown[]).map(String);
  const { predictions, plot } = await predictFiles({
    modelDir: opts.model,
    files,
    topK: opts.topK,
    threshold: opts.threshold,
    backend: opts.backend,
    plot: opts.plot,
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ threshold: opts.threshold, plot, predictions }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(predictions.map(predictionText).join(''));
  if (plot) output.info(`plot written to ${plot}`);
  return 0;
}
