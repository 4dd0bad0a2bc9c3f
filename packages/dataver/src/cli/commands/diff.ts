// dataver diff [revA [revB]] [--json] [--md]
// Default: HEAD against the workspace: the files as they are on disk, hashed (as `dvc diff`),
// with the outputs not yet recorded in data.lock.json named as such.

import { formatBytes, type Output } from '@dataver/foundation';
import {
  type DiffResult,
  describeTensorChanges,
  diffLocks,
  type OutputDiff,
  workspaceVersion,
} from '../../core/diff.js';
import { readWorkspaceLock } from '../../core/workspace-lock.js';
import { emptyLock } from '../../lock/accept.js';
import type { Lock } from '../../lock/schema.js';
import type { ManifestEntry } from '../../odb/manifest.js';
import { zip } from '../../util/invariants.js';
import { openRepo } from './context.js';
import { textTable } from './values-table.js';

/** Files listed per directory in the text and Markdown views (JSON has them all). */
const FILES_SHOWN = 10;

interface WorkspaceFlag {
  path: string;
  workspace: 'modified' | 'deleted';
}

export async function run(
  output: Output,
  [revA, revB]: [string | undefined, string | undefined],
  options: { md?: boolean },
): Promise<number> {
  const repo = await openRepo();
  const { readLockAtRevision, resolveRevision } =
    require('../../git/revisions.js') as typeof import('../../git/revisions.js');
  let from = revA ?? 'HEAD';
  // In a repository without commits yet, the default base is simply "nothing".
  const noCommits =
    revA === undefined &&
    !(await resolveRevision(repo.root, 'HEAD').then(
      () => true,
      () => false,
    ));
  if (noCommits) from = '(no commits)';
  // An unknown revision is a usage error (readLockAtRevision resolves it first).
  const a = noCommits ? emptyLock() : await readLockAtRevision(repo.root, from);
  let b: Lock;
  let workspace: WorkspaceFlag[] = [];
  let manifests: Map<string, ManifestEntry[]> | undefined;
  if (revB === undefined) {
    // The workspace as its files are, like `dvc diff`: changes not recorded with `add` count too.
    const current = await workspaceVersion(repo, await readWorkspaceLock(repo), (m) => output.debug(m));
    b = current.lock;
    manifests = current.manifests;
    workspace = current.changed;
  } else b = await readLockAtRevision(repo.root, revB);
  const result = await diffLocks(repo, a, b, { manifests });
  const to = revB ?? 'workspace';
  for (const hash of result.missingManifests.slice(0, 1)) {
    output.warn(
      `directory manifest ${hash.slice(0, 12)}… is not in the cache: file-level detail is missing (run \`dataver fetch\`${revB === undefined ? '' : ` after \`git checkout ${revB}\``}, or \`dataver pull --rev\`)`,
    );
  }
  for (const p of result.lockProblems) {
    output.warn(
      `data.lock.json: ${p.path} states ${p.stated} bytes, its data holds ${p.actual}: the totals use the data (fix the entry with \`dataver commit ${p.path}\`)`,
    );
  }
  output.result({ from, to, ...result, workspace }, () =>
    options.md ? renderMarkdown(from, to, result, workspace) : renderText(from, to, result, workspace),
  );
  return 0;
}

function signed(n: number): string {
  return n === 0 ? '±0 B' : `${n > 0 ? '+' : '−'}${formatBytes(Math.abs(n))}`;
}

function size(n: number | undefined): string {
  return n === undefined ? '–' : formatBytes(n);
}

function detail(o: OutputDiff): string {
  if (o.kind !== 'dir') return '';
  if (o.filesUnknown) return 'files unknown (not in cache)';
  const n = (s: string) => o.files.filter((f) => f.state === s).length;
  const parts = [
    ['added', n('added')],
    ['modified', n('modified')],
    ['deleted', n('deleted')],
  ]
    .filter(([, c]) => (c as number) > 0)
    .map(([s, c]) => `${c} ${s}`);
  return parts.length > 0 ? `files: ${parts.join(', ')}` : '';
}

