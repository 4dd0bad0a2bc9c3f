// The stage graph: which stage produces which path, who depends on whom, and
// the order to run them in. Pure functions over a parsed pipeline; every
// inconsistency (duplicate outputs, nested outputs, cycles) is an error that
// names the stages involved.
import { DataverError } from '@dataver/foundation';
import { isSameOrInside } from '../lock/paths.js';
import { present } from '../util/invariants.js';
import { allOutputs, type Pipeline, type Stage } from './config.js';

export interface StageGraph {
  stages: Map<string, Stage>;
  /** Stage name → the stages it depends on (upstream). */
  upstream: Map<string, Set<string>>;
  /** Stage name → the stages that depend on it (downstream). */
  downstream: Map<string, Set<string>>;
  /** Every stage, upstream before downstream, ties in file order. */
  order: string[];
  /** Output or metrics path → the stage producing it. */
  producers: Map<string, string>;
}

function invalid(message: string, hint: string): DataverError {
  return new DataverError('PIPELINE_INVALID', message, { hint });
}

/**
 * Builds and checks the graph of a pipeline.
 *
 * @example
 * const graph = buildGraph(pipeline);
 * graph.order; // ['prepare', 'train', 'evaluate']
 */
export function buildGraph(pipeline: Pipeline): StageGraph {
  const stages = new Map(pipeline.stages.map((s) => [s.name, s]));
  const producers = new Map<string, string>();
  for (const stage of pipeline.stages) {
    for (const out of allOutputs(stage)) {
      const other = producers.get(out);
      if (other !== undefined) {
        throw invalid(
          other === stage.name
            ? `stage '${stage.name}' lists the output ${out} twice (in outs and metrics)`
            : `output ${out} is produced by two stages: '${other}' and '${stage.name}'`,
          'each output belongs to exactly one stage: remove it from one of them in dataver.yaml',
        );
      }
      producers.set(out, stage.name);
    }
  }
  const outs = [...producers.keys()].sort();
  for (const [i, outer] of outs.entries()) {
    // Sorted: the paths inside `outer` follow it, among those that start with it.
    for (let j = i + 1, inner = outs[j]; inner?.startsWith(outer); inner = outs[++j]) {
      if (isSameOrInside(inner, outer)) {
        throw invalid(
          `output ${inner} (stage '${producers.get(inner)}') is inside output ${outer} (stage '${producers.get(outer)}')`,
          'outputs may not nest: make the inner path a separate directory, or drop it from the outer stage',
        );
      }
    }
  }

  const upstream = new Map<string, Set<string>>();
  const downstream = new Map<string, Set<string>>();
  for (const s of pipeline.stages) {
    upstream.set(s.name, new Set());
    downstream.set(s.name, new Set());
  }
  for (const stage of pipeline.stages) {
    for (const dep of stage.deps) {
      for (const producer of producersOf(dep, producers)) {
        if (producer === stage.name) {
          throw invalid(
            `stage '${stage.name}' depends on its own output ${dep}`,
            'a stage cannot read what it writes: split it into two stages',
          );
        }
        edgesOf(upstream, stage.name).add(producer);
        edgesOf(downstream, producer).add(stage.name);
      }
    }
  }
  const order = topologicalOrder(
    pipeline.stages.map((s) => s.name),
    upstream,
  );
  return { stages, upstream, downstream, order, producers };
}

/**
 * The neighbours of a stage in an edge map of the graph (which has an entry for every stage).
 *
 * @example
 * for (const up of edgesOf(graph.upstream, 'train')) console.log(up); // 'process'
 */
export function edgesOf(edges: ReadonlyMap<string, Set<string>>, name: string): Set<string> {
  return present(edges.get(name), `the edges of stage '${name}'`);
}

/**
 * The stage of a name the graph itself gave (its order, its edges, a selection of it).
 *
 * @example
 * for (const name of graph.order) run(stageOf(graph, name));
 */
export function stageOf(graph: StageGraph, name: string): Stage {
  return present(graph.stages.get(name), `stage '${name}'`);
}

/**
 * The stages whose outputs a dependency path is, lies inside, or contains.
 *
 * @example
 * producersOf('data/prepared/train', graph.producers); // ['prepare']
 */
export function producersOf(dep: string, producers: Map<string, string>): string[] {
  const found = new Set<string>();
  for (const [out, stage] of producers) {
    if (isSameOrInside(dep, out) || isSameOrInside(out, dep)) found.add(stage);
  }
  return [...found];
}

/** Kahn's algorithm, ties broken by file order; a cycle is reported with its path. */
function topologicalOrder(names: string[], upstream: Map<string, Set<string>>): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < names.length) {
    const next = names.find((n) => !done.has(n) && [...edgesOf(upstream, n)].every((u) => done.has(u)));
    if (next === undefined) {
      const cycle = findCycle(
        names.filter((n) => !done.has(n)),
        upstream,
      );
      throw invalid(
        `the stages form a cycle: ${cycle.join(' → ')}`,
        'a stage may not depend, directly or not, on its own outputs: break the cycle in dataver.yaml',
      );
    }
    order.push(next);
    done.add(next);
  }
  return order;
}

function findCycle(remaining: string[], upstream: Map<string, Set<string>>): string[] {
  const left = new Set(remaining);
  // Every remaining stage has an unfinished upstream: walking upstream must revisit one.
  const path: string[] = [];
  const seenAt = new Map<string, number>();
  let current = present(remaining[0], 'a stage of the cycle');
  while (!seenAt.has(current)) {
    seenAt.set(current, path.length);
    path.push(current);
    current = present(
      [...edgesOf(upstream, current)].find((u) => left.has(u)),
      `an unfinished upstream of stage '${current}'`,
    );
  }
  // Show it in dependency order: upstream first.
  return [...path.slice(present(seenAt.get(current), 'where the cycle starts')), current].reverse();
}

/**
 * The stages to consider for `repro targets`: the targets and everything upstream of
 * them, or (downstream) the targets and everything downstream, in run order.
 *
 * @example
 * selectStages(graph, ['train'], { downstream: false }); // ['prepare', 'train']
 */
export function selectStages(
  graph: StageGraph,
  targets: string[],
  options: { downstream?: boolean } = {},
): string[] {
  if (targets.length === 0) return graph.order;
  for (const t of targets) {
    if (!graph.stages.has(t)) {
      const known = graph.order.join(', ') || '(none)';
      throw new DataverError('USAGE', `no stage named '${t}' in dataver.yaml`, {
        hint: `stages: ${known}`,
      });
    }
  }
  const edges = options.downstream ? graph.downstream : graph.upstream;
  const chosen = new Set<string>();
  const stack = [...targets];
  for (let name = stack.pop(); name !== undefined; name = stack.pop()) {
    if (chosen.has(name)) continue;
    chosen.add(name);
    stack.push(...edgesOf(edges, name));
  }
  return graph.order.filter((n) => chosen.has(n));
}
