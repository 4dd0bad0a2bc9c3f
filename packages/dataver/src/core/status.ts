// `dataver status`: how the workspace and the cache differ from the lock, per
// output, with per-file detail for directories.
import * as fs from 'node:fs';
import { DataverError, isDataverError } from '@dataver/foundation';
import { isSameOrInside } from '../lock/paths.js';
import type { Lock, OutputEntry } from '../lock/schema.js';
import { type ManifestEntry, manifestObject } from '../odb/manifest.js';
import { CompleteMarks } from './complete-marks.js';
import type { Repo } from './repo.js';
import { listingDigest, StatCache } from './stat-cache.js';
import { manifestEntries, resolveHashes, statFile, walkDirectory } from './workspace.js';

export type FileState = 'new' | 'modified' | 'deleted';

export interface FileChange {
  /** Path relative to the output directory. */
  path: string;
  state: FileState;
}

export interface OutputStatus {
  path: string;
  kind: 'file' | 'dir';
  /** How the workspace compares with the lock. */
  workspace: 'unchanged' | 'modified' | 'deleted';
  /** Whether the cache holds every object of the locked version. */
  cache: 'ok' | 'missing';
  /** For directories: the files that differ. */
  changes: FileChange[];
  /** A hardlinked workspace file was edited in place, so its cache object no longer matches its name. */
  cacheCorrupted?: string[];
  expectedHash: string;
  actualHash?: string;
}

/** Lock outputs selected by user paths (an output matches a path equal to it, inside it, or containing it). */
export function selectOutputs(lock: Lock, repoPaths: string[] | undefined): Array<[string, OutputEntry]> {
  const all = Object.entries(lock.outputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (!repoPaths || repoPaths.length === 0) return all;
  const chosen = all.filter(([p]) => repoPaths.some((q) => isSameOrInside(p, q) || isSameOrInside(q, p)));
  const unmatched = repoPaths.filter((q) => !all.some(([p]) => isSameOrInside(p, q) || isSameOrInside(q, p)));
  if (unmatched.length > 0) {
    throw new DataverError('NOT_TRACKED', `${unmatched[0]} is not tracked by dataver`, {
      hint: `track it with \`dataver add ${unmatched[0]}\`, or list tracked outputs with \`dataver status\``,
    });
  }
  return chosen;
}

/**
 * Computes the status of tracked outputs.
 *
 * @example
 * const report = await computeStatus(repo, lock);
 * const dirty = report.filter((o) => o.workspace !== 'unchanged');
 */
export async function computeStatus(repo: Repo, lock: Lock, repoPaths?: string[]): Promise<OutputStatus[]> {
  const statCache = await StatCache.load(repo);
  const marks = await CompleteMarks.load(repo);
  const out: OutputStatus[] = [];
  for (const [path, entry] of selectOutputs(lock, repoPaths)) {
    out.push(
      entry.kind === 'file'
        ? await fileStatus(repo, statCache, path, entry)
        : await dirStatus(repo, statCache, marks, path, entry),
    );
  }
  await statCache.save();
  await marks.save();
  return out;
}

async function fileStatus(
  repo: Repo,
  statCache: StatCache,
  path: string,
  entry: OutputEntry,
): Promise<OutputStatus> {
  const result: OutputStatus = {
    path,
    kind: 'file',
    workspace: 'unchanged',
    cache: repo.cache.has(entry.hash) ? 'ok' : 'missing',
    changes: [],
    expectedHash: entry.hash,
  };
  const f = statFile(repo, path);
  if (!f) {
    result.workspace = 'deleted';
    return result;
  }
  await resolveHashes(repo, statCache, [f]);
  result.actualHash = f.hash;
  if (f.hash !== entry.hash) {
    result.workspace = 'modified';
    if (repo.cache.sharesInode(entry.hash, f)) result.cacheCorrupted = [path];
  }
  return result;
}

async function dirStatus(
  repo: Repo,
  statCache: StatCache,
  marks: CompleteMarks,
  path: string,
  entry: OutputEntry,
): Promise<OutputStatus> {
  const result: OutputStatus = {
    path,
    kind: 'dir',
    workspace: 'unchanged',
    cache: 'ok',
    changes: [],
    expectedHash: entry.hash,
  };
  let manifest: ManifestEntry[] | undefined;
  const loadManifest = async () => {
    try {
      manifest ??= await repo.cache.readManifest(entry.hash);
    } catch (error) {
      if (!isDataverError(error, 'OBJECT_MISSING')) throw error;
    }
    return manifest;
  };
  if (!marks.has(entry.hash) || !repo.cache.has(entry.hash)) {
    const m = await loadManifest();
    if (!m || m.some((e) => !repo.cache.has(e.hash))) result.cache = 'missing';
    else marks.add(entry.hash);
  }
  if (!fs.existsSync(repo.abs(path))) {
    result.workspace = 'deleted';
    return result;
  }
  const files = walkDirectory(repo, path);
  // Fast path: the listing (names, sizes, mtimes, inodes) is exactly as when last hashed.
  const digest = listingDigest(files);
  const known = statCache.lookupDir(path, digest);
  if (known === entry.hash) {
    result.actualHash = known;
    return result;
  }
  await resolveHashes(repo, statCache, files);
  const current = manifestEntries(files);
  result.actualHash = manifestObject(current).hash;
  statCache.recordDir(path, digest, result.actualHash);
  if (result.actualHash === entry.hash) return result;
  result.workspace = 'modified';
  const before = await loadManifest();
  if (before) {
    result.changes = diffManifests(before, current);
    const oldHashes = new Map(before.map((e) => [e.path, e.hash]));
    const corrupted = files.filter((f) => {
      const old = oldHashes.get(f.rel);
      return old !== undefined && old !== f.hash && repo.cache.sharesInode(old, f);
    });
    if (corrupted.length > 0) result.cacheCorrupted = corrupted.map((f) => f.path);
  }
  return result;
}

/** File-level differences between two manifests (both sorted by path). */
export function diffManifests(before: ManifestEntry[], after: ManifestEntry[]): FileChange[] {
  const changes: FileChange[] = [];
  const old = new Map(before.map((e) => [e.path, e.hash]));
  const seen = new Set<string>();
  for (const e of after) {
    seen.add(e.path);
    const h = old.get(e.path);
    if (h === undefined) changes.push({ path: e.path, state: 'new' });
    else if (h !== e.hash) changes.push({ path: e.path, state: 'modified' });
  }
  for (const e of before) if (!seen.has(e.path)) changes.push({ path: e.path, state: 'deleted' });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
