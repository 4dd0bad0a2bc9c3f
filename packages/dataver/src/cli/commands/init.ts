// dataver init
import { initRepo } from '../../core/init.js';
import type { Output } from '../output.js';

export async function run(
  output: Output,
  _args: unknown[],
  options: { gitHooks?: boolean },
): Promise<number> {
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
