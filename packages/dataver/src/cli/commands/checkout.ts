// dataver checkout [paths...]
import { checkout } from '../../core/checkout.js';
import { Repo } from '../../core/repo.js';
import { withWriteLock } from '../../core/write-lock.js';
import { DataverError } from '../../errors.js';
import { readLockAtRevision } from '../../git/revisions.js';
import { readLock } from '../../lock/lock-file.js';
import type { Output } from '../output.js';

export async function run(
  output: Output,
  [paths]: [string[]],
  options: { force?: boolean },
): Promise<number> {
  const repo = await Repo.find(process.cwd());
  const repoPaths = paths.length > 0 ? paths.map((p) => repo.toRepoPath(p)) : undefined;
  const result = await withWriteLock(repo, 'checkout', async () =>
    checkout(repo, await readLock(repo.root), repoPaths, {
      force: options.force,
      progress: output.progress(),
    }),
  );
  output.result(
    result,
    () => `restored ${result.restored} file(s), removed ${result.removed}, ${result.unchanged} unchanged`,
  );
  if (result.missing.length > 0) throw missingObjectsError(result.missing);
  return 0;
}

export function missingObjectsError(missing: string[]): DataverError {
  return new DataverError(
    'OBJECT_MISSING',
    `${missing.length} object(s) are not in the cache: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
    { hint: 'run `dataver pull` to fetch them from the remote', data: { missing } },
  );
}
