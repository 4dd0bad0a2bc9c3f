// `dataver gc`: what to keep (the roots: the workspace lock, the locks of branch tips or of
// every commit, the run cache) and the cache objects no kept lock references, removed only with
// `force` (a dry run by default), with every leftover of crashed commands and partial download.
import { fileVersionsAtTips, fileVersionsInHistory } from '../git/revisions.js';
import { LOCK_FILE, parseLock } from '../lock/lock-file.js';
import type { Lock } from '../lock/schema.js';
import { removePartials } from '../odb/partial.js';
import { CompleteMarks } from './complete-marks.js';
import { neededObjects } from './objects.js';
import type { Repo } from './repo.js';
import { clearRunCache, runCacheLocks } from './run-cache.js';
import { readWorkspaceLock } from './workspace-lock.js';

/** Which committed locks gc keeps besides the workspace's. */
export type GcScope = 'workspace' | 'all-branches' | 'all-commits';

export interface GcOptions {
  /** Default `workspace`. */
  scope?: GcScope;
  /** Delete (default false: only report what would go). */
  force?: boolean;
  /** Keep the objects of recorded pipeline runs (default true); false with `force` also forgets the records. */
  runCache?: boolean;
  /** Told about what gc cannot keep (unreadable locks in the history, manifests not in the cache). */
  onWarning?: (message: string) => void;
}

/** The locks whose objects gc keeps. */
export interface GcRoots {
  locks: Lock[];
  /** Commits (`all-commits`) or branch and tag tips (`all-branches`) looked at; 0 for the workspace. */
  revisions: number;
  /** Run-cache records kept. */
  runRecords: number;
}

export interface GcResult {
  objects: number;
  bytes: number;
  removed: boolean;
  kept: number;
}

/**
 * The locks gc must keep: the workspace lock, the locks of the scope, and one lock per run record.
 * An unreadable lock in the history is skipped with a warning; one at a branch tip fails, since
 * gc cannot know what that branch needs.
 *
 * @example
 * const { locks, revisions } = await gcRoots(repo, { scope: 'all-branches' });
 */
export async function gcRoots(repo: Repo, options: GcOptions = {}): Promise<GcRoots> {
  const locks: Lock[] = [await readWorkspaceLock(repo)];
  let revisions = 0;
  if (options.scope === 'all-commits') {
    const history = await fileVersionsInHistory(repo.root, LOCK_FILE);
    revisions = history.commits;
    for (const v of history.versions) {
      try {
        locks.push(parseLock(v.text, `${LOCK_FILE} (blob ${v.blob.slice(0, 12)})`));
      } catch (error) {
        options.onWarning?.(
          `skipping an unreadable ${LOCK_FILE} in the history: ${(error as Error).message}`,
        );
      }
    }
  } else if (options.scope === 'all-branches') {
    const tips = await fileVersionsAtTips(repo.root, LOCK_FILE);
    revisions = tips.tips;
    for (const v of tips.versions)
      locks.push(parseLock(v.text, `${LOCK_FILE} (blob ${v.blob.slice(0, 12)})`));
  }
  const runs = options.runCache === false ? [] : await runCacheLocks(repo);
  return { locks: [...locks, ...runs], revisions, runRecords: runs.length };
}

/**
 * Finds the roots, then removes (with `force`) every cache object they do not need.
 *
 * @example
 * const result = await collectGarbage(repo, { scope: 'all-commits', force: true, onWarning: console.warn });
 */
export async function collectGarbage(
  repo: Repo,
  options: GcOptions = {},
): Promise<GcResult & Omit<GcRoots, 'locks'>> {
  const { locks, ...counts } = await gcRoots(repo, options);
  // Records whose outputs are about to go would only be skipped later: forget them too.
  if (options.runCache === false && options.force) await clearRunCache(repo);
  const keep = new Set<string>();
  const unknown = new Set<string>();
  for (const lock of locks) {
    const { objects, missingManifests } = await neededObjects(repo, lock);
    for (const o of objects) keep.add(o.hash);
    for (const m of missingManifests) unknown.add(m.path);
  }
  if (unknown.size > 0) {
    options.onWarning?.(
      `${unknown.size} directory manifest(s) of kept versions are not in the cache (${[...unknown].slice(0, 3).join(', ')}${unknown.size > 3 ? ', …' : ''}); their files cannot be kept and are skipped`,
    );
  }
  const all = await repo.cache.listObjects();
  const garbage = all.filter((o) => !keep.has(o.hash));
  const force = options.force === true;
  if (force) {
    await repo.cache.removeLeftovers();
    await removePartials(repo.cache.downloadDir);
  }
  if (force && garbage.length > 0) {
    await CompleteMarks.clear(repo);
    await repo.cache.removeMany(garbage.map((o) => o.hash));
  }
  return {
    objects: garbage.length,
    bytes: garbage.reduce((n, o) => n + o.size, 0),
    removed: force,
    kept: all.length - garbage.length,
    ...counts,
  };
}
