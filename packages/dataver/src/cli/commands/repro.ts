// dataver repro [stages...] [--force] [--dry-run] [--downstream]

import type { Output } from '@dataver/foundation';
import { assertLockMerged } from '../../core/workspace-lock.js';
import { withWriteLock } from '../../core/write-lock.js';
import type { ReproEvent, StageOutcome } from '../../pipeline/repro.js';
import { describeReasons } from '../../pipeline/state.js';
import { openRepo } from './context.js';

export async function run(
  output: Output,
  [targets]: [string[]],
  options: { force?: boolean; dryRun?: boolean; downstream?: boolean },
): Promise<number> {
  const repo = await openRepo();
  // The pipeline reads the lock itself: one side of an unmerged lock would be recorded as the merge.
  await assertLockMerged(repo);
  const { reproduce } = require('../../pipeline/repro.js') as typeof import('../../pipeline/repro.js');
  const onEvent = (event: ReproEvent) => {
    if (event.type === 'running') {
      output.info(`Running stage '${event.stage}' (${describeReasons(event.reasons)}):`);
      output.info(`> ${event.cmd}`);
      return;
    }
    const line = describeOutcome(event.outcome);
    if (line) output.info(line);
    const changed = event.outcome.changedWhileRunning;
    if (changed)
      output.warn(
        `${changed.join(', ')} changed while stage '${event.outcome.stage}' ran: the lock keeps what it started from, so the stage runs again next time`,
      );
  };
  const run = () =>
    reproduce(repo, targets ?? [], {
      force: options.force === true,
      dryRun: options.dryRun === true,
      downstream: options.downstream === true,
      commandStdout: output.json ? 'stderr' : 'inherit',
      onEvent,
    });
  // A dry run writes nothing, so it does not wait for (or block) another writer.
  const result = options.dryRun ? await run() : await withWriteLock(repo, 'repro', run);
  output.result(result, () => {
    if (result.upToDate) return 'Pipeline is up to date: nothing to reproduce.';
    if (options.dryRun) {
      const n = result.stages.filter((s) => s.action === 'would-run').length;
      return `${n} stage(s) would run (dry run: nothing was changed).`;
    }
    const ran = result.stages.filter((s) => s.action === 'ran').length;
    const restored = result.stages.filter((s) => s.action === 'restored').length;
    return `Done: ${ran} stage(s) ran, ${restored} restored from the cache. Commit data.lock.json${
      result.stages.length > 0 ? ' (and dataver.yaml, metrics)' : ''
    } to record this.`;
  });
  return 0;
}

function describeOutcome(o: StageOutcome): string | undefined {
  switch (o.action) {
    case 'up-to-date':
      return `Stage '${o.stage}' is up to date.`;
    case 'would-run':
      return `Would run stage '${o.stage}' (${describeReasons(o.reasons)}).`;
    case 'restored':
      return `Restored the outputs of stage '${o.stage}' from the ${o.from === 'lock' ? 'cache' : 'run cache'} (${describeReasons(o.reasons)}); its command did not run.`;
    case 'ran':
      return `Stage '${o.stage}' done in ${o.seconds?.toFixed(1)} s.`;
  }
}
