// The lock of the workspace, for the commands that act on it (status, checkout, pull, diff, ls,
// and every command that rewrites it or deletes by it: add, remove, move, commit, repro, gc):
// refused while git holds data.lock.json unmerged, since its content then is only one side (a
// gc by it would delete the other side's objects, an add would commit one side as the merge).
import path from 'node:path';
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
      hint: `check the merge driver with \`dataver doctor\`, then merge the file again and mark it resolved: \`git checkout -m ${LOCK_FILE} && git add ${LOCK_FILE}\``,
    },
  );
}

/**
 * Throws LOCK_CONFLICT while git holds data.lock.json unmerged (for commands that read the lock
 * through another module).
 *
 * @example
 * await assertLockMerged(repo);
 */
export async function assertLockMerged(repo: Repo): Promise<void> {
  if (await isUnmerged(repo.root, LOCK_FILE)) throw unmergedLockError();
}

/**
 * Reads data.lock.json and checks (in parallel) that git does not hold it unmerged.
 *
 * @example
 * const lock = await readWorkspaceLock(repo);
 */
export async function readWorkspaceLock(repo: Repo): Promise<Lock> {
  const [lock, unmerged] = await Promise.all([
    readLock(repo.root),
    isUnmerged(repo.root, LOCK_FILE, path.join(repo.stateDir, 'lock-merged.json')),
  ]);
  if (unmerged) throw unmergedLockError();
  return lock;
}
