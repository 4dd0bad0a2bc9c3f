// dataver verify [--remote name] [--fix]

import type { Output } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import { Repo } from '../../core/repo.js';
import { verifyCache } from '../../core/verify.js';
import { withWriteLock } from '../../core/write-lock.js';

export async function run(
  output: Output,
  _args: unknown[],
  options: { remote?: string; fix?: boolean },
): Promise<number> {
  const repo = await Repo.find(process.cwd());
  let corrupt: string[];
  let missing: string[] = [];
  let checked: number;
  if (options.remote) {
    const { verifyRemote } = await import('../../core/transfer.js');
    ({ corrupt, missing, checked } = await verifyRemote(repo, options.remote, output.progress()));
  } else {
    const result = await withWriteLock(repo, 'verify', () =>
      verifyCache(repo, { fix: options.fix, progress: output.progress() }),
    );
    ({ corrupt, checked } = result);
  }
  if (corrupt.length + missing.length === 0) {
    output.result({ checked, corrupt, missing }, () => `${checked} object(s) verified, all intact`);
  } else {
    if (!output.json)
      for (const line of [...corrupt.map((h) => `corrupt  ${h}`), ...missing.map((h) => `missing  ${h}`)])
        output.info(line);
    throw new DataverError(
      corrupt.length > 0 ? 'OBJECT_CORRUPT' : 'OBJECT_MISSING',
      `${corrupt.length} corrupt and ${missing.length} missing object(s) out of ${checked}`,
      {
        hint: options.remote
          ? 'push again from a clone that has intact copies (`dataver push`)'
          : options.fix
            ? 'the corrupt objects were removed: run `dataver pull` to fetch intact copies'
            : 'run `dataver verify --fix` then `dataver pull`',
        data: { checked, corrupt, missing },
      },
    );
  }
  return 0;
}
