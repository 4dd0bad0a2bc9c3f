// Data registries: data tracked by dataver in another git repository, read without checking it
// out — `ls` lists it, `get` copies it into a plain folder, `import` tracks it here with its
// source (repository, revision, commit, path) and `update` moves it to the revision's newest
// commit. The other repository is cloned without a work tree into a scratch folder; its lock and
// config are read at the commit, and its objects come from its default remote, verified.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataverError, type Progress, renameWithRetry, tmpNameFor } from '@dataver/foundation';
import { complaint, runGit } from '../git/git.js';
import { readFileAtRevision } from '../git/revisions.js';
import { emptyLock } from '../lock/accept.js';
import { LOCK_FILE, parseLock } from '../lock/lock-file.js';
import { isSameOrInside } from '../lock/paths.js';
import type { ImportSource, Lock, OutputEntry } from '../lock/schema.js';
import { ObjectCache } from '../odb/cache.js';
import type { ManifestEntry } from '../odb/manifest.js';
import { CONFIG_FILE, type Config, defaultConfig } from './config.js';
import { configSchema } from './config-schema.js';
import { locateRemote, openRemote } from './remotes.js';
import { selectOutputs } from './status.js';
import { type FetchSummary, fetchInto, transferProblemsError } from './transfer.js';

/** Another repository, read at one commit. */
export interface RegistryRepo {
  url: string;
  rev?: string;
  commit: string;
  lock: Lock;
  config: Config;
  /** Where the clone and scratch files live; removed by `close`. */
  scratch: string;
  close(): Promise<void>;
}

/** A local folder a URL names (a relative remote folder of the registry resolves against it), if any. */
function localFolder(url: string): string | undefined {
  if (url.startsWith('file://')) return fileURLToPath(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^:]+:/.test(url)) return undefined;
  return path.resolve(url);
}

/**
 * Clones `url` (no work tree) and reads its lock and config at `rev` (default: its default branch).
 *
 * @example
 * const registry = await openRegistry('https://github.com/acme/datasets', 'v2');
 * try { console.log(Object.keys(registry.lock.outputs)); } finally { await registry.close(); }
 */
