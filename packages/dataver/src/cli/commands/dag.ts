// dataver dag [target] [--outs] [--mermaid | --md] [--json]
import { DataverError, type Output } from '@dataver/foundation';
import { PIPELINE_FILE, readPipeline } from '../../pipeline/config.js';
import { renderDagMermaid, renderDagText, stageDag } from '../../pipeline/dag.js';
import { buildGraph } from '../../pipeline/graph.js';
import { openRepo } from './context.js';

export async function run(
  output: Output,
  [target]: [string | undefined],
  options: { mermaid?: boolean; md?: boolean; outs?: boolean },
): Promise<number> {
  const repo = await openRepo();
  const pipeline = await readPipeline(repo.root);
  if (!pipeline) {
    throw new DataverError('PIPELINE_INVALID', `no ${PIPELINE_FILE} in ${repo.root}`, {
      hint: 'add a stage first: dataver stage add <name> --cmd "…" --dep … --out …',
    });
  }
  const dag = stageDag(buildGraph(pipeline), { target, outs: options.outs });
  output.result(dag, () => {
    if (dag.nodes.length === 0) return `No stages in ${PIPELINE_FILE}.`;
    if (options.md) return ['```mermaid', ...renderDagMermaid(dag), '```'];
    return options.mermaid ? renderDagMermaid(dag) : renderDagText(dag);
  });
  return 0;
}
