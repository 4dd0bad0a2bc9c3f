// push / fetch / pull / status --remote / verify --remote: one code path that
// moves the objects a lock needs between the cache and a remote object store.
// A missing or corrupt object never stops the others: fetch gets what it can, pull checks out
// what it got, and both then report the rest (exit 3) with the workspace paths that need it.
import type { Progress } from '@dataver/foundation';
import { DataverError } from '@dataver/foundation';
import type { Lock } from '../lock/schema.js';
import type { ObjectCache } from '../odb/cache.js';
import type { ManifestEntry } from '../odb/manifest.js';
import type { RemoteObjectStore, TransferProgress } from '../odb/remote.js';
import { type CheckoutOptions, type CheckoutResult, checkout } from './checkout.js';
import { type NeededObject, neededObjects, pathsOf } from './objects.js';
import { openConfiguredRemote } from './remotes.js';
import type { Repo } from './repo.js';

export interface TransferOptions {
  remote?: string;
  jobs?: number;
  progress?: Progress;
  /** Filled with the hashes of objects fetched and verified by this call. */
  verified?: Set<string>;
  /**
   * Filled with the bytes of small verified objects, up to HELD_BYTES in all, so that a checkout
   * right after writes their files without reading them back from the cache.
   */
  verifiedBytes?: Map<string, Buffer>;
  /** Filled with the directory manifests read on the way (by hash), for a checkout right after. */
  manifests?: Map<string, ManifestEntry[]>;
}

/**
 * Memory a pull may spend on keeping downloaded objects for its checkout. 64 MiB covers 10 000
 * files of 4 KiB; past it, the checkout reads the cache's copy back, which costs far less than
 * creating the file. At 128 MiB a pull of 100 000 such files peaked at 636 MiB, at 64 MiB at
 * 456 MiB (both with a second copy on the cache's writer thread, which packs no longer need).
 */
const HELD_BYTES = 64 * 1024 * 1024;

export interface PushSummary {
  remote: string;
  objects: number;
  uploaded: number;
  skipped: number;
  bytes: number;
  packs: number;
  /** With `repair`: copies on the remote found missing or corrupt (and so uploaded again). */
  repaired?: { missing: string[]; corrupt: string[] };
}

/**
 * Uploads the cached objects of the selected outputs that the remote lacks. With `repair`, the
 * remote copies of those objects are first read and hashed, and missing or corrupt ones are sent
 * again.
 *
 * @example
 * const summary = await push(repo, lock, undefined, { remote: 'origin' });
 */
export async function push(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: TransferOptions & { repair?: boolean } = {},
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
  const { name, store } = openConfiguredRemote(repo, options.remote, { jobs: options.jobs, write: true });
  try {
    let repaired: PushSummary['repaired'];
    if (options.repair) {
      const audit = await store.verify({
        needed: objects.map((o) => o.hash),
        onlyNeeded: true,
        onProgress: progressReporter(options.progress, 'verifying'),
      });
      options.progress?.stop();
      repaired = { missing: audit.missing, corrupt: audit.corrupt };
    }
    // The needed objects themselves (a copy of each costs ~40 B a file).
    const result = await store.push(objects, (hash) => repo.cache.objectPath(hash), {
      onProgress: progressReporter(options.progress, 'pushing'),
      packedBytes: (hash) => repo.cache.packed(hash),
    });
    options.progress?.stop();
    return { remote: name, objects: objects.length, ...result, ...(repaired ? { repaired } : {}) };
  } finally {
    await store.close();
  }
}

/** An object a transfer could not deliver, with the workspace paths that need it. */
export interface TransferProblem {
  hash: string;
  paths: string[];
}

export interface FetchSummary {
  remote: string;
  objects: number;
  fetched: number;
  bytes: number;
  /** Bytes of interrupted downloads that were resumed rather than fetched again. */
  resumedBytes: number;
  /** Objects the remote does not have. */
  missing: TransferProblem[];
  /** Objects whose remote copies do not match their hash (never written to the cache). */
  corrupt: TransferProblem[];
}

