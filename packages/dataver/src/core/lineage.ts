// The library API that consumers of versioned data (the trainer) use to learn
// the lineage of what they read: which locked version, and whether the files
// on disk still match it; and to get the data of another commit.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { readLockAtRevision } from '../git/revisions.js';
import { readLock } from '../lock/lock-file.js';
import { isSameOrInside } from '../lock/paths.js';
import type { Lock } from '../lock/schema.js';
import { neededObjects } from './objects.js';
import { Repo } from './repo.js';
import { computeStatus, selectOutputs } from './status.js';
import { fetchObjects } from './transfer.js';

export interface DataLineage {
  /** Root of the dataver repository holding the data, or null outside any repository. */
  repoRoot: string | null;
  /** The locked outputs that cover the given paths, with their hashes. */
  outputs: Array<{ path: string; hash: string }>;
  /** Outputs (or paths) whose files differ from the lock, or that are not tracked at all. */
  dirty: Array<{ path: string; state: string }>;
}

/**
 * Checks data files against data.lock.json.
 *
 * @example
 * const { repoRoot, outputs, dirty } = await checkDataLineage({ cwd: process.cwd(), paths: ['data/processed'] });
 * if (dirty.length > 0) throw new Error('data differs from the lock');
 */
export async function checkDataLineage(options: { cwd: string; paths: string[] }): Promise<DataLineage> {
  const first = path.resolve(options.cwd, options.paths[0] ?? '.');
  const repo = await Repo.tryFind(path.dirname(first));
  if (!repo) return { repoRoot: null, outputs: [], dirty: [] };
  const lock = await readLock(repo.root);
  const repoPaths = options.paths.map((p) => repo.toRepoPath(p, options.cwd));
  const dirty: DataLineage['dirty'] = [];
  const covered: string[] = [];
  for (const p of repoPaths) {
    const owner = Object.keys(lock.outputs).filter((o) => isSameOrInside(p, o) || isSameOrInside(o, p));
    if (owner.length === 0) dirty.push({ path: p, state: 'untracked' });
    else covered.push(p);
  }
  const outputs: DataLineage['outputs'] = [];
  if (covered.length > 0) {
    for (const s of await computeStatus(repo, lock, covered)) {
      outputs.push({ path: s.path, hash: s.expectedHash });
      if (s.workspace !== 'unchanged') dirty.push({ path: s.path, state: s.workspace });
    }
  }
  return { repoRoot: repo.root, outputs, dirty };
}

/**
 * Writes the data of git revision `rev` for the given tracked paths under `dest` (keeping their
 * repository-relative layout), from the cache, fetching missing objects from the default remote.
 * The workspace is not touched.
 *
 * @example
 * const files = await materializeRevision({ cwd: '.', rev: 'v1.0', paths: ['data/processed'], dest: '/tmp/v1' });
 */
export async function materializeRevision(options: {
  cwd: string;
  rev: string;
  paths: string[];
  dest: string;
}): Promise<string[]> {
  const repo = await Repo.find(options.cwd);
  const lock = await readLockAtRevision(repo.root, options.rev);
  const repoPaths = options.paths.map((p) => repo.toRepoPath(p, options.cwd));
  const selected = selectOutputs(lock, repoPaths);
  await ensureObjects(repo, lock, repoPaths);
  const jobs: Array<{ hash: string; target: string }> = [];
  for (const [outPath, entry] of selected) {
    if (entry.kind === 'file') jobs.push({ hash: entry.hash, target: path.join(options.dest, outPath) });
    else {
      for (const e of await repo.cache.readManifest(entry.hash)) {
        jobs.push({ hash: e.hash, target: path.join(options.dest, outPath, e.path) });
      }
    }
  }
  for (const dir of new Set(jobs.map((job) => path.dirname(job.target))))
    await fsp.mkdir(dir, { recursive: true });
  await repo.cache.materializeMany(
    jobs.map((job) => ({ hash: job.hash, dest: job.target })),
    'reflink',
  );
  return jobs.map((job) => job.target).sort();
}

/** Fetches what the cache lacks for a lock, when a remote is configured; else explains. */
export async function ensureObjects(repo: Repo, lock: Lock, repoPaths?: string[]): Promise<void> {
  const needed = await neededObjects(repo, lock, repoPaths);
  const lacking =
    needed.missingManifests.length + needed.objects.filter((o) => !repo.cache.has(o.hash)).length;
  if (lacking === 0) return;
  if (!repo.config.core.remote) {
    throw new DataverError('OBJECT_MISSING', `${lacking} object(s) of that revision are not in the cache`, {
      hint: 'configure a remote (`dataver remote add origin URL --default`) so they can be fetched',
    });
  }
  await fetchObjects(repo, lock, repoPaths);
}
