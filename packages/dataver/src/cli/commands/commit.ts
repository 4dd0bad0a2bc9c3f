// dataver commit [targets...]: record stages and outputs as they are, without running anything.
import type { Output } from '@dataver/foundation';
import { assertLockMerged } from '../../core/workspace-lock.js';
import { withWriteLock } from '../../core/write-lock.js';
import { openRepo } from './context.js';

export async function run(output: Output, [targets]: [string[]]): Promise<number> {
  const repo = await openRepo();
  await assertLockMerged(repo);
  const { commitTargets } = require('../../pipeline/commit.js') as typeof import('../../pipeline/commit.js');
  // Stage names stay as given; anything else is a path, relative to where the user stands.
  const { readPipeline } = require('../../pipeline/config.js') as typeof import('../../pipeline/config.js');
  const stages = new Set((await readPipeline(repo.root))?.stages.map((s) => s.name) ?? []);
  const resolved = (targets ?? []).map((t) => (stages.has(t) ? t : repo.toRepoPath(t)));
  const result = await withWriteLock(repo, 'commit', () => commitTargets(repo, resolved));
  output.result(result, () => {
    const lines = [
      ...result.stages.map((s) => `${s.changed ? 'committed' : 'unchanged'}  stage ${s.stage}`),
      ...result.outputs.map((o) => `${o.changed ? 'committed' : 'unchanged'}  ${o.path}`),
    ];
    if (lines.length === 0) return 'Nothing to commit: no stages and no tracked outputs.';
    if ([...result.stages, ...result.outputs].some((x) => x.changed))
      lines.push('Commit data.lock.json to record this version.');
    return lines;
  });
  return 0;
}