/**
 * Downloads the objects of the selected outputs that the cache lacks (manifests first, then
 * the files they list). Every object is verified before it enters the cache; missing and corrupt
 * objects do not stop the others and are returned with the paths that need them (see
 * `transferProblemsError` to turn them into exit 3).
 *
 * @example
 * const { missing, corrupt } = await fetchObjects(repo, lock);
 */
export async function fetchObjects(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: TransferOptions = {},
): Promise<FetchSummary> {
  const { name, store } = openConfiguredRemote(repo, options.remote, { jobs: options.jobs });
  // Links need loose objects to point at: packs only where workspace files are copies.
  const packSmall = repo.config.cache.link === 'copy' || repo.config.cache.link === 'reflink';
  try {
    return await fetchInto(repo.cache, store, name, lock, repoPaths, { ...options, packSmall });
  } finally {
    await store.close();
  }
}

/**
 * fetchObjects from any object store into any cache (a data registry's remote into this
 * repository's cache, or into a scratch one).
 *
 * @example
 * const summary = await fetchInto(repo.cache, store, 'registry', lock, ['data/raw']);
 */
export async function fetchInto(
  cache: ObjectCache,
  store: RemoteObjectStore,
  name: string,
  lock: Lock,
  repoPaths?: string[],
  options: Pick<TransferOptions, 'progress' | 'verified' | 'verifiedBytes' | 'manifests'> & {
    /** Only the directory manifests (what a listing of the files needs). */
    manifestsOnly?: boolean;
    /**
     * Keep the small files' objects whole in the cache's packs (one file per few MiB) rather than
     * a file each; manifests stay loose files either way.
     */
    packSmall?: boolean;
  } = {},
): Promise<FetchSummary> {
  await cache.ensureDirs();
  const verified = options.verified ?? new Set<string>();
  const summary: FetchSummary = {
    remote: name,
    objects: 0,
    fetched: 0,
    bytes: 0,
    resumedBytes: 0,
    missing: [],
    corrupt: [],
  };
  const repoLike = { cache };
  // Round 1 fetches missing directory manifests; round 2 the files they (and the lock) name.
  const manifests = (await neededObjects(repoLike, lock, repoPaths)).missingManifests;
  await fetchRound(
    cache,
    store,
    manifests.map((m) => ({ hash: m.hash, size: 0, path: m.path })),
    summary,
    verified,
  );
  const { objects, missingManifests } = await neededObjects(repoLike, lock, repoPaths, options.manifests);
  // A manifest that could not be fetched hides its files: the output itself is what is missing.
  const reported = new Set([...summary.missing, ...summary.corrupt].map((p) => p.hash));
  for (const m of missingManifests)
    if (!reported.has(m.hash)) summary.missing.push({ hash: m.hash, paths: [m.path] });
  summary.objects = objects.length;
  if (options.manifestsOnly) return summary;
  try {
    await fetchRound(
      cache,
      store,
      objects.filter((o) => !cache.has(o.hash)),
      summary,
      verified,
      progressReporter(options.progress, 'fetching'),
      options.verifiedBytes,
      options.packSmall,
    );
  } catch (error) {
    // Closes the open pack even when the round failed (what it holds was verified); the round's
    // error is the one to report.
    if (options.packSmall) await cache.finishWrites().catch(() => undefined);
    throw error;
  }
  if (options.packSmall) await cache.finishWrites();
  options.progress?.stop();
  return summary;
}

