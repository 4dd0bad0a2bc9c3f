// Registers dataver's merge driver for data.lock.json in a git repository:
// `.gitattributes` (committed) names the driver; `.git/config` (local) defines it.
import path from 'node:path';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { readTextOrUndefined } from '../util/fs.js';
import { complaint, runGit } from './git.js';

const ATTRIBUTE = 'data.lock.json merge=dataver';

/**
 * Installs the merge driver so that two branches changing different outputs or stages merge cleanly.
 *
 * @example
 * await installMergeDriver(repo.root);
 */
export async function installMergeDriver(root: string): Promise<void> {
  const attributes = path.join(root, '.gitattributes');
  const text = (await readTextOrUndefined(attributes)) ?? '';
  if (!text.split('\n').includes(ATTRIBUTE)) {
    await writeFileAtomic(attributes, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${ATTRIBUTE}\n`);
  }
  for (const [key, value] of [
    ['merge.dataver.name', 'dataver data.lock.json merge driver'],
    ['merge.dataver.driver', 'npx --no-install dataver merge-driver %O %A %B %P'],
  ] as const) {
    const run = await runGit(root, ['config', key, value]);
    if (run.code !== 0) {
      throw new DataverError('USAGE', 'cannot configure the merge driver: not a git repository?', {
        hint: 'run `git init` first, then `dataver init --git-hooks` in a fresh folder or set it up as docs/pipelines.md shows',
        cause: new Error(complaint(run.stderr)),
      });
    }
  }
}
