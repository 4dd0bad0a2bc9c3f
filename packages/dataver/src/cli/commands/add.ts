// dataver add <paths...>

import { formatBytes, type Output } from '@dataver/foundation';
import { addPaths } from '../../core/add.js';
import { withWriteLock } from '../../core/write-lock.js';
import { openRepo } from './context.js';

export async function run(output: Output, [paths]: [string[]]): Promise<number> {
  const repo = await openRepo();
  const repoPaths = [...new Set(paths.map((p) => repo.toRepoPath(p)))];
  const added = await withWriteLock(repo, 'add', () =>
    addPaths(repo, repoPaths, { progress: output.progress(), onWarning: (m) => output.warn(m) }),
  );
  output.result({ added }, () =>
    added.map((a) => {
      const what = a.kind === 'dir' ? `${a.files} files, ${formatBytes(a.size)}` : formatBytes(a.size);
      return `${a.changed ? 'added' : 'unchanged'}  ${a.path} (${what})`;
    }),
  );
  if (added.some((a) => a.changed))
    output.info('Commit data.lock.json and .gitignore to record this version.');
  return 0;
}
