// dataver params diff [revA [revB]] [--all] [--md] [--json]

import type { Output } from '@dataver/foundation';
import { compareValues, openSource, readParams } from '../../pipeline/values.js';
import { openRepo } from './context.js';
import { diffCells, markdownTable, textTable } from './values-table.js';

export async function diff(
  output: Output,
  [revA, revB]: [string | undefined, string | undefined],
  options: { md?: boolean; all?: boolean },
): Promise<number> {
  const repo = await openRepo();
  const a = await openSource(repo.root, revA ?? 'HEAD');
  const b = await openSource(repo.root, revB);
  const rows = compareValues(await readParams(a), await readParams(b)).filter(
    (r) => options.all || r.state !== 'unchanged',
  );
  output.result({ from: a.label, to: b.label, params: rows }, () => {
    if (rows.length === 0) return `No params changed between ${a.label} and ${b.label}.`;
    const header = ['File', 'Param', a.label, b.label, 'Change'];
    return options.md
      ? [`### Params: \`${a.label}\` → \`${b.label}\``, '', ...markdownTable(header, diffCells(rows))]
      : textTable(header, diffCells(rows));
  });
  return 0;
}
