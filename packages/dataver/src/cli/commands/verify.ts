// dataver verify [--remote [name] [--sample N]] [--fix]

import type { Output } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import type { Repo } from '../../core/repo.js';
import { verifyCache } from '../../core/verify.js';
import { withWriteLock } from '../../core/write-lock.js';
import { readLock } from '../../lock/lock-file.js';
import { openRepo } from './context.js';

export async function run(
  output: Output,
  _args: unknown[],
  options: { remote?: string | boolean; fix?: boolean; sample?: number; jobs?: number },
): Promise<number> {
  const repo = await openRepo();
  if (options.remote !== undefined && options.remote !== false)
    return verifyRemoteCommand(output, repo, options);
  if (options.sample !== undefined) {
    throw new DataverError('USAGE', '--sample applies to a remote', {
      hint: 'e.g. dataver verify -r origin --sample 1000',
    });
  }
  const { corrupt, checked, damagedPacks } = await withWriteLock(repo, 'verify', () =>
    verifyCache(repo, { fix: options.fix, progress: output.progress() }),
  );
  if (corrupt.length + damagedPacks.length === 0) {
    output.result(
      { checked, corrupt, missing: [], damagedPacks },
      () => `${checked} object(s) verified, all intact`,
    );
    return 0;
  }
  if (!output.json) {
    for (const h of corrupt) output.info(`corrupt  ${h}`);
    for (const p of damagedPacks) output.info(`damaged pack  ${p}`);
  }
  const packs = damagedPacks.length > 0 ? ` and ${damagedPacks.length} damaged pack(s)` : '';
  throw new DataverError(
    'OBJECT_CORRUPT',
    `${corrupt.length} corrupt object(s) out of ${checked} in the cache${packs}`,
    {
      hint: options.fix
        ? 'the corrupt objects were removed: run `dataver pull` to fetch intact copies'
        : 'run `dataver verify --fix` then `dataver pull`',
      data: { checked, corrupt, missing: [], damagedPacks },
    },
  );
}

async function verifyRemoteCommand(
  output: Output,
  repo: Repo,
  options: { remote?: string | boolean; sample?: number; jobs?: number },
): Promise<number> {
  const { verifyRemote } = require('../../core/transfer.js') as typeof import('../../core/transfer.js');
  const name = typeof options.remote === 'string' ? options.remote : undefined;
  const result = await verifyRemote(repo, await readLock(repo.root), name, {
    sample: options.sample,
    jobs: options.jobs,
    progress: output.progress(),
  });
  const scope = options.sample !== undefined ? `a sample of ${result.hashed}` : `all ${result.hashed}`;
  if (result.corrupt.length + result.missing.length === 0) {
    output.result(
      result,
      () =>
        `remote ${result.remote}: ${result.listed} object(s) stored, ${scope} read and hashed: intact; the ${result.needed} this workspace needs are all there`,
    );
    return 0;
  }
  if (!output.json) {
    for (const p of result.problems) {
      if (p.paths.length === 0) output.info(`${p.state.padEnd(8)} ${p.hash} (not needed by this workspace)`);
      for (const where of p.paths) output.info(`${p.state.padEnd(8)} ${where} (${p.hash.slice(0, 12)})`);
    }
  }
  throw new DataverError(
    result.corrupt.length > 0 ? 'OBJECT_CORRUPT' : 'OBJECT_MISSING',
    `remote ${result.remote}: ${result.corrupt.length} corrupt and ${result.missing.length} missing object(s)${result.paths.length > 0 ? `, needed by ${result.paths.length} workspace path(s)` : ''}`,
    {
      hint: 'run `dataver push` (or `dataver push --repair`) from a clone that has intact copies',
      data: { ...result },
    },
  );
}
