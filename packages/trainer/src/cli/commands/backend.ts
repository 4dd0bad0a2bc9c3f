// `trainer backend`: which backend would run and why, without loading tfjs.
import type { GlobalOptions, Output } from '@dataver/foundation';
import { describeBackend } from '../../backend/select.js';

/**
 * Runs the command with parsed flags; resolves to its exit code.
 *
 * @example
 * ```ts
 * await run(new Output({}), [], { json: true });
 * ```
 */
export async function run(
  _output: Output,
  _args: unknown[],
  opts: { json?: boolean } & GlobalOptions,
): Promise<number> {
  const choice = describeBackend();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(choice, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`backend: ${choice.name}\nwhy: ${choice.reason}\n`);
  for (const s of choice.skipped) process.stdout.write(`skipped ${s.name}: ${s.reason}\n`);
  return 0;
}