async function fetchRound(
  cache: ObjectCache,
  store: RemoteObjectStore,
  wanted: NeededObject[],
  summary: FetchSummary,
  verified: Set<string>,
  onProgress?: (p: TransferProgress) => void,
  held?: Map<string, Buffer>,
  packSmall = false,
): Promise<void> {
  if (wanted.length === 0) return;
  let heldBytes = 0;
  const result = await store.fetch(
    wanted,
    (hash, tmpPath) => {
      verified.add(hash);
      return cache.acceptVerified(hash, tmpPath);
    },
    {
      tmpDir: cache.downloadDir,
      onProgress,
      acceptBytes: async (hash, bytes) => {
        verified.add(hash);
        // Kept for the checkout, which writes the workspace copy from memory; packed objects are
        // read back from their pack instead (one pread each, against holding up to 64 MiB).
        const hold = !packSmall && held !== undefined && heldBytes + bytes.length <= HELD_BYTES;
        if (hold) {
          held.set(hash, bytes);
          heldBytes += bytes.length;
        }
        if (packSmall) {
          cache.acceptVerifiedBytesPacked(hash, bytes);
          await cache.packRoom();
        }
        // Another thread writes the cache's copy meanwhile (the pull waits for it: finishWrites).
        else if (hold) cache.acceptVerifiedBytesLater(hash, bytes);
        else cache.acceptVerifiedBytes(hash, bytes);
      },
    },
  );
  // Built only when something failed: a map of every object costs ~100 B a file.
  let paths: Map<string, string[]> | undefined;
  const problem = (hash: string) => {
    paths ??= new Map(wanted.map((o) => [o.hash, pathsOf(o)]));
    return { hash, paths: paths.get(hash) ?? [] };
  };
  summary.fetched += result.fetched;
  summary.bytes += result.bytes;
  summary.resumedBytes += result.resumedBytes;
  summary.missing.push(...result.missing.map(problem));
  summary.corrupt.push(...result.corrupt.map(problem));
}

/**
 * The error for objects a transfer could not deliver (exit 3), naming the paths that need them;
 * undefined when there are none.
 *
 * @example
 * const error = transferProblemsError(summary); if (error) throw error;
 */
export function transferProblemsError(summary: {
  remote: string;
  missing: TransferProblem[];
  corrupt: TransferProblem[];
}): DataverError | undefined {
  const { remote, missing, corrupt } = summary;
  if (missing.length + corrupt.length === 0) return undefined;
  const paths = [...missing, ...corrupt].flatMap((p) => p.paths).sort();
  const data = {
    missing: missing.map((p) => p.hash),
    corrupt: corrupt.map((p) => p.hash),
    paths,
  };
  if (corrupt.length > 0) {
    return new DataverError(
      'OBJECT_CORRUPT',
      `${corrupt.length} object(s) on remote ${remote} are corrupt (their bytes do not match their hash)${missing.length > 0 ? ` and ${missing.length} missing` : ''}: ${describePaths(paths)}`,
      {
        hint: 'they were not written to the cache; run `dataver push --repair` from a clone that has them',
        data,
      },
    );
  }
  return new DataverError(
    'OBJECT_MISSING',
    `${missing.length} object(s) are missing from remote ${remote}: ${describePaths(paths)}`,
    { hint: 'push them from a clone that has them (`dataver push`)', data },
  );
}

function describePaths(paths: string[]): string {
  return paths.slice(0, 3).join(', ') + (paths.length > 3 ? `, … (${paths.length - 3} more)` : '');
}

/**
 * fetch + checkout of everything that arrived: a missing object leaves only its own files out.
 *
 * @example
 * const summary = await pull(repo, lock); const error = transferProblemsError(summary);
 */
export async function pull(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: TransferOptions & Pick<CheckoutOptions, 'force' | 'onWarning'> = {},
): Promise<FetchSummary & { checkout: CheckoutResult }> {
  const verified = new Set<string>();
  const verifiedBytes = new Map<string, Buffer>();
  // The checkout works from the manifests the fetch parsed: one copy of every file's hash, shared
  // with `verified`, rather than two (the difference is hundreds of MiB at a million files).
  const manifests = new Map<string, ManifestEntry[]>();
  let outcome: FetchSummary & { checkout: CheckoutResult };
  try {
    const fetched = await fetchObjects(repo, lock, repoPaths, {
      ...options,
      verified,
      verifiedBytes,
      manifests,
    });
    const result = await checkout(repo, lock, repoPaths, {
      force: options.force,
      progress: options.progress,
      verified,
      verifiedBytes,
      manifests,
      onWarning: options.onWarning,
    });
    outcome = { ...fetched, checkout: result };
  } catch (error) {
    // The cache's copies of what arrived are still written; the first error is the one to report.
    await repo.cache.finishWrites().catch(() => undefined);
    throw error;
  }
  await repo.cache.finishWrites();
  return outcome;
}

