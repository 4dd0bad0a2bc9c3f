// `dataver init`: creates .dataver/ (config committed; cache, tmp and state ignored)
// and an empty data.lock.json.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { emptyLock } from '../lock/accept.js';
import { LOCK_FILE, writeLock } from '../lock/lock-file.js';
import { lstatOrUndefined } from '../util/fs.js';
import { CONFIG_DIR, CONFIG_FILE, defaultConfig, writeConfig } from './config.js';
import { isInGitRepo } from './gitignore.js';

export interface InitResult {
  root: string;
  inGit: boolean;
  created: string[];
}

/**
 * Initializes a repository in `root`.
 *
 * @example
 * const { inGit } = await initRepo(process.cwd());
 */
export async function initRepo(root: string): Promise<InitResult> {
  if (await lstatOrUndefined(path.join(root, CONFIG_FILE))) {
    throw new DataverError('ALREADY_INITIALIZED', `${root} is already a dataver repository`, {
      hint: 'nothing to do; see `dataver status`',
    });
  }
  const created: string[] = [];
  const existing = await lstatOrUndefined(path.join(root, CONFIG_DIR));
  if (existing && !existing.isDirectory()) {
    throw new DataverError('USAGE', `${CONFIG_DIR} exists and is not a folder`, {
      hint: `move ${CONFIG_DIR} out of the way, then run \`dataver init\` again`,
    });
  }
  await fsp.mkdir(path.join(root, CONFIG_DIR), { recursive: true });
  await writeFileAtomic(path.join(root, CONFIG_DIR, '.gitignore'), '/cache/\n/tmp/\n/state/\n');
  created.push(`${CONFIG_DIR}/.gitignore`);
  if (!(await lstatOrUndefined(path.join(root, LOCK_FILE)))) {
    await writeLock(root, emptyLock());
    created.push(LOCK_FILE);
  }
  // The config is written last: its presence is what marks an initialized repository.
  await writeConfig(root, defaultConfig());
  created.push(`${CONFIG_DIR}/config.json`);
  return { root, inGit: await isInGitRepo(root), created };
}
