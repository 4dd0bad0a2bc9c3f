// Reading data.lock.json (and other committed files) at git revisions, and
// listing the revisions that gc --all-commits / --all-branches must keep.
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { simpleGit } from 'simple-git';
import { LOCK_FILE, parseLock } from '../lock/lock-file.js';
import { emptyLock, type Lock } from '../lock/schema.js';

function git(root: string) {
  return simpleGit({ baseDir: root, binary: 'git', maxConcurrentProcesses: 4 });
}

/**
 * The text of a repository file at a revision, or undefined when the file does not exist there.
 * `file` is relative to the dataver root (which may be a subfolder of the git work tree).
 *
 * @example
 * const text = await readFileAtRevision(repo.root, 'HEAD~1', 'params.yaml');
 */
export async function readFileAtRevision(
  root: string,
  rev: string,
  file: string,
): Promise<string | undefined> {
  const g = git(root);
  await resolveRevision(root, rev);
  try {
    return await g.show([`${rev}:./${file.split(path.sep).join('/')}`]);
  } catch (error) {
    const message = String((error as Error).message);
    if (/does not exist|exists on disk, but not in/.test(message)) return undefined;
    throw new DataverError('USAGE', `cannot read ${file} at ${rev}: ${message.split('\n')[0]}`, {
      cause: error,
    });
  }
}

/** Full commit id of a revision; a clear error for an unknown one. */
export async function resolveRevision(root: string, rev: string): Promise<string> {
  if (rev.startsWith('-'))
    throw new DataverError('USAGE', `invalid revision '${rev}'`, { hint: 'give a commit, branch or tag' });
  let commit = '';
  let cause: unknown;
  try {
    // With --quiet, git prints nothing for an unknown revision (simple-git then resolves '').
    commit = (await git(root).revparse(['--verify', '--quiet', `${rev}^{commit}`])).trim();
  } catch (error) {
    cause = error;
  }
  if (!/^[0-9a-f]{40,64}$/.test(commit)) {
    throw new DataverError('USAGE', `unknown git revision '${rev}'`, {
      hint: 'give a commit, branch or tag of this repository (see `git log`)',
      cause,
    });
  }
  return commit;
}

/**
 * The lock at a revision (an empty lock when that commit has none).
 *
 * @example
 * const old = await readLockAtRevision(repo.root, 'main~3');
 */
export async function readLockAtRevision(root: string, rev: string): Promise<Lock> {
  const text = await readFileAtRevision(root, rev, LOCK_FILE);
  return text === undefined ? emptyLock() : parseLock(text, `${LOCK_FILE} at ${rev}`);
}

/** Commits to keep for gc: every commit (`allCommits`), or the tips of all branches and tags. */
export async function listRevisions(
  root: string,
  options: { allCommits?: boolean; allBranches?: boolean },
): Promise<string[]> {
  const g = git(root);
  if (options.allCommits) {
    const out = await g.raw(['rev-list', '--all']);
    return out.split('\n').filter(Boolean);
  }
  if (options.allBranches) {
    const out = await g.raw(['for-each-ref', '--format=%(objectname)', 'refs/heads', 'refs/tags']);
    return [...new Set(out.split('\n').filter(Boolean))];
  }
  return [];
}
