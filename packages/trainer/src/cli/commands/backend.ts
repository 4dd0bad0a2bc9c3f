// `trainer backend`: which backend would run and why, without loading tfjs.
import { describeBackend } from '../../backend/select.js';
import type { GlobalFlags } from '../index.js';

/**
 * Runs the command with parsed flags; resolves to its exit code.
 *
 * @example
 * ```ts
 * await run({ json: true }, {});
 * ```
 */
export async function run(opts: { json?: boolean }, _g: GlobalFlags): Promise<number> {
  const choice = describeBackend();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(choice, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`backend: ${choice.name}\nwhy: ${choice.reason}\n`);
  for (const s of choice.skipped) process.stdout.write(`skipped ${s.name}: ${s.reason}\n`);
  return 0;
}
