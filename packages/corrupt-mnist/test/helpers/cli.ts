// Spawns the built CLI (packages/corrupt-mnist/bin/corrupt-mnist.js), as users run it.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const BIN = path.resolve(__dirname, '../../bin/corrupt-mnist.js');

export function cli(args: string[], cwd?: string): SpawnSyncReturns<string> {
  if (!fs.existsSync(path.resolve(__dirname, '../../dist/cli/index.js'))) {
    throw new Error('corrupt-mnist is not built: run `npx tsc -b packages/corrupt-mnist` first');
  }
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, maxBuffer: 64 * 1024 * 1024 });
}

/** sha256 of every file in a folder, by name. */
export function hashDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    out[name] = createHash('sha256')
      .update(fs.readFileSync(path.join(dir, name)))
      .digest('hex');
  }
  return out;
}
