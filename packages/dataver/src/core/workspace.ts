// Reading the workspace: walking tracked paths, and hashing what the stat
// cache cannot vouch for (on all cores), optionally copying it into the cache.
import * as fs from 'node:fs';
import path from 'node:path';
import { DataverError, isStaleTemp, isTempName } from '@dataver/foundation';
import type { PoolOptions } from '../hash/pool.js';
import { hashFiles, isFailure } from '../hash/pool.js';
import { isSafeRelativePath } from '../lock/paths.js';
import type { ManifestEntry } from '../odb/manifest.js';
import { present, zip } from '../util/invariants.js';
import type { Repo } from './repo.js';
import type { StatCache } from './stat-cache.js';

export interface WorkspaceFile {
  /** Repository path (`/`-separated). */
  path: string;
  /** Path relative to the tracked directory (equal to the file name for a tracked file). */
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
  /** Hard links to the file's bytes (more than 1: it may share them with a cache object). */
  nlink: number;
  /** The path itself is a symlink (the other fields describe its target). */
  isLink: boolean;
  /** Filled in by `resolveHashes`. */
  hash?: string;
  /** Set by `resolveHashes` with `ingest` when the file's bytes were new to the cache. */
  added?: boolean;
}

function describe(repoPath: string, rel: string, abs: string, st: fs.Stats, isLink: boolean): WorkspaceFile {
  return {
    path: repoPath,
    rel,
    abs,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
    ino: st.ino,
    dev: st.dev,
    nlink: st.nlink,
    isLink,
  };
}

/**
 * Lists the regular files below a directory, recursively, sorted by path. Symlinks are
 * followed only when they stay inside the repository.
 */
export function walkDirectory(
  repo: Repo,
  repoPath: string,
  options: { leftovers?: string[] } = {},
): WorkspaceFile[] {
  const out: WorkspaceFile[] = [];
  const rootAbs = repo.abs(repoPath);
  if (fs.lstatSync(rootAbs, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new DataverError('PATH_OUTSIDE_REPO', `${repoPath} is a symlink to a folder`, {
      hint: 'dataver tracks real folders; replace the link by the folder',
    });
  }
  const stack: string[] = [''];
  for (let relDir = stack.pop(); relDir !== undefined; relDir = stack.pop()) {
    const absDir = relDir === '' ? rootAbs : path.join(rootAbs, relDir);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(absDir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && relDir === '') return out;
      throw error;
    }
    for (const entry of entries) {
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (isTempName(entry.name)) {
        // A write in flight (another tool's atomic write) or one a crash interrupted: never data.
        // Checkout collects those of dead processes to delete them.
        if (isStaleTemp(entry.name)) options.leftovers?.push(`${repoPath}/${rel}`);
        continue;
      }
      if (!isSafeRelativePath(rel)) {
        throw new DataverError(
          'USAGE',
          `${JSON.stringify(`${repoPath}/${rel}`)}: dataver cannot track this name`,
          {
            hint: 'rename it: backslashes, control characters and nested .git folders are not supported in tracked folders',
          },
        );
      }
      const abs = `${absDir}${path.sep}${entry.name}`;
      if (entry.isDirectory()) {
        stack.push(rel);
        continue;
      }
      let st: fs.Stats;
      if (entry.isSymbolicLink()) {
        repo.assertNoEscapingSymlink(abs, `${repoPath}/${rel}`);
        try {
          st = fs.statSync(abs);
        } catch {
          continue; // dangling link
        }
        if (st.isDirectory()) {
          throw new DataverError('USAGE', `${repoPath}/${rel} is a symlink to a directory`, {
            hint: 'dataver tracks files; replace the link with the directory or a link per file',
          });
        }
        if (!st.isFile()) continue; // a link to a fifo, socket or device: not data
      } else if (entry.isFile()) {
        st = fs.lstatSync(abs, { bigint: false, throwIfNoEntry: true });
      } else {
        continue; // sockets, fifos, devices
      }
      out.push(describe(`${repoPath}/${rel}`, rel, abs, st, entry.isSymbolicLink()));
    }
  }
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return out;
}

/** Stat of one tracked file, or undefined when it does not exist. */
export function statFile(repo: Repo, repoPath: string): WorkspaceFile | undefined {
  const abs = repo.abs(repoPath);
  const link = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!link) return undefined;
  const st = link.isSymbolicLink() ? fs.statSync(abs, { throwIfNoEntry: false }) : link;
  if (!st?.isFile()) return undefined;
  return describe(repoPath, path.posix.basename(repoPath), abs, st, link.isSymbolicLink());
}

/**
 * The hash `resolveHashes` filled in; calling it before is an internal error.
 *
 * @example
 * await resolveHashes(repo, statCache, files);
 * const hashes = files.map(hashOf);
 */
export function hashOf(file: WorkspaceFile): string {
  return present(file.hash, `the hash of ${file.path} (resolveHashes not called?)`);
}

/**
 * A directory's manifest entries from its files, whose hashes are resolved.
 *
 * @example
 * const { hash } = manifestObject(manifestEntries(files));
 */
export function manifestEntries(files: readonly WorkspaceFile[]): ManifestEntry[] {
  return files.map((f) => ({ path: f.rel, hash: hashOf(f), size: f.size }));
}

/**
 * Fills in `hash` for every file: from the stat cache where metadata is unchanged, else by
 * reading the file (all cores). With `ingest`, files are also copied into the cache.
 */
export async function resolveHashes(
  repo: Repo,
  statCache: StatCache,
  files: WorkspaceFile[],
  options: PoolOptions & { ingest?: boolean } = {},
): Promise<{ hashed: number; ingested: number }> {
  const todo: WorkspaceFile[] = [];
  for (const f of files) {
    const cached = statCache.lookup(f.path, f);
    if (cached !== undefined && (!options.ingest || repo.cache.has(cached))) f.hash = cached;
    else todo.push(f);
  }
  if (todo.length === 0) return { hashed: 0, ingested: 0 };
  const jobs = todo.map((f) => ({ path: f.abs, size: f.size }));
  let ingested = 0;
  if (options.ingest) {
    for (const [f, r] of zip(todo, await repo.cache.ingest(jobs, options))) {
      f.hash = r.hash;
      f.added = r.added;
      if (r.added) ingested++;
      statCache.record(f.path, f, r.hash);
    }
  } else {
    for (const [f, r] of zip(todo, await hashFiles(jobs, options))) {
      if (isFailure(r)) {
        throw new DataverError('PATH_NOT_FOUND', `cannot read ${f.path}: ${r.error}`, {
          hint: 'the file changed or vanished while it was being read; run the command again',
        });
      }
      f.hash = r.hash;
      statCache.record(f.path, f, r.hash);
    }
  }
  return { hashed: todo.length, ingested };
}
