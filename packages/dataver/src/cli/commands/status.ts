// dataver status [paths...]
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Output } from '@dataver/foundation';
import { Repo } from '../../core/repo.js';
import { computeStatus, type OutputStatus } from '../../core/status.js';
import { readLock } from '../../lock/lock-file.js';
import type { StageStatus } from '../../pipeline/status.js';

export async function run(
  output: Output,
  [paths]: [string[]],
  options: { exitCode?: boolean; remote?: string | boolean },
): Promise<number> {
  const repo = await Repo.find(process.cwd());
  const lock = await readLock(repo.root);
  const repoPaths = repo.toRepoSelection(paths);
  const outputs = await computeStatus(repo, lock, repoPaths);
  let remote: { name: string; missing: number; missingHashes: string[] } | undefined;
  if (options.remote !== undefined && options.remote !== false) {
    const { remoteStatus } = await import('../../core/transfer.js');
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
    const { computePipelineStatus } = await import('../../pipeline/status.js');
    stages = await computePipelineStatus(repo, lock);
  }
  const differs =
    outputs.some((o) => o.workspace !== 'unchanged' || o.cache !== 'ok') ||
    (remote !== undefined && remote.missing > 0) ||
    stages.some((s) => s.stale);
  output.result({ clean: !differs, outputs, remote, stages }, () => render(outputs, remote, stages));
  return options.exitCode && differs ? 1 : 0;
}

function render(
  outputs: OutputStatus[],
  remote: { name: string; missing: number } | undefined,
  stages: StageStatus[],
): string[] {
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
    if (flags.length === 0) continue;
    lines.push(`${flags.join(', ').padEnd(24)} ${o.path}${o.kind === 'dir' ? '/' : ''}`);
    const shown = o.changes.slice(0, 20);
    for (const c of shown) lines.push(`    ${c.state.padEnd(10)} ${o.path}/${c.path}`);
    if (o.changes.length > shown.length) lines.push(`    … and ${o.changes.length - shown.length} more`);
    for (const p of o.cacheCorrupted ?? []) {
      lines.push(
        `    ${p} was edited in place through a hardlink: its cache object is damaged (run dataver verify --fix)`,
      );
    }
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
