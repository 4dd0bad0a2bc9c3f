// The lock of the workspace, for the commands that act on it (status, checkout, pull, diff):
// refused while git holds data.lock.json unmerged, since its content then is only one side.
import { DataverError } from '@dataver/foundation';
import { isUnmerged } from '../git/conflicts.js';
import { LOCK_FILE, readLock } from '../lock/lock-file.js';
import type { Lock } from '../lock/schema.js';
import type { Repo } from './repo.js';

/**
 * The LOCK_CONFLICT error (exit 1) for a lock that git left unmerged.
 *
 * @example
 * throw unmergedLockError();
 */
export function unmergedLockError(): DataverError {
  return new DataverError(
    'LOCK_CONFLICT',
    `${LOCK_FILE} is unmerged in git: the merge stopped on it, so its content is one side only`,
    {
      hint: `check the merge driver with \`dataver doctor\`, then merge the file again (\`git checkout -m ${LOCK_FILE}\`) or resolve it by hand and \`git add ${LOCK_FILE}\``,
    },
  );
}

/**
 * Reads data.lock.json and checks (in parallel) that git does not hold it unmerged.
 *
 * @example
 * const lock = await readWorkspaceLock(repo);
 */
export async function readWorkspaceLock(repo: Repo): Promise<Lock> {
  const [lock, unmerged] = await Promise.all([readLock(repo.root), isUnmerged(repo.root, LOCK_FILE)]);
  if (unmerged) throw unmergedLockError();
  return lock;
}
