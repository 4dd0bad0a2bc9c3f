// dataver remote add/list/remove/test
import path from 'node:path';
import type { Output } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import { readConfig, writeConfig } from '../../core/config.js';
import { locateRemote } from '../../core/remotes.js';
import { Repo } from '../../core/repo.js';
import { withWriteLock } from '../../core/write-lock.js';

export async function add(
  output: Output,
  [name, rawUrl]: [string, string],
  options: { default?: boolean },
): Promise<number> {
  let url = rawUrl;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new DataverError('USAGE', `invalid remote name '${name}'`, { hint: 'use letters, digits, _ . -' });
  }
  const location = locateRemote(url, process.cwd());
  if (location.kind === 'unsupported') {
    throw new DataverError('USAGE', `unsupported remote URL '${url}'`, {
      hint: 'use gs://bucket/prefix, file:///path, or a folder path',
    });
  }
  const repo = await Repo.find(process.cwd());
  // A folder given relative to where the user stands is stored relative to the repository root.
  if (location.kind === 'local' && !url.startsWith('file://') && !path.isAbsolute(url)) {
    url = path.relative(repo.root, location.folder) || '.';
  }
  await withWriteLock(repo, 'remote', async () => {
    const config = await readConfig(repo.root);
    if (config.remotes[name]) {
      throw new DataverError('USAGE', `remote '${name}' already exists (${config.remotes[name].url})`, {
        hint: `change it with \`dataver config set remote.${name}.url URL\` or remove it first`,
      });
    }
    config.remotes[name] = { url };
    if (options.default || Object.keys(config.remotes).length === 1) config.core.remote = name;
    await writeConfig(repo.root, config);
  });
  output.info(`added remote ${name} → ${url}${options.default ? ' (default)' : ''}`);
  return 0;
}

export async function list(output: Output): Promise<number> {
  const repo = await Repo.find(process.cwd());
  const rows = Object.entries(repo.config.remotes).map(([name, r]) => ({
    name,
    ...r,
    default: repo.config.core.remote === name,
  }));
  output.result(rows, () =>
    rows.length === 0
      ? 'No remotes. Add one with `dataver remote add NAME URL`.'
      : rows.map((r) => `${r.default ? '*' : ' '} ${r.name}\t${r.url}`),
  );
  return 0;
}

export async function remove(output: Output, [name]: [string]): Promise<number> {
  const repo = await Repo.find(process.cwd());
  await withWriteLock(repo, 'remote', async () => {
    const config = await readConfig(repo.root);
    if (!config.remotes[name])
      throw new DataverError('REMOTE_UNKNOWN', `no remote named '${name}'`, {
        hint: 'see `dataver remote list`',
      });
    delete config.remotes[name];
    if (config.core.remote === name) delete config.core.remote;
    await writeConfig(repo.root, config);
  });
  output.info(`removed remote ${name}`);
  return 0;
}

export async function test(output: Output, [name]: [string | undefined]): Promise<number> {
  const { testConfiguredRemote } = await import('../../core/remote-diagnostics.js');
  const repo = await Repo.find(process.cwd());
  const report = await testConfiguredRemote(repo, name);
  output.result(report, () => Object.entries(report).map(([k, v]) => `${k.padEnd(12)} ${String(v)}`));
  return 0;
}