export async function openRegistry(url: string, rev?: string): Promise<RegistryRepo> {
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'dataver-registry-'));
  const close = () => fsp.rm(scratch, { recursive: true, force: true });
  try {
    const clone = path.join(scratch, 'repo');
    const source = localFolder(url) ?? url;
    const cloned = await runGit(scratch, ['clone', '--quiet', '--no-checkout', '--', source, clone]);
    if (cloned.code !== 0) {
      throw new DataverError('REMOTE_UNREACHABLE', `cannot clone ${url}: ${complaint(cloned.stderr)}`, {
        hint: 'check the URL and your git credentials for it (`git clone` it by hand to see)',
      });
    }
    const commit = await resolveIn(clone, rev);
    const text = await readFileAtRevision(clone, commit, LOCK_FILE);
    const configText = await readFileAtRevision(clone, commit, CONFIG_FILE);
    if (configText === undefined) {
      throw new DataverError(
        'NOT_A_REPO',
        `${url}${rev ? ` at ${rev}` : ''} is not a dataver repository (no ${CONFIG_FILE})`,
        {
          hint: 'give the repository that tracks the data (dataver init and a committed .dataver/ there)',
        },
      );
    }
    const config = parseRegistryConfig(configText, url);
    const lock = text === undefined ? emptyLock() : parseLock(text, `${LOCK_FILE} of ${url}`);
    return { url, rev, commit, lock, config, scratch, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function parseRegistryConfig(text: string, url: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return defaultConfig();
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new DataverError('CONFIG_INVALID', `${CONFIG_FILE} of ${url} is invalid`, {
      hint: 'fix it in that repository',
    });
  }
  return parsed.data;
}

/** The commit of `rev` in a fresh clone: a tag or commit, a local branch, or a branch of origin. */
async function resolveIn(clone: string, rev: string | undefined): Promise<string> {
  for (const candidate of rev === undefined ? ['HEAD'] : [rev, `origin/${rev}`]) {
    if (candidate.startsWith('-')) break;
    const run = await runGit(clone, ['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`]);
    const commit = run.stdout.toString('utf8').trim();
    if (run.code === 0 && /^[0-9a-f]{40,64}$/.test(commit)) return commit;
  }
  throw new DataverError('USAGE', `unknown revision '${rev ?? 'HEAD'}' in the repository`, {
    hint: 'give a branch, tag or commit that exists there',
  });
}

/** A file of the selection: its path in the registry, its place relative to the chosen path, its object. */
export interface SelectedFile {
  /** Path in the registry repository. */
  path: string;
  /** Relative to the chosen path ('' when the chosen path is this file). */
  rel: string;
  hash: string;
  size: number;
}

/**
 * The outputs of a lock that cover `wanted` (equal, inside or containing it), or a clear error.
 *
 * @example
 * const outputs = outputsCovering(registry.lock, 'data/raw', registry.url);
 */
export function outputsCovering(lock: Lock, wanted: string, url: string): Array<[string, OutputEntry]> {
  try {
    return selectOutputs(lock, [wanted]);
  } catch {
    throw new DataverError('NOT_TRACKED', `${wanted} is not tracked by dataver in ${url}`, {
      hint: `list what is: dataver ls ${url}`,
    });
  }
}

/**
 * The files at or below `wanted` of some outputs (whose manifests are in `cache`), relative to it.
 *
 * @example
 * const files = await selectFiles(cache, outputs, 'data/raw');
 */
export async function selectFiles(
  cache: ObjectCache,
  outputs: Array<[string, OutputEntry]>,
  wanted: string,
): Promise<SelectedFile[]> {
  const files: SelectedFile[] = [];
  for (const [outPath, entry] of outputs) {
    const all =
      entry.kind === 'file'
        ? [{ path: outPath, hash: entry.hash, size: entry.size }]
        : (await cache.readManifest(entry.hash)).map((e) => ({
            path: `${outPath}/${e.path}`,
            hash: e.hash,
            size: e.size,
          }));
    for (const f of all) {
      if (!isSameOrInside(f.path, wanted)) continue;
      files.push({ ...f, rel: f.path === wanted ? '' : f.path.slice(wanted.length + 1) });
    }
  }
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/**
 * Fetches what `wanted` needs from the registry's default remote into `cache`; missing or
 * corrupt objects are an error (exit 3) naming the paths.
 *
 * @example
 * await fetchFromRegistry(registry, cache, 'data/raw');
 */
export async function fetchFromRegistry(
  registry: RegistryRepo,
  cache: ObjectCache,
  wanted: string | undefined,
  options: { jobs?: number; manifestsOnly?: boolean; progress?: Progress } = {},
): Promise<FetchSummary> {
  const name = registry.config.core.remote;
  const settings = name ? registry.config.remotes[name] : undefined;
  if (!name || !settings) {
    throw new DataverError('REMOTE_UNKNOWN', `${registry.url} has no default remote to get the data from`, {
      hint: 'its .dataver/config.json must name one (dataver remote add … --default, committed)',
    });
  }
  const base = localFolder(registry.url);
  const location = locateRemote(settings.url, base ?? registry.scratch);
  if (location.kind === 'local' && base === undefined && !path.isAbsolute(settings.url)) {
    throw new DataverError(
      'CONFIG_INVALID',
      `the remote of ${registry.url} is a folder relative to that repository (${settings.url})`,
      {
        hint: 'such a registry can be read from a local clone of it only: dataver get <folder of the clone> …',
      },
    );
  }
  const store = openRemote(
    name,
    { ...settings, ...(options.jobs ? { jobs: options.jobs } : {}) },
    {
      repoRoot: base ?? registry.scratch,
      env: process.env,
      stateDir: path.join(registry.scratch, 'state'),
    },
  );
  try {
    const summary = await fetchInto(
      cache,
      store,
      `${name} (of ${registry.url})`,
      registry.lock,
      wanted === undefined ? undefined : [wanted],
      {
        manifestsOnly: options.manifestsOnly,
      },
    );
    const problems = transferProblemsError(summary);
    if (problems) throw problems;
    return summary;
  } finally {
    await store.close();
  }
}

/**
 * A lock entry for the selected files placed at one path: the object itself for a single file,
 * else a directory whose manifest (stored in `cache`) lists them. Tensor metadata of a whole
 * output is kept; `source` records where it came from.
 *
 * @example
 * const entry = await entryForSelection(repo.cache, files, outputs, source);
 */
export async function entryForSelection(
  cache: ObjectCache,
  files: SelectedFile[],
  outputs: Array<[string, OutputEntry]>,
  source: ImportSource,
): Promise<OutputEntry> {
  const [only] = files;
  const whole = outputs.length === 1 && outputs[0]?.[0] === source.path ? outputs[0][1] : undefined;
  if (only !== undefined && files.length === 1 && only.rel === '') {
    return {
      kind: 'file',
      hash: only.hash,
      size: only.size,
      ...(whole?.meta ? { meta: whole.meta } : {}),
      import: source,
    };
  }
  const manifest: ManifestEntry[] = files.map((f) => ({ path: f.rel, hash: f.hash, size: f.size }));
  const hash = await cache.putManifest(manifest);
  return {
    kind: 'dir',
    hash,
    size: manifest.reduce((n, e) => n + e.size, 0),
    files: manifest.length,
    ...(whole?.kind === 'dir' && whole.meta ? { meta: whole.meta } : {}),
    import: source,
  };
}

/**
 * Writes the selected files at `out` (a file, or a folder of them), all or nothing: they are made
 * in a temporary place beside it and renamed into place; `force` replaces what is there.
 *
 * @example
 * await writeSelection(cache, files, '/work/data/raw', { force: false });
 */
export async function writeSelection(
  cache: ObjectCache,
  files: SelectedFile[],
  out: string,
  options: { force?: boolean } = {},
): Promise<string[]> {
  const existing = await fsp.lstat(out).catch(() => undefined);
  if (existing && !options.force) {
    throw new DataverError('USAGE', `${out} exists already`, {
      hint: 'choose another --out, or replace it with --force',
    });
  }
  await fsp.mkdir(path.dirname(out), { recursive: true });
  const tmp = tmpNameFor(out);
  const single = files.length === 1 && files[0]?.rel === '';
  try {
    const dests = files.map((f) => (single ? tmp : path.join(tmp, ...f.rel.split('/'))));
    for (const dir of new Set(dests.map((d) => path.dirname(d)))) await fsp.mkdir(dir, { recursive: true });
    // A copy (reflink where it can): a scratch cache is deleted afterwards.
    await cache.materializeMany(
      files.map((f, i) => ({ hash: f.hash, dest: dests[i] as string })),
      'reflink',
    );
    if (existing) await fsp.rm(out, { recursive: true, force: true });
    await renameWithRetry(tmp, out);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  return files.map((f) => (single ? out : path.join(out, ...f.rel.split('/'))));
}

/** A scratch object cache (for `get` outside a repository), inside a registry's scratch folder. */
export function scratchCache(registry: RegistryRepo): ObjectCache {
  return new ObjectCache(path.join(registry.scratch, 'cache'), path.join(registry.scratch, 'tmp'));
}
