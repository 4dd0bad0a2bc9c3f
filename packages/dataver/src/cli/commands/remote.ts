// dataver remote add/list/remove/test/modify/rename/default: remotes live in .dataver/config.json,
// which is committed, so that every clone knows them; each change says what to commit (or stages
// it with --git-add).
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Output } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import { CONFIG_FILE, type Config, readConfig, setConfigValue, writeConfig } from '../../core/config.js';
import { locateRemote } from '../../core/remotes.js';
import { type Repo, stateDirOf } from '../../core/repo.js';
import { withWriteLock } from '../../core/write-lock.js';
import { toPosix } from '../../util/fs.js';
import { openRepo } from './context.js';

const NAME = /^[A-Za-z0-9_.-]+$/;

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new DataverError('USAGE', `invalid remote name '${name}'`, { hint: 'use letters, digits, _ . -' });
  }
}

/** The settings of a configured remote; an unknown name is REMOTE_UNKNOWN naming the known ones. */
function settingsOf(config: Config, name: string): Config['remotes'][string] {
  const settings = config.remotes[name];
  if (settings) return settings;
  throw new DataverError('REMOTE_UNKNOWN', `no remote named '${name}'`, {
    hint: `known remotes: ${Object.keys(config.remotes).join(', ') || 'none'} (see \`dataver remote list\`)`,
  });
}

/**
 * Changes the config under the write lock, says what changed (`done`), then says (or, with
 * --git-add, does) what to commit.
 */
async function changeConfig(
  output: Output,
  repo: Repo,
  gitAdd: boolean | undefined,
  change: (config: Config) => Config,
  done: () => string,
): Promise<void> {
  await withWriteLock(repo, 'remote', async () => {
    await writeConfig(repo.root, change(await readConfig(repo.root)));
  });
  output.info(done());
  const { commitState, stageFile } = require('../../git/staging.js') as typeof import('../../git/staging.js');
  const file = toPosix(CONFIG_FILE);
  if (gitAdd) {
    if (await stageFile(repo.root, file))
      output.info(`staged ${file}: commit it so that clones know the remotes`);
    else output.warn(`cannot stage ${file}: not a git repository`);
    return;
  }
  const state = await commitState(repo.root, file);
  if (state === 'changed' || state === 'untracked')
    output.info(`commit ${file} so that clones know the remotes: git add ${file} && git commit`);
}

/**
 * Refuses a URL no remote could open (an unknown scheme, `gs://` without a valid bucket name)
 * when it is written to the config, so that a typo fails at `remote add`, not at the first push.
 *
 * @example
 * await checkRemoteUrl('gs://my-bucket/data');
 */
export async function checkRemoteUrl(url: string): Promise<void> {
  const location = locateRemote(url, process.cwd());
  if (location.kind === 'unsupported') {
    throw new DataverError('USAGE', `unsupported remote URL '${url}'`, {
      hint: 'use gs://bucket/prefix, file:///path, or a folder path',
    });
  }
  if (location.kind === 'gcs') {
    // Only the URL parser: the GCS client library itself loads when a remote is opened.
    const { parseGsUrl } = require('../../storage/gcs.js') as typeof import('../../storage/gcs.js');
    parseGsUrl(url);
  }
}

export async function add(
  output: Output,
  [name, rawUrl]: [string, string],
  options: { default?: boolean; gitAdd?: boolean },
): Promise<number> {
  let url = rawUrl;
  checkName(name);
  await checkRemoteUrl(url);
  const location = locateRemote(url, process.cwd());
  const repo = await openRepo();
  // A folder given relative to where the user stands is stored relative to the repository root.
  if (location.kind === 'local' && !url.startsWith('file://') && !path.isAbsolute(url)) {
    url = path.relative(repo.root, location.folder) || '.';
  }
  let isDefault = false;
  await changeConfig(
    output,
    repo,
    options.gitAdd,
    (config) => {
      if (config.remotes[name]) {
        throw new DataverError('USAGE', `remote '${name}' already exists (${config.remotes[name].url})`, {
          hint: `change it with \`dataver remote modify ${name} url URL\` or remove it first`,
        });
      }
      config.remotes[name] = { url };
      isDefault = options.default === true || Object.keys(config.remotes).length === 1;
      if (isDefault) config.core.remote = name;
      return config;
    },
    () => `added remote ${name} → ${url}${isDefault ? ' (default)' : ''}`,
  );
  // One inside the repository is made by the first push; one outside must exist (a typo, an unmounted share?).
  const outside = path.relative(repo.root, location.kind === 'local' ? location.folder : '').startsWith('..');
  if (location.kind === 'local' && outside && !existsSync(location.folder))
    output.warn(
      `folder ${location.folder} does not exist: create it before pushing (mkdir -p ${location.folder})`,
    );
  return 0;
}

