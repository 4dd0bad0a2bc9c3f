// `dataver verify`: re-hashes every cache object (all cores) and reports the
// ones whose bytes no longer match their name, and the packs that no longer hash to theirs.
import type { Progress } from '@dataver/foundation';
import { sha256 } from '../hash/file.js';
import { hashFiles, isFailure } from '../hash/pool.js';
import { zip } from '../util/invariants.js';
import { CompleteMarks } from './complete-marks.js';
import type { Repo } from './repo.js';

export interface VerifyResult {
  checked: number;
  corrupt: string[];
  /** Packs of the cache whose bytes no longer match their name (their objects count as missing). */
  damagedPacks: string[];
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
  const loose = objects.filter((o) => !o.packed);
  // Every packed copy, also of objects that have a loose file: readers take the packed one first.
  const packed = repo.cache.packs.list();
  const totalBytes = [...loose, ...packed].reduce((n, o) => n + o.size, 0);
  options.progress?.start('verifying', loose.length + packed.length, totalBytes);
  const results = await hashFiles(
    loose.map((o) => ({ path: repo.cache.objectPath(o.hash), size: o.size })),
    { onFile: (_i, bytes) => options.progress?.tick(1, bytes) },
  );
  const badLoose = zip(loose, results)
    .filter(([o, r]) => isFailure(r) || r.hash !== o.hash)
    .map(([o]) => o.hash);
  const badPacked: string[] = [];
  for (const o of packed) {
    if (!isIntact(() => repo.cache.packed(o.hash), o.hash)) badPacked.push(o.hash);
    options.progress?.tick(1, o.size);
  }
  options.progress?.stop();
  const corrupt = [...new Set([...badLoose, ...badPacked])];
  const damagedPacks = [...repo.cache.packs.damaged()];
  if (options.fix && corrupt.length + damagedPacks.length > 0) {
    await CompleteMarks.clear(repo);
    await repo.cache.removeCopies(badLoose, badPacked, true);
  }
  return {
    checked: objects.length,
    corrupt,
    damagedPacks,
    removed: options.fix ? corrupt.length : 0,
  };
}

/** True when the bytes that `read` gives hash to `hash` (a read that fails is not intact). */
function isIntact(read: () => Buffer | undefined, hash: string): boolean {
  try {
    const bytes = read();
    return bytes !== undefined && sha256(bytes) === hash;
  } catch {
    return false;
  }
}
