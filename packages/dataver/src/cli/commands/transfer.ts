// dataver push / fetch / pull: each moves what it can, then reports what it could not (exit 3)
// with the workspace paths that need it.

import { DataverError, formatBytes, type Output } from '@dataver/foundation';
import {
  type FetchSummary,
  fetchObjects,
  pull as pullData,
  push as pushData,
  transferProblemsError,
} from '../../core/transfer.js';
import { readWorkspaceLock } from '../../core/workspace-lock.js';
import { withWriteLock } from '../../core/write-lock.js';
import { readLockAtRevision } from '../../git/revisions.js';
import { readLock } from '../../lock/lock-file.js';
import { missingObjectsError } from './checkout.js';
import { openRepo } from './context.js';

interface Options {
  remote?: string;
  jobs?: number;
  force?: boolean;
  rev?: string;
  repair?: boolean;
}

async function context(paths: string[], rev?: string, checked = false) {
  const repo = await openRepo();
  const repoPaths = repo.toRepoSelection(paths);
  const lock = rev
    ? await readLockAtRevision(repo.root, rev)
    : checked
      ? await readWorkspaceLock(repo)
      : await readLock(repo.root);
  return { repo, repoPaths, lock };
}

export async function push(output: Output, [paths]: [string[]], options: Options): Promise<number> {
  const { repo, repoPaths, lock } = await context(paths);
  const summary = await withWriteLock(repo, 'push', () =>
    pushData(repo, lock, repoPaths, {
      remote: options.remote,
      jobs: options.jobs,
      repair: options.repair,
      progress: output.progress(),
    }),
  );
  output.result(summary, () => {
    const repaired = summary.repaired;
    const lines =
      repaired && repaired.missing.length + repaired.corrupt.length > 0
        ? [
            `repaired remote ${summary.remote}: ${repaired.corrupt.length} corrupt and ${repaired.missing.length} missing object(s) sent again`,
          ]
        : [];
    lines.push(
      summary.uploaded === 0
        ? `remote ${summary.remote} is up to date (${summary.objects} object(s))`
        : `pushed ${summary.uploaded} object(s), ${formatBytes(summary.bytes)} in ${summary.packs} pack(s) + loose to ${summary.remote}; ${summary.skipped} already there`,
    );
    return lines;
  });
  return 0;
}

function fetchedLine(summary: FetchSummary): string {
  const resumed = summary.resumedBytes > 0 ? ` (${formatBytes(summary.resumedBytes)} of it resumed)` : '';
  return `fetched ${summary.fetched} object(s), ${formatBytes(summary.bytes)}${resumed} from ${summary.remote}`;
}

/** Throws the transfer's problems, with the summary of what did work in the JSON error. */
function throwProblems(output: Output, error: DataverError, summary: object): never {
  if (output.json) {
    throw new DataverError(error.code, error.message, { hint: error.hint, data: { ...error.data, summary } });
  }
  throw error;
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
  const problems = transferProblemsError(summary);
  if (problems) {
    output.info(fetchedLine(summary));
    throwProblems(output, problems, summary);
  }
  output.result(summary, () => fetchedLine(summary));
  return 0;
}

export async function pull(output: Output, [paths]: [string[]], options: Options): Promise<number> {
  const { repo, repoPaths, lock } = await context(paths, options.rev, true);
  const summary = await withWriteLock(repo, 'pull', () =>
    pullData(repo, lock, repoPaths, {
      remote: options.remote,
      jobs: options.jobs,
      force: options.force,
      progress: output.progress(),
      onWarning: (m) => output.warn(m),
    }),
  );
  const lines = [
    fetchedLine(summary),
    `restored ${summary.checkout.restored} file(s), ${summary.checkout.unchanged} already up to date`,
  ];
  // What the remote could not give is named with its paths; the rest is checked out already.
  const problems =
    transferProblemsError(summary) ??
    (summary.checkout.missing.length > 0 ? missingObjectsError(summary.checkout.missing) : undefined);
  if (problems) {
    for (const line of lines) output.info(line);
    throwProblems(output, problems, summary);
  }
  output.result(summary, () => lines);
  return 0;
}