export async function list(output: Output): Promise<number> {
  const repo = await openRepo();
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

export async function remove(
  output: Output,
  [name]: [string],
  options: { gitAdd?: boolean },
): Promise<number> {
  const repo = await openRepo();
  await changeConfig(
    output,
    repo,
    options.gitAdd,
    (config) => {
      settingsOf(config, name);
      delete config.remotes[name];
      if (config.core.remote === name) delete config.core.remote;
      return config;
    },
    () => `removed remote ${name}`,
  );
  return 0;
}

export async function modify(
  output: Output,
  [name, option, value]: [string, string, string | undefined],
  options: { unset?: boolean; gitAdd?: boolean },
): Promise<number> {
  if (value === undefined && !options.unset) {
    throw new DataverError('USAGE', `no value for ${option}`, {
      hint: `e.g. dataver remote modify ${name} ${option} VALUE (or --unset)`,
    });
  }
  if (options.unset && option === 'url') {
    throw new DataverError('USAGE', 'a remote needs its url', {
      hint: `remove it instead: dataver remote remove ${name}`,
    });
  }
  if (option === 'url' && value !== undefined) await checkRemoteUrl(value);
  const repo = await openRepo();
  await changeConfig(
    output,
    repo,
    options.gitAdd,
    (config) => {
      settingsOf(config, name);
      return setConfigValue(config, `remote.${name}.${option}`, options.unset ? undefined : value);
    },
    () => (options.unset ? `remote ${name}: ${option} unset` : `remote ${name}: ${option} = ${value}`),
  );
  return 0;
}

export async function rename(
  output: Output,
  [from, to]: [string, string],
  options: { gitAdd?: boolean },
): Promise<number> {
  checkName(to);
  const repo = await openRepo();
  await changeConfig(
    output,
    repo,
    options.gitAdd,
    (config) => {
      const settings = settingsOf(config, from);
      if (config.remotes[to]) {
        throw new DataverError('USAGE', `remote '${to}' already exists`, { hint: 'choose another name' });
      }
      const { [from]: _, ...others } = config.remotes;
      const next: Config = { ...config, remotes: { ...others, [to]: settings } };
      if (config.core.remote === from) next.core = { ...config.core, remote: to };
      return next;
    },
    () => `renamed remote ${from} → ${to}`,
  );
  // The copies of the remote's index segments follow it (they are only a cache).
  const indexCache = path.join(stateDirOf(repo.root), 'remote-index');
  await fsp
    .rename(path.join(indexCache, encodeURIComponent(from)), path.join(indexCache, encodeURIComponent(to)))
    .catch(() => undefined);
  return 0;
}

export async function setDefault(
  output: Output,
  [name]: [string | undefined],
  options: { unset?: boolean; gitAdd?: boolean; json?: boolean },
): Promise<number> {
  const repo = await openRepo();
  if (name === undefined && !options.unset) {
    const current = repo.config.core.remote;
    output.result(
      { default: current ?? null },
      () => current ?? 'No default remote (set one: dataver remote default NAME).',
    );
    return 0;
  }
  await changeConfig(
    output,
    repo,
    options.gitAdd,
    (config) => {
      if (options.unset) {
        delete config.core.remote;
        return config;
      }
      if (name !== undefined) settingsOf(config, name);
      config.core.remote = name;
      return config;
    },
    () => (options.unset ? 'no default remote' : `default remote: ${name}`),
  );
  return 0;
}

export async function test(output: Output, [name]: [string | undefined]): Promise<number> {
  const { testConfiguredRemote } =
    require('../../core/remote-diagnostics.js') as typeof import('../../core/remote-diagnostics.js');
  const repo = await openRepo();
  const report = await testConfiguredRemote(repo, name);
  output.result(report, () =>
    Object.entries(report)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k.padEnd(16)} ${String(v)}`),
  );
  return 0;
}
