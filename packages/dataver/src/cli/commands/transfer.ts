// dataver push / fetch / pull

import { formatBytes, type Output } from '@dataver/foundation';
import { Repo } from '../../core/repo.js';
import { fetchObjects, pull as pullData, push as pushData } from '../../core/transfer.js';
import { withWriteLock } from '../../core/write-lock.js';
import { readLockAtRevision } from '../../git/revisions.js';
import { readLock } from '../../lock/lock-file.js';
import { missingObjectsError } from './checkout.js';

interface Options {
  remote?: string;
  jobs?: number;
  force?: boolean;
  rev?: string;
}

async function context(paths: string[], rev?: string) {
  const repo = await Repo.find(process.cwd());
  const repoPaths = repo.toRepoSelection(paths);
  const lock = rev ? await readLockAtRevision(repo.root, rev) : await readLock(repo.root);
  return { repo, repoPaths, lock };
}

export async function push(output: Output, [paths]: [string[]], options: Options): Promise<number> {
  const { repo, repoPaths, lock } = await context(paths);
  const summary = await withWriteLock(repo, 'push', () =>
    pushData(repo, lock, repoPaths, {
      remote: options.remote,
      jobs: options.jobs,
      progress: output.progress(),
    }),
  );
  output.result(summary, () =>
    summary.uploaded === 0
      ? `remote ${summary.remote} is up to date (${summary.objects} object(s))`
      : `pushed ${summary.uploaded} object(s), ${formatBytes(summary.bytes)} in ${summary.packs} pack(s) + loose to ${summary.remote}; ${summary.skipped} already there`,
  );
  return 0;
}

export async function fetch(output: Output, [paths]: [string[]], options: Options): Promise<number> {
  const { repo, repoPaths, lock } = await context(paths);
  const summary = await withWriteLock(repo, 'fetch', () =>
    fetchObjects(repo, lock, repoPaths, {
      remote: options.remote,
      jobs: options.jobs,
      progress: output.progress(),
    }),
  );
  output.result(
    summary,
    () => `fetched ${summary.fetched} object(s), ${formatBytes(summary.bytes)} from ${summary.remote}`,
  );
  return 0;
}

export async function pull(output: Output, [paths]: [string[]], options: Options): Promise<number> {
  const { repo, repoPaths, lock } = await context(paths, options.rev);
  const summary = await withWriteLock(repo, 'pull', () =>
    pullData(repo, lock, repoPaths, {
      remote: options.remote,
      jobs: options.jobs,
      force: options.force,
      progress: output.progress(),
    }),
  );
  if (summary.checkout.missing.length === 0)
    output.result(summary, () => [
      `fetched ${summary.fetched} object(s), ${formatBytes(summary.bytes)} from ${summary.remote}`,
      `restored ${summary.checkout.restored} file(s), ${summary.checkout.unchanged} already up to date`,
    ]);
  if (summary.checkout.missing.length > 0) throw missingObjectsError(summary.checkout.missing);
  return 0;
}
