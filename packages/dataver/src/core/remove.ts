// `dataver remove`: stops tracking outputs. Workspace files and cache objects
// stay (gc frees the objects later).
import { DataverError } from '../errors.js';
import { readLock, writeLock } from '../lock/lock-file.js';
import { unignoreOutput } from './gitignore.js';
import type { Repo } from './repo.js';
import { StatCache } from './stat-cache.js';

/**
 * Removes outputs from the lock and from .gitignore.
 *
 * @example
 * await removeOutputs(repo, ['data/old']);
 */
export async function removeOutputs(repo: Repo, repoPaths: string[]): Promise<string[]> {
  const lock = await readLock(repo.root);
  for (const p of repoPaths) {
    if (!lock.outputs[p]) {
      throw new DataverError('NOT_TRACKED', `${p} is not a tracked output`, {
        hint: 'give the exact path of an output, as `dataver status` lists it',
      });
    }
    if (lock.outputs[p].stage) {
      throw new DataverError('USAGE', `${p} is produced by stage '${lock.outputs[p].stage}'`, {
        hint: 'remove it from the stage in dataver.yaml instead',
      });
    }
  }
  const statCache = await StatCache.load(repo);
  for (const p of repoPaths) {
    delete lock.outputs[p];
    statCache.forget(p);
    await unignoreOutput(repo.root, p);
  }
  await writeLock(repo.root, lock);
  await statCache.save();
  return repoPaths;
}
