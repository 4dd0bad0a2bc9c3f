// dataver ls / get / import / update: tracked data of this repository or of another one.
import path from 'node:path';
import { DataverError, formatBytes, type Output, type Progress } from '@dataver/foundation';
import { checkOverlaps } from '../../core/add.js';
import { checkout } from '../../core/checkout.js';
import { ignoreOutputs } from '../../core/gitignore.js';
import {
  entryForSelection,
  fetchFromRegistry,
  openRegistry,
  outputsCovering,
  type RegistryRepo,
  scratchCache,
  selectFiles,
  writeSelection,
} from '../../core/registry.js';
import { Repo } from '../../core/repo.js';
import { readWorkspaceLock } from '../../core/workspace-lock.js';
import { withWriteLock } from '../../core/write-lock.js';
import { gitTrackedPaths } from '../../git/tracked-paths.js';
import { writeLock } from '../../lock/lock-file.js';
import { isSameOrInside } from '../../lock/paths.js';
import type { ImportSource, Lock, OutputEntry } from '../../lock/schema.js';
import type { ObjectCache } from '../../odb/cache.js';
import { openRepo } from './context.js';

/** How a source URL is recorded: a local folder as an absolute path (the lock is read from anywhere). */
function canonicalUrl(url: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^:]+:/.test(url) ? url : path.resolve(url);
}

/** A path of the other repository as the lock spells it. */
function registryPath(p: string): string {
  const cleaned = path.posix.normalize(p.split(path.sep).join('/')).replace(/^\.\/+|\/+$/g, '');
  if (cleaned === '' || cleaned === '.' || cleaned.startsWith('../') || cleaned.startsWith('/')) {
    throw new DataverError('USAGE', `${p} is not a path inside the repository`, {
      hint: 'give the path as that repository tracks it, e.g. data/raw',
    });
  }
  return cleaned;
}

async function withRegistry<T>(
  url: string,
  rev: string | undefined,
  fn: (r: RegistryRepo) => Promise<T>,
): Promise<T> {
  const registry = await openRegistry(canonicalUrl(url), rev);
  try {
    return await fn(registry);
  } finally {
    await registry.close();
  }
}

interface Row {
  path: string;
  kind: 'file' | 'dir';
  size: number;
  files?: number;
  hash: string;
  stage?: string;
  import?: ImportSource;
  /** With --recursive: a file inside a tracked directory. */
  inside?: string;
}

async function rowsOf(
  lock: Lock,
  wanted: string | undefined,
  recursive: boolean,
  cache: ObjectCache | undefined,
): Promise<{ rows: Row[]; unknown: string[] }> {
  const rows: Row[] = [];
  const unknown: string[] = [];
  const outputs = Object.entries(lock.outputs)
    .filter(([p]) => wanted === undefined || isSameOrInside(p, wanted) || isSameOrInside(wanted, p))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [p, e] of outputs) {
    rows.push({
      path: p,
      kind: e.kind,
      size: e.size,
      ...(e.files !== undefined ? { files: e.files } : {}),
      hash: e.hash,
      ...(e.stage ? { stage: e.stage } : {}),
      ...(e.import ? { import: e.import } : {}),
    });
    if (!recursive || e.kind !== 'dir') continue;
    if (!cache?.has(e.hash)) {
      unknown.push(p);
      continue;
    }
    for (const f of await cache.readManifest(e.hash)) {
      const full = `${p}/${f.path}`;
      if (wanted === undefined || isSameOrInside(full, wanted) || isSameOrInside(wanted, full))
        rows.push({ path: full, kind: 'file', size: f.size, hash: f.hash, inside: p });
    }
  }
  return { rows, unknown };
}

function renderRows(rows: Row[], unknown: string[]): string[] {
  if (rows.length === 0) return ['No tracked data.'];
  const lines = rows.map((r) => {
    const files = r.files !== undefined ? `${r.files} files` : '';
    const what = r.stage ? ` (stage ${r.stage})` : r.import ? ` (from ${r.import.url} ${r.import.path})` : '';
    const indent = r.inside ? '    ' : '';
    return `${formatBytes(r.size).padStart(10)}  ${files.padStart(11)}  ${indent}${r.path}${r.kind === 'dir' ? '/' : ''}${what}`;
  });
  for (const p of unknown)
    lines.push(`(the files of ${p}/ are not known here: its manifest is not in the cache)`);
  return lines;
}