/** Which needed objects the remote lacks, per its index. */
export async function remoteStatus(
  repo: Repo,
  lock: Lock,
  repoPaths: string[] | undefined,
  remoteName?: string,
): Promise<{ name: string; missing: number; missingHashes: string[]; missingPaths: string[] }> {
  const { objects } = await neededObjects(repo, lock, repoPaths);
  const { name, store } = openConfiguredRemote(repo, remoteName);
  try {
    const has = await store.has(objects.map((o) => o.hash));
    const lacking = objects.filter((o) => !has.has(o.hash));
    return {
      name,
      missing: lacking.length,
      missingHashes: lacking.map((o) => o.hash),
      missingPaths: lacking.flatMap(pathsOf).sort(),
    };
  } finally {
    await store.close();
  }
}

export interface RemoteVerifySummary {
  remote: string;
  /** Objects the remote stores (by a listing). */
  listed: number;
  /** Objects read and hashed. */
  hashed: number;
  /** Objects the workspace lock needs. */
  needed: number;
  missing: string[];
  corrupt: string[];
  /** Workspace paths that need a missing or corrupt object. */
  paths: string[];
  /** Each missing or corrupt object with the workspace paths that need it (none: not needed here). */
  problems: Array<{ hash: string; state: 'missing' | 'corrupt'; paths: string[] }>;
  /** True when bad copies were dropped from the remote index (a push then sends them again). */
  repaired: boolean;
}

/**
 * Reads and re-hashes what the remote stores (every object, or `sample` of them, those the
 * workspace needs first) and checks that each object the workspace lock needs is there.
 *
 * @example
 * const { missing, corrupt, paths } = await verifyRemote(repo, lock, 'origin');
 */
export async function verifyRemote(
  repo: Repo,
  lock: Lock,
  remoteName: string | undefined,
  options: { sample?: number; progress?: Progress; jobs?: number } = {},
): Promise<RemoteVerifySummary> {
  const { name, store } = openConfiguredRemote(repo, remoteName, { jobs: options.jobs });
  try {
    // Manifests the cache lacks are read (and verified) from the remote, so their files count too.
    const manifests = (await neededObjects(repo, lock)).missingManifests;
    if (manifests.length > 0) {
      await repo.cache.ensureDirs();
      await store.fetch(
        manifests.map((m) => ({ hash: m.hash, size: 0 })),
        (hash, tmp) => repo.cache.acceptVerified(hash, tmp),
        { tmpDir: repo.cache.downloadDir },
      );
    }
    const { objects, missingManifests } = await neededObjects(repo, lock);
    const result = await store.verify({
      needed: [...objects.map((o) => o.hash), ...missingManifests.map((m) => m.hash)],
      sample: options.sample,
      onProgress: progressReporter(options.progress, 'verifying'),
    });
    options.progress?.stop();
    const byHash = new Map<string, string[]>(objects.map((o) => [o.hash, pathsOf(o)]));
    for (const m of missingManifests) byHash.set(m.hash, [m.path]);
    const problems = [
      ...result.corrupt.map((hash) => ({ hash, state: 'corrupt' as const, paths: byHash.get(hash) ?? [] })),
      ...result.missing.map((hash) => ({ hash, state: 'missing' as const, paths: byHash.get(hash) ?? [] })),
    ];
    const paths = problems.flatMap((p) => p.paths).sort();
    return {
      remote: name,
      listed: result.listed,
      hashed: result.checked,
      needed: objects.length + missingManifests.length,
      missing: result.missing,
      corrupt: result.corrupt,
      paths: [...new Set(paths)],
      problems,
      repaired: result.repaired,
    };
  } finally {
    options.progress?.stop();
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
