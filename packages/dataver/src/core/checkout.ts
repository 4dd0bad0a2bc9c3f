// `dataver checkout`: makes the workspace match the lock, from the cache.
// Unsaved changes (workspace content that is not in the cache) are never
// overwritten without --force; the check covers every output before any write.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DataverError, isDataverError } from '../errors.js';
import type { Lock } from '../lock/schema.js';
import type { ManifestEntry } from '../odb/manifest.js';
import type { Progress } from './progress.js';
import { ensureInternalDirs, type Repo } from './repo.js';
import { StatCache } from './stat-cache.js';
import { selectOutputs } from './status.js';
import { resolveHashes, statFile, type WorkspaceFile, walkDirectory } from './workspace.js';

export interface CheckoutOptions {
  force?: boolean;
  progress?: Progress;
}

export interface CheckoutResult {
  restored: number;
  removed: number;
  unchanged: number;
  /** Objects the cache lacks (their files were not restored). */
  missing: string[];
}

interface Action {
  kind: 'write' | 'delete';
  repoPath: string;
  hash?: string;
}

/**
 * Restores tracked outputs (all, or those under `repoPaths`) to the lock's version.
 *
 * @example
 * const { restored, missing } = await checkout(repo, lock, ['data/raw']);
 */
export async function checkout(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: CheckoutOptions = {},
): Promise<CheckoutResult> {
  await ensureInternalDirs(repo);
  const statCache = await StatCache.load(repo);
  const actions: Action[] = [];
  const unsaved: string[] = [];
  const missing = new Set<string>();
  let unchanged = 0;

  for (const [outPath, entry] of selectOutputs(lock, repoPaths)) {
    let wanted: Array<{ repoPath: string; hash: string }>;
    let current: WorkspaceFile[];
    if (entry.kind === 'file') {
      wanted = [{ repoPath: outPath, hash: entry.hash }];
      const f = statFile(repo, outPath);
      current = f ? [f] : [];
      if (!f && fs.existsSync(repo.abs(outPath))) {
        // A directory (or other) stands where the file should be.
        if (!options.force) unsaved.push(outPath);
        else actions.push({ kind: 'delete', repoPath: outPath });
      }
    } else {
      let manifest: ManifestEntry[];
      try {
        manifest = await repo.cache.readManifest(entry.hash);
      } catch (error) {
        if (!isDataverError(error, 'OBJECT_MISSING')) throw error;
        missing.add(entry.hash);
        continue;
      }
      wanted = manifest.map((e) => ({ repoPath: `${outPath}/${e.path}`, hash: e.hash }));
      const target = repo.abs(outPath);
      if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) {
        if (!options.force) unsaved.push(outPath);
        else actions.push({ kind: 'delete', repoPath: outPath });
        current = [];
      } else {
        current = walkDirectory(repo, outPath);
      }
    }
    await resolveHashes(repo, statCache, current);
    const byPath = new Map(current.map((f) => [f.path, f]));
    for (const w of wanted) {
      const f = byPath.get(w.repoPath);
      byPath.delete(w.repoPath);
      if (f && f.hash === w.hash && !needsRelink(repo, f, w.hash)) {
        unchanged++;
        continue;
      }
      if (f && f.hash !== w.hash && !repo.cache.has(f.hash!) && !options.force) unsaved.push(w.repoPath);
      if (!repo.cache.has(w.hash)) {
        missing.add(w.hash);
        continue;
      }
      actions.push({ kind: 'write', repoPath: w.repoPath, hash: w.hash });
    }
    for (const extra of byPath.values()) {
      if (!options.force && !repo.cache.has(extra.hash!)) unsaved.push(extra.path);
      else actions.push({ kind: 'delete', repoPath: extra.path });
    }
  }

  if (unsaved.length > 0) {
    throw new DataverError(
      'UNSAVED_CHANGES',
      `checkout would overwrite unsaved changes in ${unsaved.length} file(s): ${unsaved.slice(0, 5).join(', ')}${unsaved.length > 5 ? ', …' : ''}`,
      {
        hint: 'save them with `dataver add`, or discard them with `dataver checkout --force`',
        data: { files: unsaved },
      },
    );
  }

  const writes = actions.filter((a) => a.kind === 'write');
  options.progress?.start('checkout', writes.length);
  let removed = 0;
  for (const a of actions.filter((x) => x.kind === 'delete')) {
    await fsp.rm(repo.abs(a.repoPath), { recursive: true, force: true });
    statCache.forget(a.repoPath);
    removed++;
  }
  await runLimited(writes, 16, async (a) => {
    const dest = repo.abs(a.repoPath);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await repo.cache.materialize(a.hash!, dest, repo.config.cache.link);
    recordStat(statCache, a.repoPath, dest, a.hash!);
    options.progress?.tick(1);
  });
  options.progress?.stop();
  await statCache.save();
  return { restored: writes.length, removed, unchanged, missing: [...missing].sort() };
}

/** In linked modes, an identical plain copy is turned into a link so the cache is shared. */
function needsRelink(repo: Repo, f: WorkspaceFile, hash: string): boolean {
  const mode = repo.config.cache.link;
  if (mode === 'hardlink') {
    try {
      return fs.statSync(repo.cache.objectPath(hash)).ino !== f.ino;
    } catch {
      return false;
    }
  }
  if (mode === 'symlink') return !fs.lstatSync(f.abs).isSymbolicLink();
  return false;
}

function recordStat(statCache: StatCache, repoPath: string, abs: string, hash: string): void {
  const st = fs.statSync(abs);
  statCache.record(repoPath, st, hash);
}

/** Replaces workspace files by links to their cache objects (hardlink/symlink modes, after `add`). */
export async function relinkWorkspace(
  repo: Repo,
  statCache: StatCache,
  files: WorkspaceFile[],
): Promise<void> {
  await runLimited(files, 16, async (f) => {
    if (!needsRelink(repo, f, f.hash!)) return;
    await repo.cache.materialize(f.hash!, f.abs, repo.config.cache.link);
    recordStat(statCache, f.path, f.abs, f.hash!);
  });
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function runLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}
