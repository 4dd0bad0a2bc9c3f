// dataver metrics show [rev] / dataver metrics diff [revA [revB]]  (--md, --json)

import type { Output } from '@dataver/foundation';
import { compareValues, openSource, readMetrics } from '../../pipeline/values.js';
import { openRepo } from './context.js';
import { cell, diffCells, markdownTable, textTable } from './values-table.js';

export async function show(
  output: Output,
  [rev]: [string | undefined],
  options: { md?: boolean },
): Promise<number> {
  const repo = await openRepo();
  const source = await openSource(repo.root, rev);
  const metrics = await readMetrics(source);
  const rows = [...metrics].flatMap(([file, values]) =>
    Object.entries(values).map(([k, v]) => [file, k, cell(v)]),
  );
  output.result({ rev: source.label, metrics: Object.fromEntries(metrics) }, () => {
    if (rows.length === 0)
      return `No metrics in ${source.label} (declare them with \`metrics:\` in a stage of dataver.yaml).`;
    const header = ['File', 'Metric', 'Value'];
    return options.md
      ? [`### Metrics (\`${source.label}\`)`, '', ...markdownTable(header, rows)]
      : textTable(header, rows);
  });
  return 0;
}

export async function diff(
  output: Output,
  [revA, revB]: [string | undefined, string | undefined],
  options: { md?: boolean },
): Promise<number> {
  const repo = await openRepo();
  const a = await openSource(repo.root, revA ?? 'HEAD');
  const b = await openSource(repo.root, revB);
  const rows = compareValues(await readMetrics(a), await readMetrics(b)).filter(
    (r) => r.state !== 'unchanged',
  );
  output.result({ from: a.label, to: b.label, metrics: rows }, () => {
    if (rows.length === 0) return `No metrics changed between ${a.label} and ${b.label}.`;
    const header = ['File', 'Metric', a.label, b.label, 'Change'];
    return options.md
      ? [`### Metrics: \`${a.label}\` → \`${b.label}\``, '', ...markdownTable(header, diffCells(rows))]
      : textTable(header, diffCells(rows));
  });
  return 0;
}