export async function list(
  output: Output,
  [url, where]: [string | undefined, string | undefined],
  options: { rev?: string; recursive?: boolean },
): Promise<number> {
  const recursive = options.recursive === true;
  let result: { rows: Row[]; unknown: string[] };
  if (url === undefined || url === '.') {
    const repo = await openRepo();
    const { readLockAtRevision } =
      require('../../git/revisions.js') as typeof import('../../git/revisions.js');
    const lock = options.rev
      ? await readLockAtRevision(repo.root, options.rev)
      : await readWorkspaceLock(repo);
    result = await rowsOf(
      lock,
      where === undefined ? undefined : repo.toRepoPath(where),
      recursive,
      repo.cache,
    );
  } else {
    const wanted = where === undefined ? undefined : registryPath(where);
    result = await withRegistry(url, options.rev, async (registry) => {
      let cache: ObjectCache | undefined;
      if (recursive) {
        cache = scratchCache(registry);
        // Only the manifests are needed to list the files; one that cannot be had is only not listed.
        await fetchFromRegistry(registry, cache, wanted, { manifestsOnly: true }).catch((error: unknown) => {
          if (!(error instanceof DataverError) || error.exitCode !== 3) throw error;
        });
      }
      return rowsOf(registry.lock, wanted, recursive, cache);
    });
  }
  output.result(result.rows, () => renderRows(result.rows, result.unknown));
  return 0;
}

interface GetOptions {
  out?: string;
  rev?: string;
  force?: boolean;
  jobs?: number;
}

export async function get(
  output: Output,
  [url, wanted]: [string, string],
  options: GetOptions,
): Promise<number> {
  const from = registryPath(wanted);
  const out = path.resolve(options.out ?? path.posix.basename(from));
  // Inside a repository its cache is used (and keeps the objects); elsewhere a scratch cache.
  const local = await Repo.tryFind(process.cwd()).catch(() => undefined);
  const result = await withRegistry(url, options.rev, async (registry) => {
    const cache = local?.cache ?? scratchCache(registry);
    const outputs = outputsCovering(registry.lock, from, registry.url);
    const fetched = await fetchFromRegistry(registry, cache, from, {
      jobs: options.jobs,
      progress: output.progress(),
    });
    const files = await selectFiles(cache, outputs, from);
    await writeSelection(cache, files, out, { force: options.force });
    return {
      url: registry.url,
      commit: registry.commit,
      path: from,
      out,
      files: files.length,
      size: files.reduce((n, f) => n + f.size, 0),
      fetched: fetched.fetched,
    };
  });
  output.result(
    result,
    () =>
      `got ${result.path} from ${result.url} at ${result.commit.slice(0, 12)} → ${path.relative(process.cwd(), result.out) || '.'} (${result.files} file(s), ${formatBytes(result.size)})`,
  );
  return 0;
}

/** Fetches and places an imported selection; returns its new lock entry. */
async function importInto(
  repo: Repo,
  registry: RegistryRepo,
  from: string,
  out: string,
  follow: string | undefined,
  options: { force?: boolean; jobs?: number; progress?: Progress },
): Promise<OutputEntry> {
  const outputs = outputsCovering(registry.lock, from, registry.url);
  await fetchFromRegistry(registry, repo.cache, from, { jobs: options.jobs, progress: options.progress });
  const files = await selectFiles(repo.cache, outputs, from);
  const source: ImportSource = {
    url: registry.url,
    ...(follow ? { rev: follow } : {}),
    commit: registry.commit,
    path: from,
  };
  const entry = await entryForSelection(repo.cache, files, outputs, source);
  const result = await checkout(repo, { version: 1, outputs: { [out]: entry }, stages: {} }, [out], {
    force: options.force,
  });
  if (result.missing.length > 0) {
    throw new DataverError('OBJECT_MISSING', `${result.missing.length} object(s) of ${from} did not arrive`, {
      hint: 'run the command again',
    });
  }
  return entry;
}

