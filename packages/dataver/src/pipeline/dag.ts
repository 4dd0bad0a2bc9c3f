// The stage graph for people and for Markdown: a text list (each stage with what it waits for)
// and a Mermaid flowchart; of the stages, or of the data (deps → outs, labelled by stage).
// Pure functions over a built graph.
import { allOutputs } from './config.js';
import { edgesOf, type StageGraph, selectStages, stageOf } from './graph.js';

export interface DagEdge {
  from: string;
  to: string;
  /** For a graph of outputs: the stage that makes `to` from `from`. */
  stage?: string;
}

export interface Dag {
  /** Stage names, or paths with `outs`, in run order. */
  nodes: string[];
  edges: DagEdge[];
}

/**
 * The graph of `target` and everything upstream of it (or of the whole pipeline): stages, or with
 * `outs` the paths they read and write.
 *
 * @example
 * stageDag(graph); // { nodes: ['process', 'train'], edges: [{ from: 'process', to: 'train' }] }
 */
export function stageDag(graph: StageGraph, options: { target?: string; outs?: boolean } = {}): Dag {
  const names = selectStages(graph, options.target ? [options.target] : []);
  if (!options.outs) {
    const chosen = new Set(names);
    const edges = names.flatMap((to) =>
      [...edgesOf(graph.upstream, to)]
        .filter((from) => chosen.has(from))
        .sort((a, b) => names.indexOf(a) - names.indexOf(b))
        .map((from) => ({ from, to })),
    );
    return { nodes: names, edges };
  }
  const nodes: string[] = [];
  const edges: DagEdge[] = [];
  const node = (p: string) => {
    if (!nodes.includes(p)) nodes.push(p);
  };
  for (const name of names) {
    const stage = stageOf(graph, name);
    for (const dep of stage.deps) node(dep);
    for (const out of allOutputs(stage)) {
      node(out);
      for (const dep of stage.deps) edges.push({ from: dep, to: out, stage: name });
    }
  }
  return { nodes, edges };
}

/**
 * One line per node: the node, then what it comes from.
 *
 * @example
 * renderDagText(dag); // ['process', 'train  ← process']
 */
export function renderDagText(dag: Dag): string[] {
  const width = Math.max(0, ...dag.nodes.map((n) => n.length));
  return dag.nodes.map((n) => {
    const from = dag.edges.filter((e) => e.to === n);
    if (from.length === 0) return n;
    const sources = [...new Set(from.map((e) => (e.stage ? `${e.from} (${e.stage})` : e.from)))];
    return `${n.padEnd(width)}  ← ${sources.join(', ')}`;
  });
}

/** A Mermaid label: quotes and brackets would end it. */
function label(text: string): string {
  return `"${text.replace(/"/g, '#quot;')}"`;
}

/**
 * A Mermaid flowchart (top to bottom) of the graph.
 *
 * @example
 * renderDagMermaid(dag).join('\n'); // 'flowchart TD\n  n0["process"]\n  …'
 */
export function renderDagMermaid(dag: Dag): string[] {
  const id = new Map(dag.nodes.map((n, i) => [n, `n${i}`]));
  const lines = ['flowchart TD'];
  for (const n of dag.nodes) lines.push(`  ${id.get(n)}[${label(n)}]`);
  for (const e of dag.edges) {
    const arrow = e.stage ? `-->|${label(e.stage)}|` : '-->';
    lines.push(`  ${id.get(e.from)} ${arrow} ${id.get(e.to)}`);
  }
  return lines;
}
