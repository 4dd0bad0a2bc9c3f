// The pipeline part of `dataver status`: which stages are stale and why.
import { promises as fsp } from 'node:fs';
import type { Repo } from '../core/repo.js';
import { StatCache } from '../core/stat-cache.js';
import type { Lock } from '../lock/schema.js';
import { readPipeline } from './config.js';
import { buildGraph, stageOf } from './graph.js';
import { loadParamsFiles } from './params.js';
import { checkStage, describeReasons, PathHasher, type StaleReason } from './state.js';

export interface StageStatus {
  stage: string;
  stale: boolean;
  reasons: StaleReason[];
  /** The reasons as one line for people. */
  summary: string;
}

/**
 * The status of every stage of dataver.yaml against the lock (empty without a pipeline).
 *
 * @example
 * const stages = await computePipelineStatus(repo, lock);
 * const stale = stages.filter((s) => s.stale);
 */
export async function computePipelineStatus(repo: Repo, lock: Lock): Promise<StageStatus[]> {
  const pipeline = await readPipeline(repo.root);
  if (!pipeline) return [];
  const graph = buildGraph(pipeline);
  const paramsFiles = await loadParamsFiles(
    repo.root,
    pipeline.stages.flatMap((s) => s.params),
  );
  const statCache = await StatCache.load(repo);
  const hasher = new PathHasher(repo, statCache);
  const out: StageStatus[] = [];
  for (const name of graph.order) {
    const check = await checkStage(stageOf(graph, name), lock.stages[name], hasher, paramsFiles);
    out.push({
      stage: name,
      stale: check.stale,
      reasons: check.reasons,
      summary: describeReasons(check.reasons),
    });
  }
  await fsp.mkdir(repo.stateDir, { recursive: true });
  await statCache.save();
  return out;
}
