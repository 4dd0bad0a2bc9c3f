// push / fetch / pull / status --remote / verify --remote: one code path that
// moves the objects a lock needs between the cache and a remote object store.
import type { Progress } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import type { Lock } from '../lock/schema.js';
import type { TransferProgress } from '../odb/remote.js';
import { type CheckoutResult, checkout } from './checkout.js';
import { neededObjects } from './objects.js';
import { openConfiguredRemote } from './remotes.js';
import type { Repo } from './repo.js';

export interface TransferOptions {
  remote?: string;
  jobs?: number;
  progress?: Progress;
  /** Filled with the hashes of objects fetched and verified by this call. */
  verified?: Set<string>;
}

export interface PushSummary {
  remote: string;
  objects: number;
  uploaded: number;
  skipped: number;
  bytes: number;
  packs: number;
}

/**
 * Uploads the cached objects of the selected outputs that the remote lacks.
 *
 * @example
 * const summary = await push(repo, lock, undefined, { remote: 'origin' });
 */
export async function push(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: TransferOptions = {},
): Promise<PushSummary> {
  const { objects, missingManifests } = await neededObjects(repo, lock, repoPaths);
  const notCached = [
    ...missingManifests.map((m) => ({ hash: m.hash, path: m.path })),
    ...objects.filter((o) => !repo.cache.has(o.hash)),
  ];
  const [example] = notCached;
  if (example !== undefined) {
    throw new DataverError(
      'OBJECT_MISSING',
      `cannot push: ${notCached.length} object(s) are not in the local cache (e.g. ${example.path})`,
      {
        hint: 'run `dataver pull` or `dataver add` for those outputs first',
        data: { missing: notCached.map((o) => o.hash) },
      },
    );
  }
  const { name, store } = openConfiguredRemote(repo, options.remote, { jobs: options.jobs });
  try {
    const result = await store.push(
      objects.map((o) => ({ hash: o.hash, size: o.size })),
      (hash) => repo.cache.objectPath(hash),
      { onProgress: progressReporter(options.progress, 'pushing') },
    );
    options.progress?.stop();
    return { remote: name, objects: objects.length, ...result };
  } finally {
    await store.close();
  }
}

export interface FetchSummary {
  remote: string;
  objects: number;
  fetched: number;
  bytes: number;
}

/**
 * Downloads the objects of the selected outputs that the cache lacks (manifests first, then
 * the files they list). Every object is verified before it enters the cache; missing or corrupt
 * objects fail the command with exit 3, naming them.
 *
 * @example
 * await fetchObjects(repo, lock);
 */
export async function fetchObjects(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: TransferOptions = {},
): Promise<FetchSummary> {
  const { name, store } = openConfiguredRemote(repo, options.remote, { jobs: options.jobs, mustExist: true });
  await repo.cache.ensureDirs();
  const tmpDir = repo.cache.downloadDir;
  const verified = options.verified ?? new Set<string>();
  let fetched = 0;
  let bytes = 0;
  let total = 0;
  try {
    // Round 1 fetches missing directory manifests; round 2 the files they (and the lock) name.
    for (let round = 0; round < 2; round++) {
      const { objects, missingManifests } = await neededObjects(repo, lock, repoPaths);
      const wanted =
        round === 0
          ? missingManifests.map((m) => ({ hash: m.hash, size: 0, path: m.path }))
          : objects.filter((o) => !repo.cache.has(o.hash));
      if (round === 1 && missingManifests.length > 0)
        throw missingError(
          name,
          missingManifests.map((m) => m.hash),
          missingManifests,
        );
      if (round === 1) total = objects.length;
      if (wanted.length === 0) continue;
      // Round 0 (manifests) is small and quick: only the files get a bar.
      const onProgress = round === 0 ? undefined : progressReporter(options.progress, 'fetching');
      const result = await store.fetch(
        wanted.map((o) => ({ hash: o.hash, size: o.size })),
        (hash, tmpPath) => {
          verified.add(hash);
          return repo.cache.acceptVerified(hash, tmpPath);
        },
        { tmpDir, onProgress },
      );
      options.progress?.stop();
      fetched += result.fetched;
      bytes += result.bytes;
      if (result.corrupt.length > 0) {
        throw new DataverError(
          'OBJECT_CORRUPT',
          `${result.corrupt.length} object(s) on remote ${name} are corrupt (their bytes do not match their hash): ${describeObjects(result.corrupt, wanted)}`,
          {
            hint: 'they were not written to the cache; push intact copies from a clone that has them',
            data: { corrupt: result.corrupt },
          },
        );
      }
      if (result.missing.length > 0) throw missingError(name, result.missing, wanted);
    }
  } finally {
    await store.close();
  }
  return { remote: name, objects: total, fetched, bytes };
}

function missingError(
  remote: string,
  missing: string[],
  known: Array<{ hash: string; path: string }>,
): DataverError {
  return new DataverError(
    'OBJECT_MISSING',
    `${missing.length} object(s) are missing from remote ${remote}: ${describeObjects(missing, known)}`,
    { hint: 'push them from a clone that has them (`dataver push`)', data: { missing } },
  );
}

function describeObjects(hashes: string[], known: Array<{ hash: string; path: string }>): string {
  const byHash = new Map(known.map((k) => [k.hash, k.path]));
  const shown = hashes.slice(0, 3).map((h) => `${byHash.get(h) ?? '?'} (${h.slice(0, 12)})`);
  return shown.join(', ') + (hashes.length > 3 ? `, … (${hashes.length - 3} more)` : '');
}

/** fetch + checkout. */
export async function pull(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: TransferOptions & { force?: boolean } = {},
): Promise<FetchSummary & { checkout: CheckoutResult }> {
  const verified = new Set<string>();
  const fetched = await fetchObjects(repo, lock, repoPaths, { ...options, verified });
  const result = await checkout(repo, lock, repoPaths, {
    force: options.force,
    progress: options.progress,
    verified,
  });
  return { ...fetched, checkout: result };
}

/** Which needed objects the remote lacks, per its index. */
export async function remoteStatus(
  repo: Repo,
  lock: Lock,
  repoPaths: string[] | undefined,
  remoteName?: string,
): Promise<{ name: string; missing: number; missingHashes: string[] }> {
  const { objects } = await neededObjects(repo, lock, repoPaths);
  const { name, store } = openConfiguredRemote(repo, remoteName, { mustExist: true });
  try {
    const has = await store.has(objects.map((o) => o.hash));
    const missingHashes = objects.filter((o) => !has.has(o.hash)).map((o) => o.hash);
    return { name, missing: missingHashes.length, missingHashes };
  } finally {
    await store.close();
  }
}

/** Re-hashes the objects of a remote. */
export async function verifyRemote(repo: Repo, remoteName: string, progress?: Progress) {
  const { store } = openConfiguredRemote(repo, remoteName, { mustExist: true });
  try {
    return await store.verify({ onProgress: progressReporter(progress, 'verifying') });
  } finally {
    progress?.stop();
    await store.close();
  }
}

/**
 * Turns the store's cumulative progress reports into a bar: started at the first report,
 * then ticked by the increments since the previous one.
 */
function progressReporter(progress: Progress | undefined, label: string): (p: TransferProgress) => void {
  let last: TransferProgress | undefined;
  return (p) => {
    if (!progress) return;
    if (!last) progress.start(label, p.totalObjects, p.totalBytes);
    progress.tick(Math.max(0, p.objects - (last?.objects ?? 0)), Math.max(0, p.bytes - (last?.bytes ?? 0)));
    last = p;
  };
}
