// `dataver commit`: records outputs as they are now, without running anything (DVC's name) —
// for a stage, its outs are cached and locked and its state (deps, params, outs) recorded as if
// it had just run; for a tracked output, it is added again.
import * as fs from 'node:fs';
import { DataverError } from '@dataver/foundation';
import { addPaths } from '../core/add.js';
import type { Repo } from '../core/repo.js';
import { StatCache } from '../core/stat-cache.js';
import { selectOutputs } from '../core/status.js';
import { readLock, writeLock } from '../lock/lock-file.js';
import { allOutputs, readPipeline } from './config.js';
import { stageOf } from './graph.js';
import { loadCheckedPipeline, recordStage } from './repro.js';
import { checkStage, PathHasher } from './state.js';

export interface CommitResult {
  stages: Array<{ stage: string; changed: boolean }>;
  outputs: Array<{ path: string; changed: boolean }>;
}

/**
 * Commits stages (by name) and tracked outputs (by repository path); nothing given: every stage
 * and every output that no stage produces. Call it while holding the write lock.
 *
 * @example
 * await commitTargets(repo, ['train', 'data/raw']);
 */
export async function commitTargets(repo: Repo, targets: string[]): Promise<CommitResult> {
  const lock = await readLock(repo.root);
  const checked = (await readPipeline(repo.root)) ? await loadCheckedPipeline(repo, lock) : undefined;
  const stageNames = new Set(checked?.graph.order ?? []);
  const stages = targets.length === 0 ? [...stageNames] : targets.filter((t) => stageNames.has(t));
  const paths = targets.length === 0 ? undefined : targets.filter((t) => !stageNames.has(t));
  const outputs =
    paths === undefined
      ? selectOutputs(lock, undefined).filter(([, entry]) => !entry.stage && !entry.import)
      : paths.length > 0
        ? selectOutputs(lock, paths)
        : [];
  const fromStage = outputs.find(([, entry]) => entry.stage && stageNames.has(entry.stage));
  if (fromStage && paths !== undefined) {
    throw new DataverError('USAGE', `${fromStage[0]} is an output of stage '${fromStage[1].stage}'`, {
      hint: `commit the stage: dataver commit ${fromStage[1].stage}`,
    });
  }
  const result: CommitResult = { stages: [], outputs: [] };
  if (outputs.length > 0) {
    const added = await addPaths(
      repo,
      outputs.map(([p]) => p),
      { lock },
    );
    for (const a of added) result.outputs.push({ path: a.path, changed: a.changed });
  }
  if (checked && stages.length > 0) {
    const hasher = new PathHasher(repo, await StatCache.load(repo));
    for (const name of checked.graph.order.filter((n) => stages.includes(n))) {
      const stage = stageOf(checked.graph, name);
      const missing = allOutputs(stage).filter((o) => !fs.existsSync(repo.abs(o)));
      if (missing.length > 0) {
        throw new DataverError(
          'USAGE',
          `cannot commit stage '${name}': it has not written ${missing.join(', ')}`,
          {
            hint: `run it instead: dataver repro ${name}`,
          },
        );
      }
      const before = JSON.stringify(lock.stages[name]);
      const check = await checkStage(stage, lock.stages[name], hasher, checked.paramsFiles);
      await recordStage(repo, stage, lock, hasher, checked.paramsFiles, check.inputsKey);
      result.stages.push({ stage: name, changed: before !== JSON.stringify(lock.stages[name]) });
    }
  }
  await writeLock(repo.root, lock);
  return result;
}
