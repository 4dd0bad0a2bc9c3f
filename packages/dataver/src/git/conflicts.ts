// Whether git holds a file unmerged (a merge, rebase, cherry-pick or stash that stopped on it):
// a merge driver that failed to run leaves data.lock.json unmerged but without conflict
// markers, so only git's index can tell.
import { runGit } from './git.js';

/**
 * True when git's index has unmerged stages for `file` (relative to `root`); false outside git.
 *
 * @example
 * if (await isUnmerged(repo.root, 'data.lock.json')) throw conflictError();
 */
export async function isUnmerged(root: string, file: string): Promise<boolean> {
  try {
    const run = await runGit(root, ['ls-files', '-u', '-z', '--', `:(literal)${file}`]);
    return run.code === 0 && run.stdout.length > 0;
  } catch {
    return false; // git missing: nothing can be unmerged
  }
}
