// `trainer train`: config file + flags → train() → a summary (text or JSON).

import * as fs from 'node:fs';
import { type GlobalOptions, type Output, stderrLogger } from '@dataver/foundation';
import type { BackendPreference } from '../../backend/select.js';
import { applyOverrides, loadTrainConfig } from '../../config.js';
import { train } from '../../train.js';

interface TrainFlags {
  config?: string;
  data?: string;
  epochs?: number;
  batchSize?: number;
  workers?: number;
  lr?: number;
  seed?: number;
  model?: string;
  limit?: number;
  augment?: boolean;
  out?: string;
  logs?: string;
  resume?: boolean;
  allowDirty?: boolean;
  rev?: string;
  backend?: BackendPreference;
  json?: boolean;
}

/**
 * Runs the command with parsed flags; resolves to its exit code.
 *
 * @example
 * ```ts
 * await run(new Output({}), [], { config: 'configs/train.yaml', epochs: 1 });
 * ```
 */
export async function run(
  _output: Output,
  _args: unknown[],
  opts: TrainFlags & GlobalOptions,
): Promise<number> {
  const file = opts.config ?? (fs.existsSync('configs/train.yaml') ? 'configs/train.yaml' : undefined);
  const config = applyOverrides(await loadTrainConfig(file), {
    data: opts.data,
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    workers: opts.workers,
    learningRate: opts.lr,
    seed: opts.seed,
    model: opts.model,
    limit: opts.limit,
    out: opts.out,
    logs: opts.logs,
    augment: opts.augment === false ? false : undefined,
  });
  // With --json, stdout is the result alone; messages stay on stderr, details only without --json.
  const log = stderrLogger({ quiet: opts.quiet, verbose: opts.verbose && !opts.json });
  const result = await train({
    config,
    resume: opts.resume,
    allowDirty: opts.allowDirty,
    rev: opts.rev,
    backend: opts.backend,
    log,
    progress: process.stderr.isTTY === true && !opts.quiet,
  });
  if (opts.json) {
    const { history, ...rest } = result;
    process.stdout.write(`${JSON.stringify({ ...rest, epochs: history.length, history }, null, 2)}\n`);
  } else if (!opts.quiet) {
    process.stdout.write(
      `wrote ${result.outDir} (best epoch ${result.bestEpoch}${result.stoppedEarly ? ', stopped early' : ''}); ` +
        `test accuracy ${result.testAccuracy === null ? 'n/a' : `${(100 * result.testAccuracy).toFixed(2)}%`}; ` +
        `${result.imagesPerSecond.toFixed(0)} images/s on ${result.backend.name}; ${result.seconds.toFixed(1)} s\n`,
    );
  }
  return 0;
}
