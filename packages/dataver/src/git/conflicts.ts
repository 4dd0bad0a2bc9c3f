// Whether git holds a file unmerged (a merge, rebase, cherry-pick or stash that stopped on it):
// a merge driver that failed to run leaves data.lock.json unmerged but without conflict
// markers, so only git's index can tell.
import * as fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@dataver/foundation';

/**
 * True when git's index has unmerged stages for `file` (relative to `root`); false outside git.
 *
 * With `memo` (a file in dataver's state folder), the answer is kept with the identity of the
 * index file it was read from — inode, size and nanosecond times: git replaces the index by a
 * rename on every write, so an index with the same identity holds the same entries — and the
 * next call for an index that did not change spawns no git (a third of a no-op `status`).
 *
 * @example
 * if (await isUnmerged(repo.root, 'data.lock.json')) throw conflictError();
 */
export async function isUnmerged(root: string, file: string, memo?: string): Promise<boolean> {
  const index = memo !== undefined ? indexIdentity(root) : undefined;
  const key = index && `${file}\0${index}`;
  if (key && memo) {
    try {
      const saved = JSON.parse(fs.readFileSync(memo, 'utf8')) as { key?: string; unmerged?: boolean };
      if (saved.key === key && typeof saved.unmerged === 'boolean') return saved.unmerged;
    } catch {
      // none yet, or damaged: ask git
    }
  }
  let unmerged: boolean;
  try {
    // Loaded only when git is asked (the memo answers a status whose index did not change).
    const { runGit } = require('./git.js') as typeof import('./git.js');
    const run = await runGit(root, ['ls-files', '-u', '-z', '--', `:(literal)${file}`]);
    unmerged = run.code === 0 && run.stdout.length > 0;
  } catch {
    return false; // git missing: nothing can be unmerged
  }
  // Kept only if the index is still the one identified before git read it.
  if (key && memo && indexIdentity(root) === index)
    await writeFileAtomic(memo, JSON.stringify({ key, unmerged }), { mkdir: true }).catch(() => undefined);
  return unmerged;
}

/**
 * The identity of `<root>/.git/index`; undefined where git's index is elsewhere or another
 * (GIT_DIR, GIT_INDEX_FILE, a worktree's `.git` file): then git is always asked.
 */
function indexIdentity(root: string): string | undefined {
  if (process.env.GIT_DIR || process.env.GIT_INDEX_FILE) return undefined;
  const st = fs.statSync(path.join(root, '.git', 'index'), { bigint: true, throwIfNoEntry: false });
  if (!st?.isFile()) return undefined;
  return [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join(':');
}
