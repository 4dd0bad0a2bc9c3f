// dataver gc [--force] [--workspace] [--all-branches] [--all-commits]
// Keeps what the workspace lock, the run cache and (with the scopes) the locks
// of branch tips or of every commit reference; the rest goes with --force.
import { collectGarbage } from '../../core/gc.js';
import { Repo } from '../../core/repo.js';
import { withWriteLock } from '../../core/write-lock.js';
import { readLock } from '../../lock/lock-file.js';
import type { Lock } from '../../lock/schema.js';
import { formatBytes, type Output } from '../output.js';

export async function run(
  output: Output,
  _args: unknown[],
  options: { force?: boolean; workspace?: boolean; allBranches?: boolean; allCommits?: boolean },
): Promise<number> {
  const repo = await Repo.find(process.cwd());
  const result = await withWriteLock(repo, 'gc', async () => {
    const locks: Lock[] = [await readLock(repo.root)];
    let revisions = 0;
    if (options.allBranches || options.allCommits) {
      const { listRevisions, readLockAtRevision } = await import('../../git/revisions.js');
      const revs = await listRevisions(repo.root, {
        allCommits: options.allCommits === true,
        allBranches: options.allBranches === true,
      });
      revisions = revs.length;
      // Many commits share one lock: parse each distinct lock text once.
      const seen = new Set<string>();
      for (const rev of revs) {
        const lock = await readLockAtRevision(repo.root, rev);
        const key = JSON.stringify(lock);
        if (seen.has(key)) continue;
        seen.add(key);
        locks.push(lock);
      }
    }
    const { runCacheLocks } = await import('../../pipeline/run-cache.js');
    const runs = await runCacheLocks(repo);
    locks.push(...runs);
    const { neededObjects } = await import('../../core/objects.js');
    const unknown = new Set<string>();
    for (const lock of locks) {
      for (const m of (await neededObjects(repo, lock)).missingManifests) unknown.add(m.path);
    }
    if (unknown.size > 0) {
      output.warn(
        `${unknown.size} directory manifest(s) of kept versions are not in the cache (${[...unknown].slice(0, 3).join(', ')}${unknown.size > 3 ? ', …' : ''}); their files cannot be kept and are skipped`,
      );
    }
    const gc = await collectGarbage(repo, locks, { force: options.force === true });
    return { ...gc, revisions, runRecords: runs.length };
  });
  const scope = options.allCommits
    ? 'all commits'
    : options.allBranches
      ? 'all branches and tags'
      : 'the workspace';
  output.result(result, () =>
    result.objects === 0
      ? `Nothing to remove (kept ${result.kept} object(s) referenced by ${scope} and the run cache).`
      : result.removed
        ? `removed ${result.objects} object(s), ${formatBytes(result.bytes)}; kept ${result.kept} referenced by ${scope} and the run cache`
        : `would remove ${result.objects} object(s), ${formatBytes(result.bytes)}; keeping ${result.kept} referenced by ${scope} and the run cache (dry run: add --force to delete)`,
  );
  return 0;
}
