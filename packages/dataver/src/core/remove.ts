// `dataver remove`: stops tracking outputs. Workspace files and cache objects
// stay (gc frees the objects later).

import * as fs from 'node:fs';
import { DataverError } from '@dataver/foundation';
import { writeLock } from '../lock/lock-file.js';
import { unignoreOutput } from './gitignore.js';
import type { Repo } from './repo.js';
import { StatCache } from './stat-cache.js';
import { hashOf, resolveHashes, statFile, walkDirectory } from './workspace.js';
import { readWorkspaceLock } from './workspace-lock.js';

/**
 * Removes outputs from the lock and from .gitignore.
 *
 * @example
 * await removeOutputs(repo, ['data/old']);
 */
export async function removeOutputs(repo: Repo, repoPaths: string[]): Promise<string[]> {
  const lock = await readWorkspaceLock(repo);
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
  if (repo.config.cache.link === 'hardlink' || repo.config.cache.link === 'symlink') {
    // Linked files would dangle (symlink) or pin read-only cache objects (hardlink) once
    // dataver stops tracking them: give the user plain copies back.
    await unlinkFromCache(repo, repoPaths);
  }
  for (const p of repoPaths) {
    delete lock.outputs[p];
    statCache.forget(p);
    await unignoreOutput(repo.root, p);
  }
  await writeLock(repo.root, lock);
  await statCache.save();
  return repoPaths;
}

async function unlinkFromCache(repo: Repo, repoPaths: string[]): Promise<void> {
  const statCache = await StatCache.load(repo);
  for (const p of repoPaths) {
    const st = fs.lstatSync(repo.abs(p), { throwIfNoEntry: false });
    if (!st) continue;
    const files = st.isDirectory()
      ? walkDirectory(repo, p)
      : [statFile(repo, p)].filter((f) => f !== undefined);
    await resolveHashes(repo, statCache, files);
    const cached = files.filter((f) => repo.cache.has(hashOf(f)));
    await repo.cache.materializeMany(
      cached.map((f) => ({ hash: hashOf(f), dest: f.abs })),
      'copy',
    );
  }
}
