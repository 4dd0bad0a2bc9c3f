// `dataver verify`: re-hashes every cache object (all cores) and reports the
// ones whose bytes no longer match their name.
import { promises as fsp } from 'node:fs';
import type { Progress } from '@dataver/foundation';
import { hashFiles, isFailure } from '../hash/pool.js';
import { zip } from '../util/invariants.js';
import { CompleteMarks } from './complete-marks.js';
import type { Repo } from './repo.js';

export interface VerifyResult {
  checked: number;
  corrupt: string[];
  /** Corrupt objects removed (with `fix`), so that `pull` can fetch them again. */
  removed: number;
}

/**
 * Checks the integrity of the local cache.
 *
 * @example
 * const { corrupt } = await verifyCache(repo);
 */
export async function verifyCache(
  repo: Repo,
  options: { fix?: boolean; progress?: Progress } = {},
): Promise<VerifyResult> {
  const objects = await repo.cache.listObjects();
  const totalBytes = objects.reduce((n, o) => n + o.size, 0);
  options.progress?.start('verifying', objects.length, totalBytes);
  const results = await hashFiles(
    objects.map((o) => ({ path: repo.cache.objectPath(o.hash), size: o.size })),
    { onFile: (_i, bytes) => options.progress?.tick(1, bytes) },
  );
  options.progress?.stop();
  const corrupt = zip(objects, results)
    .filter(([o, r]) => isFailure(r) || r.hash !== o.hash)
    .map(([o]) => o);
  if (options.fix && corrupt.length > 0) await CompleteMarks.clear(repo);
  if (options.fix) for (const o of corrupt) await fsp.rm(repo.cache.objectPath(o.hash), { force: true });
  return {
    checked: objects.length,
    corrupt: corrupt.map((o) => o.hash),
    removed: options.fix ? corrupt.length : 0,
  };
}
