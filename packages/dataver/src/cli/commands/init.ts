// dataver init

import type { Output } from '@dataver/foundation';
import { initRepo } from '../../core/init.js';

export async function run(
  output: Output,
  _args: unknown[],
  options: { gitHooks?: boolean },
): Promise<number> {
  if (options.gitHooks) {
    // In a clone the repository exists already: only the (local) merge driver is missing.
    const { Repo } = await import('../../core/repo.js');
    const existing = await Repo.tryFind(process.cwd());
    if (existing?.root === process.cwd()) {
      const { installMergeDriver } = await import('../../git/merge-driver-setup.js');
      await installMergeDriver(existing.root);
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
  if (options.gitHooks) {
    const { installMergeDriver } = await import('../../git/merge-driver-setup.js');
    await installMergeDriver(result.root);
  }
  output.result(result, () => [
    `Initialized dataver repository in ${result.root}`,
    'Next: dataver add <data path>, then commit data.lock.json, .gitignore and .dataver/',
  ]);
  return 0;
}
