// `dataver move`: renames a tracked output — its files in the workspace, its entry in the lock
// (same hash: the cache is untouched), its .gitignore line and what the stat cache knows of it.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { writeLock } from '../lock/lock-file.js';
import { checkOverlaps } from './add.js';
import { ignoreOutputs, unignoreOutput } from './gitignore.js';
import type { Repo } from './repo.js';
import { StatCache } from './stat-cache.js';
import { readWorkspaceLock } from './workspace-lock.js';

export interface MoveResult {
  from: string;
  to: string;
  /** False when the output was not in the workspace (only its entry moved). */
  movedFiles: boolean;
}

/**
 * Moves output `from` to `to` (repository paths; `to` must not exist).
 *
 * @example
 * await moveOutput(repo, 'data/raw', 'data/source');
 */
export async function moveOutput(repo: Repo, from: string, to: string): Promise<MoveResult> {
  const lock = await readWorkspaceLock(repo);
  const entry = lock.outputs[from];
  if (!entry) {
    throw new DataverError('NOT_TRACKED', `${from} is not a tracked output`, {
      hint: 'give the exact path of an output, as `dataver ls` lists it',
    });
  }
  if (entry.stage) {
    throw new DataverError('USAGE', `${from} is produced by stage '${entry.stage}'`, {
      hint: `change the stage's outs in dataver.yaml and run \`dataver repro ${entry.stage}\``,
    });
  }
  if (from === to)
    throw new DataverError('USAGE', `${from} and ${to} are the same path`, {
      hint: 'give another destination',
    });
  if (fs.lstatSync(repo.abs(to), { throwIfNoEntry: false })) {
    throw new DataverError('USAGE', `${to} exists already`, {
      hint: 'move it out of the way, or choose another destination',
    });
  }
  const { [from]: _, ...others } = lock.outputs;
  checkOverlaps({ ...lock, outputs: others }, [to]);
  repo.assertPlainParents(to);
  const source = repo.abs(from);
  const movedFiles = fs.lstatSync(source, { throwIfNoEntry: false }) !== undefined;
  if (movedFiles) {
    await fsp.mkdir(path.dirname(repo.abs(to)), { recursive: true });
    await fsp.rename(source, repo.abs(to));
  }
  const statCache = await StatCache.load(repo);
  const materialized = statCache.lastMaterialized(from);
  statCache.forget(from);
  if (movedFiles && materialized) statCache.recordMaterialized(to, materialized);
  lock.outputs = { ...others, [to]: entry };
  await writeLock(repo.root, lock);
  await statCache.save();
  await unignoreOutput(repo.root, from);
  await ignoreOutputs(repo.root, [to]);
  return { from, to, movedFiles };
}
