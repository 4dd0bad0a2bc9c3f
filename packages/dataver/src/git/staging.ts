// Whether a repository file is committed as it is on disk, and staging it: for the commands that
// change committed configuration (remotes) and must say what to commit, and for `doctor`.
import { runGit } from './git.js';

/** How a file stands in git: outside any repository, or committed / changed / new. */
export type CommitState = 'not-in-git' | 'committed' | 'changed' | 'untracked';

/**
 * Whether `file` (relative to `root`) is committed as it is on disk.
 *
 * @example
 * await commitState(repo.root, '.dataver/config.json'); // 'changed'
 */
export async function commitState(root: string, file: string): Promise<CommitState> {
  const spec = `:(literal)${file}`;
  let run: Awaited<ReturnType<typeof runGit>>;
  try {
    run = await runGit(root, ['ls-files', '--error-unmatch', '--', spec]);
  } catch {
    return 'not-in-git'; // no git binary
  }
  if (run.code !== 0) return /not a git repository/i.test(run.stderr) ? 'not-in-git' : 'untracked';
  // Staged but not committed counts as changed: a clone gets only what is committed.
  const head = await runGit(root, ['diff', '--quiet', 'HEAD', '--', spec]);
  return head.code === 0 ? 'committed' : 'changed';
}

/**
 * `git add` of one file; false when git refuses (not a repository).
 *
 * @example
 * await stageFile(repo.root, '.dataver/config.json');
 */
export async function stageFile(root: string, file: string): Promise<boolean> {
  try {
    return (await runGit(root, ['add', '--', `:(literal)${file}`])).code === 0;
  } catch {
    return false;
  }
}
