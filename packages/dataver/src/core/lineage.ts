// The library API that consumers of versioned data (the trainer) use to learn
// the lineage of what they read: which locked version at which commit, and whether
// the files on disk still match it; and to get the data of another commit.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { readLockAtRevision, resolveRevision } from '../git/revisions.js';
import { readLock } from '../lock/lock-file.js';
import { isSameOrInside } from '../lock/paths.js';
import type { Lock } from '../lock/schema.js';
import { neededObjects } from './objects.js';
import { Repo } from './repo.js';
import { computeStatus, selectOutputs } from './status.js';
import { fetchObjects, transferProblemsError } from './transfer.js';

/** A locked output and the hash the lock records for it. */
export interface LockedOutput {
  /** Repository path of the output (`/`-separated, relative to the dataver root). */
  path: string;
  hash: string;
}

export interface DataLineage {
  /** Root of the dataver repository holding the data, or null outside any repository. */
  repoRoot: string | null;
  /**
   * The commit checked out in the git repository that holds the dataver root (`HEAD`), or null when
   * there is none (no repository, not in git, or no commit yet).
   */
  commit: string | null;
  /** The locked outputs that cover the given paths, with their hashes. */
  outputs: LockedOutput[];
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
  if (!repo) return { repoRoot: null, commit: null, outputs: [], dirty: [] };
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
  return { repoRoot: repo.root, commit: await headCommit(repo.root), outputs, dirty };
}

/** What data.lock.json of a git revision records for a set of data paths. */
export interface RevisionLineage {
  /** Root of the dataver repository (which may be a subfolder of the git work tree). */
  repoRoot: string;
  /** The revision as given (`HEAD~1`, a tag, a branch). */
  rev: string;
  /** The full commit id it resolves to. */
  commit: string;
  /** The outputs of the lock at that revision that cover the paths, sorted by path. */
  outputs: LockedOutput[];
}

/**
 * The lineage of data paths at a git revision: its commit and the locked outputs (with their hashes)
 * that cover the paths there. Works wherever the dataver root sits inside the git work tree. Paths are
 * relative to `cwd`; an unknown revision is a USAGE error (exit 2).
 *
 * @example
 * const { commit, outputs } = await lineageAtRevision({ cwd: '.', rev: 'HEAD~1', paths: ['data/processed'] });
 * console.log(commit, outputs); // 'e3b0…', [{ path: 'data/processed', hash: '9f86…' }]
 */
export async function lineageAtRevision(options: {
  cwd: string;
  rev: string;
  paths: string[];
}): Promise<RevisionLineage> {
  const repo = await Repo.find(options.cwd);
  const commit = await resolveRevision(repo.root, options.rev);
  const lock = await readLockAtRevision(repo.root, commit);
  const repoPaths = options.paths.map((p) => repo.toRepoPath(p, options.cwd));
  const outputs = Object.entries(lock.outputs)
    .filter(([o]) => repoPaths.some((p) => isSameOrInside(p, o) || isSameOrInside(o, p)))
    .map(([o, entry]) => ({ path: o, hash: entry.hash }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { repoRoot: repo.root, rev: options.rev, commit, outputs };
}

/**
 * The full commit id of a git revision of the repository that holds `cwd`; an unknown revision is a
 * USAGE error (exit 2).
 *
 * @example
 * const commit = await resolveCommit({ cwd: process.cwd(), rev: 'main~2' }); // '4b825dc6…'
 */
export async function resolveCommit(options: { cwd: string; rev: string }): Promise<string> {
  const repo = await Repo.find(options.cwd);
  return resolveRevision(repo.root, options.rev);
}

/**
 * The commit checked out (`HEAD`) in the git repository that holds the dataver repository of `cwd`,
 * or null when there is none: outside a dataver repository, outside git, or before the first commit.
 *
 * @example
 * const commit = await currentCommit({ cwd: process.cwd() }); // '4b825dc6…' or null
 */
export async function currentCommit(options: { cwd: string }): Promise<string | null> {
  const repo = await Repo.tryFind(options.cwd);
  return repo ? headCommit(repo.root) : null;
}

async function headCommit(root: string): Promise<string | null> {
  try {
    return await resolveRevision(root, 'HEAD');
  } catch (error) {
    // Not a git work tree, or no commit yet: there is no commit to record (not a failure).
    if (error instanceof DataverError && error.code === 'USAGE') return null;
    throw error;
  }
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
  const problems = transferProblemsError(await fetchObjects(repo, lock, repoPaths));
  if (problems) throw problems;
}
