// Crash leftovers: every command removes the temporary files of dataver processes that are gone
// (kill -9, a power cut) from the folders where dataver writes (by pid liveness, never those of a
// process still running); `doctor` reports them, and the partial downloads that the next pull
// resumes.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { findTemps, removeTemps } from '../odb/cache.js';
import type { Repo } from './repo.js';

/** The folders whose temporary files are cheap to look for: no walk of the cache objects or the workspace. */
async function sweptDirs(repo: Repo): Promise<string[]> {
  const indexCaches = path.join(repo.stateDir, 'remote-index');
  const remotes = await fsp.readdir(indexCaches).catch(() => [] as string[]);
  return [
    repo.root,
    repo.dataverDir,
    repo.stateDir,
    ...remotes.map((r) => path.join(indexCaches, r)),
    repo.cache.root,
    ...repo.cache.tempDirs(),
  ];
}

/**
 * Removes the temporary files of dead processes in dataver's own folders; never fails (a
 * read-only cache keeps its leftovers until it can be written). Returns how many went.
 *
 * @example
 * await sweepStaleTemps(repo);
 */
export async function sweepStaleTemps(repo: Repo): Promise<number> {
  try {
    return await removeTemps((await findTemps(await sweptDirs(repo))).stale);
  } catch {
    return 0;
  }
}

/** What a crash left in a repository. */
export interface LeftoverReport {
  /** Temporary files of dead processes, with their bytes. */
  staleTemps: number;
  staleBytes: number;
  /** Partial downloads kept for the next pull to resume, with their bytes. */
  partials: number;
  partialBytes: number;
}

/**
 * Counts the leftovers of interrupted commands (including inside the object folders).
 *
 * @example
 * const { staleTemps, partials } = await findLeftovers(repo);
 */
export async function findLeftovers(repo: Repo): Promise<LeftoverReport> {
  const prefixes = await fsp.readdir(repo.cache.objectsDir).catch(() => [] as string[]);
  const objectDirs = prefixes
    .filter((p) => /^[0-9a-f]{2}$/.test(p))
    .map((p) => path.join(repo.cache.objectsDir, p));
  const { stale } = await findTemps([...(await sweptDirs(repo)), ...objectDirs]);
  // Loaded here: every command sweeps, only doctor counts partial downloads.
  const { partialDownloads } = require('../odb/partial.js') as typeof import('../odb/partial.js');
  const partials = await partialDownloads(repo.cache.downloadDir);
  return {
    staleTemps: stale.length,
    staleBytes: stale.reduce((n, t) => n + t.size, 0),
    partials: partials.length,
    partialBytes: partials.reduce((n, p) => n + p.size, 0),
  };
}
