// dataver checkout [paths...]

import type { Output } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import { checkout } from '../../core/checkout.js';
import { readWorkspaceLock } from '../../core/workspace-lock.js';
import { withWriteLock } from '../../core/write-lock.js';
import { readLockAtRevision } from '../../git/revisions.js';
import { openRepo } from './context.js';

export async function run(
  output: Output,
  [paths]: [string[]],
  options: { force?: boolean; rev?: string },
): Promise<number> {
  const repo = await openRepo();
  const repoPaths = repo.toRepoSelection(paths);
  const result = await withWriteLock(repo, 'checkout', async () => {
    // --rev: the data of another commit, without switching branches (the workspace lock stays).
    const lock = options.rev
      ? await readLockAtRevision(repo.root, options.rev)
      : await readWorkspaceLock(repo);
    return checkout(repo, lock, repoPaths, {
      force: options.force,
      progress: output.progress(),
      onWarning: (m) => output.warn(m),
    });
  });
  if (result.missing.length > 0) throw missingObjectsError(result.missing);
  output.result(
    result,
    () => `restored ${result.restored} file(s), removed ${result.removed}, ${result.unchanged} unchanged`,
  );
  if (options.rev)
    output.info(`the workspace now holds the data of ${options.rev}; \`dataver checkout\` goes back`);
  return 0;
}

export function missingObjectsError(missing: string[]): DataverError {
  return new DataverError(
    'OBJECT_MISSING',
    `${missing.length} object(s) are not in the cache: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
    { hint: 'run `dataver pull` to fetch them from the remote', data: { missing } },
  );
}
