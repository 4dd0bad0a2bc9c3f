// dataver gc [--force]
import { collectGarbage } from '../../core/gc.js';
import { Repo } from '../../core/repo.js';
import { withWriteLock } from '../../core/write-lock.js';
import { readLock } from '../../lock/lock-file.js';
import { formatBytes, type Output } from '../output.js';

export async function run(output: Output, _args: unknown[], options: { force?: boolean }): Promise<number> {
  const repo = await Repo.find(process.cwd());
  const result = await withWriteLock(repo, 'gc', async () =>
    collectGarbage(repo, [await readLock(repo.root)], { force: options.force === true }),
  );
  output.result(result, () =>
    result.objects === 0
      ? 'Nothing to remove.'
      : result.removed
        ? `removed ${result.objects} object(s), ${formatBytes(result.bytes)}`
        : `would remove ${result.objects} object(s), ${formatBytes(result.bytes)} (dry run: add --force to delete)`,
  );
  return 0;
}
