// Registers dataver's merge driver for data.lock.json in a git repository:
// `.gitattributes` (committed) names the driver; `.git/config` (local) defines it, as the command
// line of the dataver that registers it (node and script by absolute path), so that it runs in a
// repository where dataver is no local dependency, and from any PATH git is started with.
import path from 'node:path';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { readTextOrUndefined } from '../util/fs.js';
import { complaint, runGit } from './git.js';

export const MERGE_ATTRIBUTE = 'data.lock.json merge=dataver';
/**
 * `add` appends one line per output to .gitignore, so two branches that track different outputs
 * both append there: git's union merge keeps the lines of both sides where they collide (lines
 * elsewhere merge as usual), which is exactly right for a list of ignore patterns.
 */
export const GITIGNORE_ATTRIBUTE = '/.gitignore merge=union';
const DRIVER_KEY = 'merge.dataver.driver';

/**
 * A word quoted for `sh` (git runs merge drivers with the shell): inside double quotes, `\`, `"`,
 * `$` and backticks are escaped.
 *
 * @example
 * shellQuote('/opt/my tools/node'); // '"/opt/my tools/node"'
 */
export function shellQuote(word: string): string {
  return `"${word.replace(/(["\\$`])/g, '\\$1')}"`;
}

/**
 * The driver command line for git: `"<node>" "<dataver script>" merge-driver %O %A %B %P`.
 *
 * @example
 * mergeDriverCommand('/usr/bin/node', '/repo/node_modules/dataver/bin/dataver.js');
 */
export function mergeDriverCommand(node: string, script: string): string {
  return `${shellQuote(node)} ${shellQuote(script)} merge-driver %O %A %B %P`;
}

/**
 * The driver command configured in a repository, or undefined (not a git repository, or none).
 *
 * @example
 * const command = await configuredMergeDriver(repo.root);
 */
export async function configuredMergeDriver(root: string): Promise<string | undefined> {
  try {
    const run = await runGit(root, ['config', '--get', DRIVER_KEY]);
    return run.code === 0 ? run.stdout.toString('utf8').trim() : undefined;
  } catch {
    return undefined; // git missing
  }
}

/**
 * Installs the merge driver so that two branches changing different outputs or stages merge
 * cleanly; `command` is what git runs (see mergeDriverCommand).
 *
 * @example
 * await installMergeDriver(repo.root, mergeDriverCommand(process.execPath, cliScript));
 */
export async function installMergeDriver(root: string, command: string): Promise<void> {
  const attributes = path.join(root, '.gitattributes');
  const text = (await readTextOrUndefined(attributes)) ?? '';
  const lines = text.split('\n');
  const missing = [MERGE_ATTRIBUTE, GITIGNORE_ATTRIBUTE].filter((line) => !lines.includes(line));
  if (missing.length > 0) {
    await writeFileAtomic(
      attributes,
      `${text}${text && !text.endsWith('\n') ? '\n' : ''}${missing.join('\n')}\n`,
    );
  }
  for (const [key, value] of [
    ['merge.dataver.name', 'dataver data.lock.json merge driver'],
    [DRIVER_KEY, command],
  ] as const) {
    const run = await runGit(root, ['config', key, value]);
    if (run.code !== 0) {
      throw new DataverError('USAGE', 'cannot configure the merge driver: not a git repository?', {
        hint: 'run `git init` first, then `dataver init --git-hooks`',
        cause: new Error(complaint(run.stderr)),
      });
    }
  }
}
