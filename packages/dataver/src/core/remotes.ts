// Remote construction: a remote's name and settings (.dataver/config.json) → the Storage it
// lives on, always inside the one retry layer (storage/retry.ts), the object store's options,
// and its state folder (.dataver/state/remote-index/<name>, copies of index segments).
// `gs://bucket/prefix` is a GCS bucket; a path (relative to the repository root) or a
// `file://` URL is a folder.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataverError } from '@dataver/foundation';
import { DEFAULT_JOBS, RemoteObjectStore, type RemoteObjectStoreOptions } from '../odb/remote.js';
import { LocalStorage } from '../storage/local.js';
import { RetryingStorage, type RetryOptions } from '../storage/retry.js';
import type { Storage } from '../storage/types.js';
import type { RemoteSettings } from './config.js';
import { type Repo, stateDirOf } from './repo.js';

/** Parallel transfers of a GCS remote unless its settings say otherwise (requests, not disks, are what it waits on). */
const GCS_DEFAULT_JOBS = 16;

/** What a remote URL names. */
export type RemoteLocation =
  | { kind: 'gcs'; url: string }
  | { kind: 'local'; folder: string }
  | { kind: 'unsupported'; url: string };

/**
 * What a remote URL names: a GCS bucket, a folder (a path is resolved against `baseDir`), or a
 * scheme dataver does not support.
 *
 * @example
 * locateRemote('gs://bucket/data', root); // { kind: 'gcs', url: 'gs://bucket/data' }
 * locateRemote('../store', '/repo'); // { kind: 'local', folder: '/store' }
 */
export function locateRemote(url: string, baseDir: string): RemoteLocation {
  if (url.startsWith('gs://')) return { kind: 'gcs', url };
  if (url.startsWith('file://')) {
    try {
      return { kind: 'local', folder: fileURLToPath(url) };
    } catch {
      return { kind: 'unsupported', url }; // file://other-host/…: not a folder of this machine
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return { kind: 'unsupported', url };
  return { kind: 'local', folder: path.resolve(baseDir, url) };
}

/** Where a remote is opened from. */
export interface RemoteContext {
  /** The repository root: local paths and credential files resolve against it, the state folder is in it. */
  repoRoot: string;
  /** Environment for credentials and the emulator (`DATAVER_GCS_CREDENTIALS`, `STORAGE_EMULATOR_HOST`, …). */
  env: NodeJS.ProcessEnv;
  /** Retry policy of the retry layer (default: storage/retry.ts's defaults). */
  retry?: RetryOptions;
  /** Where the copies of index segments go (default: the state folder of `repoRoot`). */
  stateDir?: string;
  /**
   * A writer (push, `remote test`) may create a missing folder remote that lies inside the
   * repository (a scratch remote such as `.dataver-remote/`); one outside must always exist.
   */
  createInsideRepo?: boolean;
}

/**
 * The Storage a remote lives on, wrapped in the retry layer.
 *
 * @example
 * const storage = openRemoteStorage('origin', { url: 'gs://bucket/data' }, { repoRoot, env: process.env });
 */
export function openRemoteStorage(name: string, config: RemoteSettings, ctx: RemoteContext): Storage {
  const location = locateRemote(config.url, ctx.repoRoot);
  if (location.kind === 'unsupported') {
    throw new DataverError('CONFIG_INVALID', `remote ${name}: unsupported URL ${config.url}`, {
      hint: 'use gs://bucket/prefix or a local folder path',
    });
  }
  let storage: Storage;
  if (location.kind === 'local') {
    // A typo or an unmounted share must not "succeed" by writing to a new folder of the local disk.
    const inside = !path.relative(ctx.repoRoot, location.folder).startsWith('..');
    if (!existsSync(location.folder) && !(ctx.createInsideRepo && inside)) {
      throw new DataverError('REMOTE_NOT_FOUND', `remote ${name}: folder ${location.folder} does not exist`, {
        hint: `create it if it is a new remote (mkdir -p ${location.folder}), or fix the path: dataver remote modify ${name} url PATH`,
      });
    }
    storage = new LocalStorage(location.folder);
  } else {
    // Loaded only for GCS remotes: the client library is large and slow to import.
    const { GcsStorage } = require('../storage/gcs.js') as typeof import('../storage/gcs.js');
    storage = new GcsStorage({
      url: location.url,
      endpoint: config.endpoint,
      projectId: config.projectId,
      credentials: config.credentials,
      env: ctx.env,
      baseDir: ctx.repoRoot,
      remoteName: name,
    });
  }
  return new RetryingStorage(storage, ctx.retry);
}

/**
 * Opens the object store of a remote: its Storage (see openRemoteStorage), its transfer settings
 * and its index cache in the state folder.
 *
 * @example
 * const remote = openRemote('origin', { url: 'gs://my-bucket/data' }, { repoRoot, env: process.env });
 */
export function openRemote(name: string, config: RemoteSettings, ctx: RemoteContext): RemoteObjectStore {
  const storage = openRemoteStorage(name, config, ctx);
  const gcs = locateRemote(config.url, ctx.repoRoot).kind === 'gcs';
  const options: RemoteObjectStoreOptions = {
    packThreshold: config.packThreshold,
    jobs: config.jobs ?? (gcs ? GCS_DEFAULT_JOBS : DEFAULT_JOBS),
    // Ignored by git (.dataver/state/) and safe to delete: only a cache of immutable segments.
    indexCacheDir: path.join(
      ctx.stateDir ?? stateDirOf(ctx.repoRoot),
      'remote-index',
      encodeURIComponent(name),
    ),
  };
  return new RemoteObjectStore(storage, options);
}

/**
 * A remote name (or the default remote) and its settings.
 *
 * @example
 * const { name, config } = remoteSettings(repo); // the default remote
 */
export function remoteSettings(repo: Repo, name?: string): { name: string; config: RemoteSettings } {
  const chosen = name ?? repo.config.core.remote;
  if (!chosen) {
    throw new DataverError('REMOTE_UNKNOWN', 'no remote given and no default remote configured', {
      hint: 'add one: dataver remote add origin <gs://bucket/prefix | folder> --default',
    });
  }
  const config = repo.config.remotes[chosen];
  if (!config) {
    throw new DataverError('REMOTE_UNKNOWN', `no remote named '${chosen}'`, {
      hint: `known remotes: ${Object.keys(repo.config.remotes).join(', ') || 'none'} (see \`dataver remote add\`)`,
    });
  }
  return { name: chosen, config };
}

/**
 * Opens the object store of a configured remote (or the default one); `jobs` overrides its
 * parallelism, `write` lets a missing folder remote inside the repository be created.
 *
 * @example
 * const { name, store } = openConfiguredRemote(repo, 'origin');
 */
export function openConfiguredRemote(
  repo: Repo,
  name?: string,
  options: { jobs?: number; write?: boolean } = {},
): { name: string; store: RemoteObjectStore } {
  const { name: chosen, config } = remoteSettings(repo, name);
  const settings = options.jobs ? { ...config, jobs: options.jobs } : config;
  const ctx = { repoRoot: repo.root, env: process.env, createInsideRepo: options.write === true };
  return { name: chosen, store: openRemote(chosen, settings, ctx) };
}