export async function importData(
  output: Output,
  [url, wanted]: [string, string],
  options: GetOptions,
): Promise<number> {
  const repo = await openRepo();
  const from = registryPath(wanted);
  const out = repo.toRepoPath(options.out ?? path.posix.basename(from));
  const entry = await withWriteLock(repo, 'import', async () => {
    const lock = await readWorkspaceLock(repo);
    const previous = lock.outputs[out];
    if (previous && !options.force) {
      throw new DataverError(
        'USAGE',
        `${out} is tracked already${previous.import ? ` (imported from ${previous.import.url})` : ''}`,
        {
          hint: previous.import
            ? `bring it up to date with \`dataver update ${out}\`, or replace it with --force`
            : 'choose another --out, or replace it with --force',
        },
      );
    }
    if (previous?.stage) {
      throw new DataverError('USAGE', `${out} is produced by stage '${previous.stage}'`, {
        hint: 'choose another --out',
      });
    }
    const { [out]: _, ...others } = lock.outputs;
    checkOverlaps({ ...lock, outputs: others }, [out]);
    const inGit = await gitTrackedPaths(repo.root, [out]);
    if (inGit.length > 0) {
      throw new DataverError('USAGE', `${inGit[0]} is tracked by git`, {
        hint: `stop tracking it in git first: git rm -r --cached ${inGit[0]}`,
      });
    }
    return withRegistry(url, options.rev, async (registry) => {
      const imported = await importInto(repo, registry, from, out, options.rev, {
        ...options,
        progress: output.progress(),
      });
      lock.outputs[out] = imported;
      await writeLock(repo.root, lock);
      await ignoreOutputs(repo.root, [out]);
      return imported;
    });
  });
  const source = entry.import as ImportSource;
  output.result({ path: out, ...entry }, () => [
    `imported ${source.path} from ${source.url} at ${source.commit.slice(0, 12)} → ${out}${entry.kind === 'dir' ? '/' : ''} (${entry.files ?? 1} file(s), ${formatBytes(entry.size)})`,
    'Commit data.lock.json and .gitignore to record it; `dataver update` brings it up to date.',
  ]);
  return 0;
}

export async function update(
  output: Output,
  [paths]: [string[]],
  options: { rev?: string; jobs?: number },
): Promise<number> {
  const repo = await openRepo();
  const selection = repo.toRepoSelection(paths);
  const updated = await withWriteLock(repo, 'update', async () => {
    const lock = await readWorkspaceLock(repo);
    const imported = Object.entries(lock.outputs).filter(
      ([p, e]) => e.import && (!selection || selection.some((s) => isSameOrInside(p, s))),
    );
    for (const s of selection ?? []) {
      if (!imported.some(([p]) => isSameOrInside(p, s))) {
        throw new DataverError('NOT_TRACKED', `${s} is not an imported output`, {
          hint: 'update works on what `dataver import` brought in (see `dataver ls`)',
        });
      }
    }
    const results: Array<{ path: string; from: string; to: string; changed: boolean }> = [];
    for (const [out, entry] of imported) {
      const source = entry.import as ImportSource;
      const follow = options.rev ?? source.rev;
      const next = await withRegistry(source.url, follow, async (registry) => {
        if (registry.commit === source.commit && follow === source.rev) return entry;
        return importInto(repo, registry, source.path, out, follow, {
          jobs: options.jobs,
          progress: output.progress(),
        });
      });
      results.push({
        path: out,
        from: source.commit,
        to: (next.import as ImportSource).commit,
        changed: next.hash !== entry.hash,
      });
      lock.outputs[out] = next;
    }
    await writeLock(repo.root, lock);
    return results;
  });
  output.result(updated, () =>
    updated.length === 0
      ? 'No imported outputs.'
      : updated.map((u) =>
          u.from === u.to
            ? `up to date  ${u.path} (${u.to.slice(0, 12)})`
            : `${u.changed ? 'updated   ' : 'same data '}  ${u.path} (${u.from.slice(0, 12)} → ${u.to.slice(0, 12)})`,
        ),
  );
  return 0;
}
