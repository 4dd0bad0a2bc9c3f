// `dataver add`: content into the cache, an entry into data.lock.json, the
// path into .gitignore. Re-adding an unchanged path rewrites nothing.
import * as fs from 'node:fs';
import type { Progress } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import { gitTrackedPaths } from '../git/tracked-paths.js';
import { writeLock } from '../lock/lock-file.js';
import { isSameOrInside } from '../lock/paths.js';
import { caseClash, windowsNameProblem } from '../lock/portable-names.js';
import type { Lock, OutputEntry } from '../lock/schema.js';
import { relinkWorkspace } from './checkout.js';
import { CompleteMarks } from './complete-marks.js';
import { ignoreOutputs } from './gitignore.js';
import { ensureInternalDirs, type Repo } from './repo.js';
import { type Listing, StatCache } from './stat-cache.js';
import { collectTensorMeta } from './tensor-meta.js';
import {
  hashOf,
  listDirectory,
  manifestFields,
  resolveHashes,
  statFile,
  type WorkspaceFile,
} from './workspace.js';
import { readWorkspaceLock } from './workspace-lock.js';

export interface AddedOutput {
  path: string;
  kind: 'file' | 'dir';
  hash: string;
  size: number;
  files: number;
  /** False when the lock already held exactly this. */
  changed: boolean;
  /** Files whose bytes were new to the cache. */
  newObjects: number;
}

export interface AddOptions {
  progress?: Progress;
  /** Stage that produces the outputs (pipeline use). */
  stage?: string;
  /** Skip writing the lock (the caller writes it, e.g. repro). */
  lock?: Lock;
  /** Told about tensor files whose metadata could not be read (the add goes on). */
  onWarning?: (message: string) => void;
}

/**
 * Tracks files and directories: caches their content and records them in the lock.
 *
 * @example
 * const added = await addPaths(repo, ['data/raw']);
 */
export async function addPaths(
  repo: Repo,
  repoPaths: string[],
  options: AddOptions = {},
): Promise<AddedOutput[]> {
  const lock = options.lock ?? (await readWorkspaceLock(repo));
  checkOverlaps(lock, repoPaths);
  const inGit = await gitTrackedPaths(repo.root, repoPaths);
  if (inGit.length > 0) {
    throw new DataverError(
      'USAGE',
      `${inGit[0]} is tracked by git${inGit.length > 1 ? ` (and ${inGit.length - 1} more)` : ''}`,
      {
        hint: `stop tracking it in git first: git rm -r --cached ${inGit[0]}`,
      },
    );
  }
  await ensureInternalDirs(repo);
  const statCache = await StatCache.load(repo);
  const marks = await CompleteMarks.load(repo);
  const results: AddedOutput[] = [];

  // Collect every file first so that hashing runs as one parallel batch.
  const plans = repoPaths.map((repoPath) => planOutput(repo, repoPath));
  const allFiles = plans.flatMap((p) => p.files);
  checkPortableNames(allFiles.map((f) => f.path));
  const totalBytes = allFiles.reduce((n, f) => n + f.size, 0);
  options.progress?.start('adding', allFiles.length, totalBytes);
  await resolveHashes(repo, statCache, allFiles, {
    ingest: true,
    onFile: (_i, bytes) => options.progress?.tick(1, bytes),
  });
  options.progress?.stop();

  for (const plan of plans) {
    const previous = lock.outputs[plan.path];
    let entry: OutputEntry;
    if (plan.kind === 'file') {
      const [f] = plan.files;
      entry = { hash: hashOf(f), size: f.size, kind: 'file' };
    } else {
      // Streamed from the files themselves: no second object per file, no whole-manifest buffer.
      const hash = await repo.cache.putManifest(plan.files, manifestFields);
      statCache.recordDir(plan.path, plan.listing, hash);
      const files = plan.files.length;
      entry = { hash, size: plan.files.reduce((n, f) => n + f.size, 0), files, kind: 'dir' };
      // Every object was just ingested or seen in the cache: the next status need not look again.
      marks.add(hash);
      marks.rememberTotals(hash, { size: entry.size, files });
    }
    if (options.stage) entry.stage = options.stage;
    else if (previous?.stage) entry.stage = previous.stage;
    // Imported data that is still what was imported keeps its source (an edit makes it local data).
    if (previous?.import && previous.hash === entry.hash) entry.import = previous.import;
    const meta =
      previous && previous.hash === entry.hash && previous.meta
        ? previous.meta
        : await collectTensorMeta(repo, plan.kind, plan.files, options.onWarning);
    if (meta) entry.meta = meta;
    const changed = JSON.stringify(previous) !== JSON.stringify(entry);
    lock.outputs[plan.path] = entry;
    statCache.recordMaterialized(plan.path, entry.hash);
    results.push({
      path: plan.path,
      kind: plan.kind,
      hash: entry.hash,
      size: entry.size,
      files: plan.files.length,
      changed,
      newObjects: plan.files.filter((f) => f.added).length,
    });
  }

  if (repo.config.cache.link === 'hardlink' || repo.config.cache.link === 'symlink') {
    // Linked modes: the workspace files become links to the (read-only) cache objects.
    await relinkWorkspace(repo, statCache, allFiles);
  }
  await statCache.save();
  await marks.save();
  if (!options.lock) await writeLock(repo.root, lock);
  await ignoreOutputs(
    repo.root,
    results.map((r) => r.path),
  );
  return results;
}

