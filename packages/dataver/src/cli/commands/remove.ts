// dataver remove <paths...>

import type { Output } from '@dataver/foundation';
import { removeOutputs } from '../../core/remove.js';
import { withWriteLock } from '../../core/write-lock.js';
import { openRepo } from './context.js';

export async function run(output: Output, [paths]: [string[]]): Promise<number> {
  const repo = await openRepo();
  const repoPaths = [...new Set(paths.map((p) => repo.toRepoPath(p)))];
  const removed = await withWriteLock(repo, 'remove', () => removeOutputs(repo, repoPaths));
  output.result({ removed }, () => removed.map((p) => `no longer tracked: ${p}`));
  return 0;
}
