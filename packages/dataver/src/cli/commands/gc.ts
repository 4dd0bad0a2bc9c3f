// dataver gc [--force] [--workspace] [--all-branches] [--all-commits] [--no-run-cache]
// Parses the scope, runs core/gc.ts under the write lock, renders what was (or would be) removed.
import { formatBytes, type Output } from '@dataver/foundation';
import { collectGarbage, type GcScope } from '../../core/gc.js';
import { withWriteLock } from '../../core/write-lock.js';
import { openRepo } from './context.js';

const SCOPE_TEXT: Record<GcScope, string> = {
  workspace: 'the workspace',
  'all-branches': 'all branches and tags',
  'all-commits': 'all commits',
};

export async function run(
  output: Output,
  _args: unknown[],
  options: {
    force?: boolean;
    workspace?: boolean;
    allBranches?: boolean;
    allCommits?: boolean;
    /** False with --no-run-cache. */
    runCache?: boolean;
  },
): Promise<number> {
  const repo = await openRepo();
  const scope: GcScope = options.allCommits
    ? 'all-commits'
    : options.allBranches
      ? 'all-branches'
      : 'workspace';
  const result = await withWriteLock(repo, 'gc', () =>
    collectGarbage(repo, {
      scope,
      force: options.force === true,
      runCache: options.runCache,
      onWarning: (m) => output.warn(m),
    }),
  );
  const kept = `${result.kept} referenced by ${SCOPE_TEXT[scope]}`;
  output.result(result, () =>
    result.objects === 0
      ? `Nothing to remove (kept ${result.kept} object(s) referenced by ${SCOPE_TEXT[scope]}).`
      : result.removed
        ? `removed ${result.objects} object(s), ${formatBytes(result.bytes)}; kept ${kept}`
        : `would remove ${result.objects} object(s), ${formatBytes(result.bytes)}; keeping ${kept} (dry run: add --force to delete)`,
  );
  return 0;
}