type OutputPlan =
  | { path: string; kind: 'file'; files: [WorkspaceFile] }
  | { path: string; kind: 'dir'; files: WorkspaceFile[]; listing: Listing };

function planOutput(repo: Repo, repoPath: string): OutputPlan {
  let st: fs.Stats;
  try {
    st = fs.statSync(repo.abs(repoPath));
  } catch {
    throw new DataverError('PATH_NOT_FOUND', `${repoPath} does not exist`, {
      hint: 'check the path; `dataver add` takes files and directories inside the repository',
    });
  }
  if (st.isDirectory()) {
    const listing = listDirectory(repo, repoPath);
    return { path: repoPath, kind: 'dir', files: listing.files(), listing };
  }
  if (!st.isFile()) {
    throw new DataverError('USAGE', `${repoPath} is neither a file nor a directory`, {
      hint: 'dataver tracks regular files and directories',
    });
  }
  const file = statFile(repo, repoPath);
  if (!file) {
    throw new DataverError('PATH_NOT_FOUND', `${repoPath} vanished while it was being added`, {
      hint: 'run the command again once nothing else moves it',
    });
  }
  return { path: repoPath, kind: 'file', files: [file] };
}

/** An output may not contain or lie inside another output, nor be given twice. */
export function checkOverlaps(lock: Lock, repoPaths: string[]): void {
  const seen = new Set<string>();
  for (const p of repoPaths) {
    if (seen.has(p)) continue;
    for (const other of [...Object.keys(lock.outputs), ...seen]) {
      if (other !== p && (isSameOrInside(p, other) || isSameOrInside(other, p))) {
        throw new DataverError('PATH_OVERLAP', `${p} overlaps the tracked output ${other}`, {
          hint: isSameOrInside(p, other)
            ? `track the whole directory: dataver add ${other}`
            : `stop tracking ${other} first: dataver remove ${other}`,
        });
      }
    }
    seen.add(p);
  }
}

/**
 * Refuses paths that some operating system cannot hold (Windows' reserved names and characters,
 * names differing only in case), before anything is hashed or written: a lock made here must check
 * out on every OS.
 */
function checkPortableNames(paths: string[]): void {
  const hint = 'rename it: a lock that holds it cannot be checked out on Windows (or, for case, macOS)';
  for (const p of paths) {
    const problem = windowsNameProblem(p);
    if (problem) throw new DataverError('PATH_INVALID', `${p}: ${problem}`, { hint });
  }
  const clash = caseClash(paths);
  if (clash) {
    throw new DataverError('PATH_INVALID', `${clash[0]} and ${clash[1]} differ only in letter case`, {
      hint,
    });
  }
}
