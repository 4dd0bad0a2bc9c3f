// dataver move <src> <dst>: a destination that is an existing folder receives the output inside it.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Output } from '@dataver/foundation';
import { moveOutput } from '../../core/move.js';
import { withWriteLock } from '../../core/write-lock.js';
import { openRepo } from './context.js';

export async function run(output: Output, [src, dst]: [string, string]): Promise<number> {
  const repo = await openRepo();
  const from = repo.toRepoPath(src);
  const intoFolder = statSync(path.resolve(dst), { throwIfNoEntry: false })?.isDirectory() === true;
  const to = repo.toRepoPath(intoFolder ? path.join(dst, path.posix.basename(from)) : dst);
  const result = await withWriteLock(repo, 'move', () => moveOutput(repo, from, to));
  output.result(result, () => [
    `moved ${result.from} → ${result.to}${result.movedFiles ? '' : ' (only its entry: the files were not in the workspace)'}`,
    'Commit data.lock.json and .gitignore to record this.',
  ]);
  return 0;
}
