// Tables of params and metrics values for the terminal and for Markdown (CI step summaries).
import type { ValueRow } from '../../pipeline/values.js';

/**
 * A value as a table cell.
 *
 * @example
 * cell(0.98123456); // '0.981235'
 */
export function cell(value: unknown): string {
  if (value === undefined) return '–';
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * `+0.0123` / `−2`; empty when not numeric.
 *
 * @example
 * changeCell(-0.5); // '−0.5'
 */
export function changeCell(change: number | undefined): string {
  if (change === undefined) return '';
  if (change === 0) return '0';
  const text = cell(Math.abs(change));
  return `${change > 0 ? '+' : '−'}${text}`;
}

/**
 * Aligned text columns.
 *
 * @example
 * textTable(['Key', 'Value'], [['lr', '0.1']]); // ['Key  Value', 'lr   0.1']
 */
export function textTable(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => [...(r[c] ?? '')].length)));
  return all.map((r) =>
    r
      .map((v, c) => (c === r.length - 1 ? v : v + ' '.repeat(Math.max(0, (widths[c] ?? 0) - [...v].length))))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * A GitHub-flavoured Markdown table.
 *
 * @example
 * markdownTable(['Key'], [['lr']]); // ['| Key |', '|---|', '| lr |']
 */
export function markdownTable(header: string[], rows: string[][]): string[] {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
}

/**
 * Rows of a diff as table cells: file, key, old, new, change.
 *
 * @example
 * diffCells(compareValues(a, b));
 */
export function diffCells(rows: ValueRow[]): string[][] {
  return rows.map((r) => [
    r.file,
    r.key,
    cell(r.old),
    cell(r.new),
    r.state === 'modified' ? changeCell(r.change) || 'changed' : r.state === 'unchanged' ? '' : r.state,
  ]);
}
