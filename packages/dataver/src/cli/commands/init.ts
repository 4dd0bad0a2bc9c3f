// dataver init [--git-hooks]: the repository, and in a git repository the data.lock.json merge
// driver (registered as the command line of this very dataver, so it runs without npx).

import type { Output } from '@dataver/foundation';
import { initRepo } from '../../core/init.js';
import { cliScript } from '../self.js';

async function setUpMergeDriver(root: string): Promise<void> {
  const { installMergeDriver, mergeDriverCommand } =
    require('../../git/merge-driver-setup.js') as typeof import('../../git/merge-driver-setup.js');
  await installMergeDriver(root, mergeDriverCommand(process.execPath, cliScript()));
}

export async function run(
  output: Output,
  _args: unknown[],
  options: { gitHooks?: boolean },
): Promise<number> {
  if (options.gitHooks) {
    // In a clone the repository exists already: only the (local) merge driver is missing.
    const { Repo } = require('../../core/repo.js') as typeof import('../../core/repo.js');
    const existing = await Repo.tryFind(process.cwd());
    if (existing?.root === process.cwd()) {
      await setUpMergeDriver(existing.root);
      output.result(
        { root: existing.root, mergeDriver: true },
        () => 'Set up the data.lock.json merge driver.',
      );
      return 0;
    }
  }
  const result = await initRepo(process.cwd());
  if (!result.inGit)
    output.warn('not inside a git repository: data.lock.json will not be versioned until you `git init`');
  // --no-git-hooks leaves git alone; outside git there is nothing to register.
  const mergeDriver = result.inGit && options.gitHooks !== false;
  if (mergeDriver) await setUpMergeDriver(result.root);
  output.result({ ...result, mergeDriver }, () => [
    `Initialized dataver repository in ${result.root}`,
    ...(mergeDriver ? ['Set up the data.lock.json merge driver (.gitattributes and .git/config).'] : []),
    `Next: dataver add <data path>, then commit data.lock.json, .gitignore${mergeDriver ? ', .gitattributes' : ''} and .dataver/`,
  ]);
  return 0;
}