function totalsLine(result: DiffResult): string {
  const t = result.totals;
  const changed = t.added + t.modified + t.deleted;
  return `${changed} output(s) changed: ${t.added} added, ${t.modified} modified, ${t.deleted} deleted · ${formatBytes(t.sizeBefore)} → ${formatBytes(t.sizeAfter)} (${signed(t.sizeAfter - t.sizeBefore)})`;
}

/** Pads columns to their widest cell, indented. */
function table(rows: string[][], indent = '  '): string[] {
  const [first = [], ...rest] = rows;
  return textTable(first, rest).map((line) => indent + line);
}

function renderText(from: string, to: string, result: DiffResult, workspace: WorkspaceFlag[]): string[] {
  const lines: string[] = [`dataver diff ${from} → ${to}`];
  if (to === 'workspace')
    lines.push(`  (${from} compared with the files in the workspace, recorded with \`dataver add\` or not)`);
  lines.push('');
  if (result.outputs.length === 0) lines.push('  No output changed.');
  else {
    const rows: string[][] = [['STATUS', 'PATH', 'BEFORE', 'AFTER', 'CHANGE', 'DETAIL']];
    for (const o of result.outputs) {
      rows.push([
        o.state,
        `${o.path}${o.kind === 'dir' ? '/' : ''}`,
        size(o.sizeBefore),
        size(o.sizeAfter),
        signed((o.sizeAfter ?? 0) - (o.sizeBefore ?? 0)),
        detail(o),
      ]);
    }
    const [heading, ...outputLines] = table(rows);
    lines.push(heading ?? '');
    for (const [o, line] of zip(result.outputs, outputLines)) {
      lines.push(line);
      const shown = o.files.slice(0, FILES_SHOWN);
      const fileRows = shown.map((f) => [
        f.state,
        f.path,
        f.state === 'modified'
          ? `${formatBytes(f.sizeBefore)} → ${formatBytes(f.sizeAfter)}`
          : formatBytes(f.state === 'added' ? f.sizeAfter : f.sizeBefore),
      ]);
      if (fileRows.length > 0) lines.push(...table(fileRows, '      '));
      if (o.files.length > shown.length)
        lines.push(`      … and ${o.files.length - shown.length} more file(s)`);
      const tensorRows = o.tensors.map((t) => {
        const where = [t.file, t.tensor].filter(Boolean).join(' ');
        return [where ? `${where}:` : '', t.summary, describeTensorChanges(t.changes)];
      });
      if (tensorRows.length > 0) lines.push(...table(tensorRows, '      '));
    }
  }
  if (workspace.length > 0) {
    lines.push(
      '',
      '  Not yet recorded in data.lock.json (run `dataver add` or `dataver repro` to record them):',
    );
    for (const w of workspace) lines.push(`    ${w.workspace.padEnd(9)} ${w.path}`);
  }
  lines.push('', totalsLine(result));
  return lines;
}

function renderMarkdown(from: string, to: string, result: DiffResult, workspace: WorkspaceFlag[]): string[] {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`### dataver diff \`${from}\` → \`${to}\``, ''];
  if (result.outputs.length > 0) {
    lines.push('| Status | Path | Before | After | Change | Detail |', '|---|---|---:|---:|---:|---|');
    for (const o of result.outputs) {
      const details = [detail(o)];
      for (const t of o.tensors) {
        const where = [t.file, t.tensor].filter(Boolean).join(' ');
        details.push(`${where ? `\`${where}\` ` : ''}${t.summary}: ${describeTensorChanges(t.changes)}`);
      }
      lines.push(
        `| ${o.state} | \`${esc(o.path)}${o.kind === 'dir' ? '/' : ''}\` | ${size(o.sizeBefore)} | ${size(o.sizeAfter)} | ${signed((o.sizeAfter ?? 0) - (o.sizeBefore ?? 0))} | ${esc(details.filter(Boolean).join('<br>'))} |`,
      );
    }
    lines.push('');
  } else lines.push('No output changed.', '');
  if (workspace.length > 0) {
    lines.push(
      `Workspace differs from data.lock.json: ${workspace.map((w) => `\`${w.path}\` (${w.workspace})`).join(', ')}`,
      '',
    );
  }
  lines.push(`**${totalsLine(result)}**`);
  return lines;
}
