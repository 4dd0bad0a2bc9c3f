// dataver stage add <name> --cmd … [--dep …] [--out …] [--param …] [--metric …]

import type { Output } from '@dataver/foundation';
import { withWriteLock } from '../../core/write-lock.js';
import { addStage } from '../../pipeline/edit.js';
import { openRepo } from './context.js';

export async function add(
  output: Output,
  [name]: [string],
  options: {
    cmd: string;
    dep: string[];
    out: string[];
    param: string[];
    metric: string[];
    alwaysChanged?: boolean;
    force?: boolean;
  },
): Promise<number> {
  const repo = await openRepo();
  const toRepo = (p: string) => repo.toRepoPath(p);
  await withWriteLock(repo, 'stage add', () =>
    addStage(
      repo.root,
      {
        name,
        cmd: options.cmd,
        deps: options.dep.map(toRepo),
        outs: options.out.map(toRepo),
        params: options.param,
        metrics: options.metric.map(toRepo),
        alwaysChanged: options.alwaysChanged === true,
      },
      { force: options.force === true },
    ),
  );
  output.result(
    { stage: name },
    () => `Added stage '${name}' to dataver.yaml. Run it with: dataver repro ${name}`,
  );
  return 0;
}
