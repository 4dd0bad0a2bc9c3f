// dataver config get/set/unset/list

import type { Output } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import { getConfigValue, readConfig, setConfigValue, writeConfig } from '../../core/config.js';
import { withWriteLock } from '../../core/write-lock.js';
import { openRepo } from './context.js';
import { checkRemoteUrl } from './remote.js';

export async function get(output: Output, [key]: [string]): Promise<number> {
  const repo = await openRepo();
  const value = getConfigValue(repo.config, key);
  if (value === undefined) {
    throw new DataverError('USAGE', `${key} is not set`, {
      hint: `set it with \`dataver config set ${key} VALUE\``,
    });
  }
  output.result(value, () => (typeof value === 'string' ? value : JSON.stringify(value)));
  return 0;
}

export async function set(output: Output, [key, value]: [string, string]): Promise<number> {
  if (/^remotes?\.[^.]+\.url$/.test(key)) await checkRemoteUrl(value);
  const repo = await openRepo();
  await withWriteLock(repo, 'config', async () => {
    await writeConfig(repo.root, setConfigValue(await readConfig(repo.root), key, value));
  });
  output.info(`${key} = ${value}`);
  return 0;
}

export async function unset(output: Output, [key]: [string]): Promise<number> {
  const repo = await openRepo();
  await withWriteLock(repo, 'config', async () => {
    await writeConfig(repo.root, setConfigValue(await readConfig(repo.root), key, undefined));
  });
  output.info(`${key} unset`);
  return 0;
}

export async function list(output: Output): Promise<number> {
  const repo = await openRepo();
  output.result(repo.config, () => JSON.stringify(repo.config, null, 2));
  return 0;
}
