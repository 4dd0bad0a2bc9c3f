// `dataver gc`: finds cache objects that no kept lock references; removes them
// only with --force (a dry run by default).
import type { Lock } from '../lock/schema.js';
import { CompleteMarks } from './complete-marks.js';
import { neededObjects } from './objects.js';
import type { Repo } from './repo.js';

export interface GcResult {
  objects: number;
  bytes: number;
  removed: boolean;
  kept: number;
}

/**
 * Removes (with `force`) every cache object not needed by any of `locks`.
 *
 * @example
 * const { objects, bytes } = await collectGarbage(repo, [lock], { force: false });
 */
export async function collectGarbage(
  repo: Repo,
  locks: Lock[],
  options: { force: boolean },
): Promise<GcResult> {
  const keep = new Set<string>();
  for (const lock of locks) {
    const { objects } = await neededObjects(repo, lock);
    for (const o of objects) keep.add(o.hash);
  }
  const all = await repo.cache.listObjects();
  const garbage = all.filter((o) => !keep.has(o.hash));
  if (options.force) await repo.cache.removeLeftovers();
  if (options.force && garbage.length > 0) {
    await CompleteMarks.clear(repo);
    for (const o of garbage) await repo.cache.remove(o.hash);
  }
  return {
    objects: garbage.length,
    bytes: garbage.reduce((n, o) => n + o.size, 0),
    removed: options.force,
    kept: all.length - garbage.length,
  };
}
