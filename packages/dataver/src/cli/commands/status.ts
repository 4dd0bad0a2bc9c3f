// dataver status [paths...] [--exit-code] [-r [name]] [--porcelain] [--json]
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Output } from '@dataver/foundation';
import { computeStatus, type OutputStatus } from '../../core/status.js';
import { readWorkspaceLock } from '../../core/workspace-lock.js';
import type { StageStatus } from '../../pipeline/status.js';
import { openRepo } from './context.js';

interface RemoteReport {
  name: string;
  missing: number;
  missingPaths: string[];
}

export async function run(
  output: Output,
  [paths]: [string[]],
  options: { exitCode?: boolean; remote?: string | boolean; porcelain?: boolean },
): Promise<number> {
  const repo = await openRepo();
  const lock = await readWorkspaceLock(repo);
  const repoPaths = repo.toRepoSelection(paths);
  // A read-only cache cannot keep the stat cache: only a cost, said with --verbose.
  const outputs = await computeStatus(repo, lock, repoPaths, {
    onWarning: (m) => output.debug(m),
    onVerbose: (m) => output.debug(m),
    // Only --json prints each folder's new content hash; the text forms need the changes alone.
    hashes: output.json,
  });
  let remote: RemoteReport | undefined;
  if (options.remote !== undefined && options.remote !== false) {
    const { remoteStatus } = require('../../core/transfer.js') as typeof import('../../core/transfer.js');
    remote = await remoteStatus(
      repo,
      lock,
      repoPaths,
      typeof options.remote === 'string' ? options.remote : undefined,
    );
  }
  // Stages are reported for the whole repository only (paths select outputs, not stages).
  let stages: StageStatus[] = [];
  if (!repoPaths && existsSync(path.join(repo.root, 'dataver.yaml'))) {
    // Loaded only for repositories with a pipeline: the YAML parser costs start-up time.
    const { computePipelineStatus } =
      require('../../pipeline/status.js') as typeof import('../../pipeline/status.js');
    stages = await computePipelineStatus(repo, lock);
  }
  const differs =
    outputs.some((o) => o.workspace !== 'unchanged' || o.cache !== 'ok' || o.lockProblems) ||
    (remote !== undefined && remote.missing > 0) ||
    stages.some((s) => s.stale);
  if (options.porcelain && !output.json) {
    const lines = porcelain(outputs, remote, stages);
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  } else output.result({ clean: !differs, outputs, remote, stages }, () => render(outputs, remote, stages));
  return options.exitCode && differs ? 1 : 0;
}

/**
 * The stable, machine-readable form: one `<code> <path>` line per difference. Codes: M modified,
 * A new file in a tracked directory, D deleted, ! not in the cache, C cache object damaged through
 * a hardlink, L lock entry contradicts its objects, R the remote lacks it, S stale stage (the
 * path is the stage name). A directory as a whole ends with `/`.
 */
function porcelain(
  outputs: OutputStatus[],
  remote: RemoteReport | undefined,
  stages: StageStatus[],
): string[] {
  const lines: string[] = [];
  for (const s of stages) if (s.stale) lines.push(`S ${s.stage}`);
  for (const o of outputs) {
    const whole = `${o.path}${o.kind === 'dir' ? '/' : ''}`;
    if (o.workspace === 'deleted') lines.push(`D ${whole}`);
    else if (o.workspace === 'modified' && o.changes.length === 0) lines.push(`M ${whole}`);
    for (const c of o.changes)
      lines.push(`${c.state === 'new' ? 'A' : c.state === 'modified' ? 'M' : 'D'} ${o.path}/${c.path}`);
    if (o.cache === 'missing') lines.push(`! ${whole}`);
    for (const p of o.cacheCorrupted ?? []) lines.push(`C ${p}`);
    if (o.lockProblems) lines.push(`L ${whole}`);
  }
  for (const p of remote?.missingPaths ?? []) lines.push(`R ${p}`);
  return lines;
}

function render(outputs: OutputStatus[], remote: RemoteReport | undefined, stages: StageStatus[]): string[] {
  const lines: string[] = [];
  const stale = stages.filter((s) => s.stale);
  if (stale.length > 0) {
    lines.push('Stages:');
    const width = Math.max(...stale.map((s) => s.stage.length));
    for (const s of stale) lines.push(`    ${s.stage.padEnd(width)}  ${s.summary}`);
    lines.push(`  (run \`dataver repro\` to update ${stale.length === 1 ? 'it' : 'them'})`);
    lines.push('Outputs:');
  }
  const before = lines.length;
  for (const o of outputs) {
    const flags: string[] = [];
    if (o.workspace !== 'unchanged') flags.push(o.workspace);
    if (o.cache === 'missing') flags.push('not in cache');
    if (o.lockProblems) flags.push('wrong in lock');
    if (flags.length === 0) continue;
    const shownPath = `${o.path}${o.kind === 'dir' ? '/' : ''}`;
    lines.push(`${flags.join(', ').padEnd(24)} ${shownPath}`);
    const shown = o.changes.slice(0, 20);
    for (const c of shown) lines.push(`    ${c.state.padEnd(10)} ${o.path}/${c.path}`);
    if (o.changes.length > shown.length) lines.push(`    … and ${o.changes.length - shown.length} more`);
    for (const p of o.cacheCorrupted ?? []) {
      lines.push(
        `    ${p} was edited in place through a hardlink: its cache object is damaged (run dataver verify --fix)`,
      );
    }
    for (const problem of o.lockProblems ?? []) lines.push(`    ${shownPath}: ${problem}`);
    if (o.lockProblems) lines.push(`    (rewrite the entry from the data: dataver commit ${o.path})`);
  }
  if (remote && remote.missing > 0)
    lines.push(`remote ${remote.name} lacks ${remote.missing} object(s): run dataver push`);
  if (lines.length === before && before > 0) lines.pop();
  if (lines.length === 0) {
    return [
      outputs.length === 0 && stages.length === 0 ? 'No tracked outputs.' : 'Everything is up to date.',
    ];
  }
  return lines;
}
