// `dataver status`: how the workspace and the cache differ from the lock, per
// output, with per-file detail for directories, and whether the lock's own
// figures (size, file count) agree with the objects they describe.
import * as fs from 'node:fs';
import { DataverError, isDataverError, isTempName } from '@dataver/foundation';
import { isSafeRelativePath, isSameOrInside } from '../lock/paths.js';
import type { Lock, OutputEntry } from '../lock/schema.js';
import {
  comparePaths,
  type ManifestEdit,
  type ManifestEntry,
  ManifestView,
  manifestEntriesOf,
  manifestHash,
} from '../odb/manifest.js';
import { CompleteMarks, type ManifestTotals } from './complete-marks.js';
import { type FileDelta, MonitorView } from './fsmonitor.js';
import type { Repo } from './repo.js';
import { StatCache } from './stat-cache.js';
import {
  listDirectory,
  manifestFields,
  relabel,
  resolveHashes,
  statFile,
  type WorkspaceFile,
} from './workspace.js';

export type FileState = 'new' | 'modified' | 'deleted';

export interface FileChange {
  /** Path relative to the output directory. */
  path: string;
  state: FileState;
}

export interface OutputStatus {
  path: string;
  kind: 'file' | 'dir';
  /** How the workspace compares with the lock. */
  workspace: 'unchanged' | 'modified' | 'deleted';
  /** Whether the cache holds every object of the locked version. */
  cache: 'ok' | 'missing';
  /** For directories: the files that differ. */
  changes: FileChange[];
  /** A hardlinked workspace file was edited in place, so its cache object no longer matches its name. */
  cacheCorrupted?: string[];
  /** Figures of the lock entry that its objects contradict (a hand edit, a bad merge). */
  lockProblems?: string[];
  expectedHash: string;
  actualHash?: string;
}

export interface StatusOptions {
  /** Filled with the files (hashed) of the outputs that differ from the lock, by output path (for `diff`). */
  workspaceFiles?: Map<string, WorkspaceFile[]>;
  /** Told when the state that speeds up the next status cannot be saved (a read-only cache). */
  onWarning?: (message: string) => void;
  /** Told how the file-system monitor helped (for --verbose). */
  onVerbose?: (message: string) => void;
  /**
   * Whether each modified folder's `actualHash` is wanted [true]. Without it, a status under the
   * file-system monitor reads the locked manifest only where the changed paths lead and does not
   * hash the folder's new manifest (`actualHash` is then left out where it was not known already).
   */
  hashes?: boolean;
}

/** Lock outputs selected by user paths (an output matches a path equal to it, inside it, or containing it). */
export function selectOutputs(lock: Lock, repoPaths: string[] | undefined): Array<[string, OutputEntry]> {
  const all = Object.entries(lock.outputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (!repoPaths || repoPaths.length === 0) return all;
  const chosen = all.filter(([p]) => repoPaths.some((q) => isSameOrInside(p, q) || isSameOrInside(q, p)));
  const unmatched = repoPaths.filter((q) => !all.some(([p]) => isSameOrInside(p, q) || isSameOrInside(q, p)));
  if (unmatched.length > 0) {
    throw new DataverError('NOT_TRACKED', `${unmatched[0]} is not tracked by dataver`, {
      hint: `track it with \`dataver add ${unmatched[0]}\`, or list tracked outputs with \`dataver status\``,
    });
  }
  return chosen;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * What a lock entry claims that its objects contradict: `actual` holds the size (and, for a
 * directory, the file count) of the version the entry's hash names.
 *
 * @example
 * lockProblems({ kind: 'file', hash, size: 5 }, { size: 1 }); // ['size 5 in data.lock.json, the file holds 1 byte']
 */
export function lockProblems(entry: OutputEntry, actual: ManifestTotals | { size: number }): string[] {
  const problems: string[] = [];
  const holder = entry.kind === 'dir' ? 'its files hold' : 'the file holds';
  if (entry.size !== actual.size)
    problems.push(`size ${entry.size} in data.lock.json, ${holder} ${plural(actual.size, 'byte')}`);
  if (entry.kind === 'dir' && 'files' in actual && entry.files !== undefined && entry.files !== actual.files)
    problems.push(`${plural(entry.files, 'file')} in data.lock.json, its manifest lists ${actual.files}`);
  return problems;
}

/** A manifest's totals. */
export function totalsOf(manifest: ManifestEntry[]): ManifestTotals {
  return { size: manifest.reduce((n, e) => n + e.size, 0), files: manifest.length };
}

/**
 * Computes the status of tracked outputs.
 *
 * @example
 * const report = await computeStatus(repo, lock);
 * const dirty = report.filter((o) => o.workspace !== 'unchanged');
 */
export async function computeStatus(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: StatusOptions = {},
): Promise<OutputStatus[]> {
  const statCache = await StatCache.load(repo);
  const marks = await CompleteMarks.load(repo);
  const selected = selectOutputs(lock, repoPaths);
  // Asked before any folder is read: what changes while status runs is reported next time.
  const monitor = await MonitorView.open(
    repo,
    selected.filter(([, e]) => e.kind === 'dir').map(([p]) => p),
  );
  const out: OutputStatus[] = [];
  for (const [path, entry] of selected) {
    if (entry.kind === 'file') {
      out.push(await fileStatus(repo, statCache, path, entry, options.workspaceFiles));
      continue;
    }
    out.push(
      await dirStatus(
        repo,
        statCache,
        marks,
        path,
        entry,
        options.workspaceFiles,
        monitor,
        options.hashes !== false,
        options.onVerbose,
      ),
    );
  }
  options.onVerbose?.(monitor.describe());
  if (!repoPaths) await monitor.save();
  // Only caches: a read-only cache or state folder costs the next status some hashing, nothing more.
  let warned = false;
  const onError = (error: unknown) => {
    if (!warned)
      options.onWarning?.(`cannot save the stat cache (${(error as Error).message}); status still works`);
    warned = true;
  };
  await statCache.save(onError);
  await marks.save(onError);
  return out;
}

async function fileStatus(
  repo: Repo,
  statCache: StatCache,
  path: string,
  entry: OutputEntry,
  workspaceFiles: Map<string, WorkspaceFile[]> | undefined,
): Promise<OutputStatus> {
  const result: OutputStatus = {
    path,
    kind: 'file',
    workspace: 'unchanged',
    cache: repo.cache.has(entry.hash) ? 'ok' : 'missing',
    changes: [],
    expectedHash: entry.hash,
  };
  const f = statFile(repo, path);
  if (f) {
    await resolveHashes(repo, statCache, [f]);
    result.actualHash = f.hash;
    if (f.hash !== entry.hash) {
      result.workspace = 'modified';
      workspaceFiles?.set(path, [f]);
      if (repo.cache.sharesInode(entry.hash, f)) result.cacheCorrupted = [path];
    }
  } else result.workspace = 'deleted';
  // The size of the version the hash names: the workspace file when it is that version, else the object.
  const actual = f && f.hash === entry.hash ? { size: f.size } : versionTotals(repo, undefined, entry);
  const problems = actual ? lockProblems(entry, actual) : [];
  if (problems.length > 0) result.lockProblems = problems;
  return result;
}

/**
 * What the cache says about the version a lock entry names: the object's size, or a manifest's
 * totals (remembered in `marks`, else read); undefined when the cache lacks it.
 */
function versionTotals(
  repo: Repo,
  marks: CompleteMarks | undefined,
  entry: OutputEntry,
): ManifestTotals | { size: number } | undefined {
  if (!repo.cache.has(entry.hash)) return undefined;
  if (entry.kind === 'file') return { size: repo.cache.sizeOf(entry.hash) };
  return marks?.totalsOf(entry.hash);
}

/**
 * The lock entries whose size or file count contradict the objects in the cache (no workspace
 * is read).
 *
 * @example
 * const wrong = await lockEntryProblems(repo, lock); // [{ path: 'data', problems: ['size 9 in …'] }]
 */
export async function lockEntryProblems(
  repo: Repo,
  lock: Lock,
): Promise<Array<{ path: string; problems: string[] }>> {
  const marks = await CompleteMarks.load(repo);
  const out: Array<{ path: string; problems: string[] }> = [];
  for (const [path, entry] of selectOutputs(lock, undefined)) {
    let actual = versionTotals(repo, marks, entry);
    if (!actual && entry.kind === 'dir' && repo.cache.has(entry.hash))
      actual = totalsOf(await repo.cache.readManifest(entry.hash));
    const problems = actual ? lockProblems(entry, actual) : [];
    if (problems.length > 0) out.push({ path, problems });
  }
  return out;
}

async function dirStatus(
  repo: Repo,
  statCache: StatCache,
  marks: CompleteMarks,
  path: string,
  entry: OutputEntry,
  workspaceFiles: Map<string, WorkspaceFile[]> | undefined,
  monitor?: MonitorView,
  wantHash = true,
  onVerbose?: (message: string) => void,
): Promise<OutputStatus> {
  const result: OutputStatus = {
    path,
    kind: 'dir',
    workspace: 'unchanged',
    cache: 'ok',
    changes: [],
    expectedHash: entry.hash,
  };
  let manifest: ManifestEntry[] | undefined;
  const loadManifest = async () => {
    try {
      manifest ??= await repo.cache.readManifest(entry.hash);
    } catch (error) {
      if (!isDataverError(error, 'OBJECT_MISSING')) throw error;
    }
    if (manifest) marks.rememberTotals(entry.hash, totalsOf(manifest));
    return manifest;
  };
  if (!marks.has(entry.hash) || !repo.cache.has(entry.hash)) {
    const m = await loadManifest();
    if (!m || m.some((e) => !repo.cache.has(e.hash))) result.cache = 'missing';
    else marks.add(entry.hash);
  }
  const totals =
    versionTotals(repo, marks, entry) ??
    (repo.cache.has(entry.hash) ? totalsOf((await loadManifest()) ?? []) : undefined);
  const problems = totals ? lockProblems(entry, totals) : [];
  if (problems.length > 0) result.lockProblems = problems;
  if (!fs.existsSync(repo.abs(path))) {
    result.workspace = 'deleted';
    return result;
  }
  // Fastest path: the monitor says what changed below the folder since the last status saw it.
  if (monitor && !workspaceFiles) {
    const known = await statusFromMonitor(repo, statCache, path, entry, monitor, result, wantHash);
    if (known) return known;
  }
  monitor?.count('walked');
  // Fast path: the listing (names, sizes, times, inodes) is exactly as when last hashed.
  const listing = listDirectory(repo, path);
  // A symlink's target may lie outside the watched folder: such a folder is never vouched for.
  const vouch = (hash: string, delta?: FileDelta[]) =>
    monitor?.saw(path, listing.links ? undefined : hash, entry.hash, delta);
  const known = statCache.lookupDir(path, listing);
  if (known === entry.hash) {
    onVerbose?.(`${path}: listing as recorded, no file looked up`);
    result.actualHash = known;
    vouch(known);
    return result;
  }
  const files = listing.files();
  const { hashed } = await resolveHashes(repo, statCache, files);
  onVerbose?.(
    `${path}: listing not as recorded, ${plural(files.length, 'file')} looked up, ${hashed} hashed`,
  );
  result.actualHash = manifestHash(files, manifestFields);
  statCache.recordDir(path, listing, result.actualHash);
  if (result.actualHash === entry.hash) {
    vouch(result.actualHash);
    return result;
  }
  workspaceFiles?.set(path, files);
  result.workspace = 'modified';
  const delta = await lockedDelta(repo, entry.hash, files, () => loadManifest());
  if (!delta) {
    vouch(result.actualHash);
    return result;
  }
  vouch(result.actualHash, delta);
  result.changes = delta.map(({ path, state }) => ({ path, state }));
  // Only a file whose content changed can have damaged the object it shares an inode with.
  const old = new Map(delta.filter((d) => d.old !== undefined).map((d) => [d.path, d.old as string]));
  const corrupted = files.filter((f) => {
    const hash = old.get(f.rel);
    return hash !== undefined && repo.cache.sharesInode(hash, f);
  });
  if (corrupted.length > 0) result.cacheCorrupted = corrupted.map((f) => f.path);
  return result;
}

/**
 * A folder's status from what the file-system monitor says changed since the last status,
 * without walking it: the view that status kept (the locked version plus the files that
 * differed from it) with only the changed paths read again. Undefined when the monitor cannot
 * say, or what changed is something only the walk handles (symlinks, names dataver refuses):
 * then the folder is walked.
 */
async function statusFromMonitor(
  repo: Repo,
  statCache: StatCache,
  folder: string,
  entry: OutputEntry,
  monitor: MonitorView,
  result: OutputStatus,
  wantHash: boolean,
): Promise<OutputStatus | undefined> {
  const changed = monitor.changedPaths(folder);
  const seen = monitor.view(folder);
  if (!changed || !seen) return undefined;
  // The view relative to the locked version: one that matched the version now locked has no delta.
  let delta: FileDelta[];
  let hash: string | null;
  if (seen.hash === entry.hash) [delta, hash] = [[], entry.hash];
  else if (seen.base === entry.hash) [delta, hash] = [seen.delta, seen.hash];
  else return undefined;
  if (changed.length > 0 || (hash === null && wantHash)) {
    if (!repo.cache.has(entry.hash)) return undefined;
    const checkedAs = monitor.checkedManifest(entry.hash);
    // Without the new hash to compute, a manifest checked before is read only where lookups lead.
    const open =
      !wantHash && checkedAs !== undefined && repo.cache.openCheckedManifest(entry.hash, checkedAs);
    try {
      let view: ManifestView | undefined;
      if (open) {
        monitor.noteManifest(entry.hash, checkedAs as string);
        view = ManifestView.fromFile(open.fd, open.size, entry.hash);
      } else {
        // Checked against its hash once; then vouched for by the object file's identity.
        const { bytes, identity } = repo.cache.readManifestChecked(entry.hash, checkedAs);
        monitor.noteManifest(entry.hash, identity);
        view = ManifestView.from(bytes, entry.hash);
      }
      if (!view) return undefined;
      if (changed.length > 0) {
        const reread = await rereadChanged(repo, statCache, folder, view, delta, changed);
        if (!reread) return undefined;
        delta = reread;
        monitor.count('patched');
      }
      hash = delta.length === 0 ? entry.hash : wantHash ? view.hashWith(editsOf(delta)) : null;
    } catch (error) {
      if (isDataverError(error, 'OBJECT_CORRUPT') || isDataverError(error, 'OBJECT_MISSING'))
        return undefined;
      throw error;
    } finally {
      if (open) fs.closeSync(open.fd);
    }
  }
  monitor.saw(folder, hash, entry.hash, delta);
  if (hash !== null) result.actualHash = hash;
  if (delta.length === 0) return result;
  result.workspace = 'modified';
  result.changes = delta.map(({ path, state }) => ({ path, state }));
  const corrupted = delta.filter((d) => {
    if (d.old === undefined) return false;
    const st = fs.statSync(repo.abs(`${folder}/${d.path}`), { throwIfNoEntry: false });
    return st !== undefined && repo.cache.sharesInode(d.old, st);
  });
  if (corrupted.length > 0) result.cacheCorrupted = corrupted.map((d) => `${folder}/${d.path}`);
  return result;
}

/** Up to this many bytes, the files the monitor names are hashed without the stat cache. */
const DIRECT_HASH_BYTES = 64 << 20;

/**
 * The delta of a folder against the locked version `view` after reading again the paths that
 * changed (each a file, a folder, or gone), sorted by path; the caller hashes it into the folder's
 * new content hash when it needs one ({@link editsOf}). Undefined when a changed path is one only
 * the walk handles.
 */
async function rereadChanged(
  repo: Repo,
  statCache: StatCache,
  folder: string,
  view: ManifestView,
  delta: FileDelta[],
  changed: string[],
): Promise<FileDelta[] | undefined> {
  // The changed paths that no other changed path contains: each is read again whole.
  const roots: string[] = [];
  for (const p of [...changed].sort(comparePaths)) {
    const last = roots[roots.length - 1];
    if (last === undefined || !(p === last || p.startsWith(`${last}/`))) roots.push(p);
  }
  /** Whether `p` is a root or below one (roots are sorted and none holds another). */
  const isTouched = (p: string) => {
    let lo = 0;
    let hi = roots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePaths(roots[mid] as string, p) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const root = roots[lo - 1];
    return root !== undefined && (p === root || p.startsWith(`${root}/`));
  };
  const files: WorkspaceFile[] = [];
  for (const root of roots) {
    // A write in flight (a temporary name) is never data; the walk names what cannot be tracked.
    if (root.split('/').some(isTempName)) continue;
    if (!isSafeRelativePath(root)) return undefined;
    const repoPath = `${folder}/${root}`;
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(repo.abs(repoPath), { throwIfNoEntry: false });
    } catch {
      st = undefined; // ENOTDIR: a folder on the way is a file now (its own event says so)
    }
    if (st?.isSymbolicLink()) return undefined;
    if (st?.isFile()) {
      const f = statFile(repo, repoPath);
      if (f) files.push(relabel(f, root));
    } else if (st?.isDirectory()) {
      const listing = listDirectory(repo, repoPath);
      if (listing.links) return undefined;
      for (const f of listing.files()) files.push(relabel(f, `${root}/${f.rel}`));
    }
  }
  // A few small files known to have changed hash faster than the stat cache loads (it is read
  // and checked whole); more, and it saves reading what did not change after all.
  const bytes = files.reduce((n, f) => n + f.size, 0);
  await resolveHashes(repo, statCache, files, { statCache: bytes > DIRECT_HASH_BYTES });
  const now = new Map(files.map((f) => [f.rel, f]));
  // Every path the changes touch: in the version, in the old delta, or on disk now.
  const touched = new Map<string, ManifestEntry | undefined>();
  for (const root of roots) {
    const own = view.get(root);
    if (own) touched.set(root, own);
    for (const e of view.under(root)) touched.set(e.path, e);
  }
  // The rest are not in the version (every path of it below a root is in already).
  for (const d of delta) if (isTouched(d.path) && !touched.has(d.path)) touched.set(d.path, undefined);
  for (const f of files) if (!touched.has(f.rel)) touched.set(f.rel, undefined);
  const next = delta.filter((d) => !isTouched(d.path));
  for (const [p, was] of touched) {
    const f = now.get(p);
    if (f && was) {
      if (f.hash !== was.hash)
        next.push({ path: p, state: 'modified', hash: f.hash, size: f.size, old: was.hash });
    } else if (f) next.push({ path: p, state: 'new', hash: f.hash, size: f.size });
    else if (was) next.push({ path: p, state: 'deleted' });
  }
  next.sort((a, b) => comparePaths(a.path, b.path));
  return next;
}

/** A folder's differences from its version as manifest edits (sorted by path, as the delta is). */
function editsOf(delta: FileDelta[]): ManifestEdit[] {
  return delta.map((d) => ({
    path: d.path,
    entry: d.state === 'deleted' ? null : { path: d.path, hash: d.hash as string, size: d.size as number },
  }));
}

/** How the files of `after` differ from those of `before` (both sorted by path), in path order. */
function deltaOf(before: Iterable<ManifestEntry>, after: Iterable<ManifestEntry>): FileDelta[] {
  const out: FileDelta[] = [];
  const befores = before[Symbol.iterator]();
  const afters = after[Symbol.iterator]();
  let b = befores.next();
  let a = afters.next();
  while (!b.done || !a.done) {
    if (!a.done && (b.done || a.value.path < b.value.path)) {
      out.push({ path: a.value.path, state: 'new', hash: a.value.hash, size: a.value.size });
      a = afters.next();
    } else if (!b.done && (a.done || b.value.path < a.value.path)) {
      out.push({ path: b.value.path, state: 'deleted' });
      b = befores.next();
    } else if (!a.done && !b.done) {
      if (a.value.hash !== b.value.hash)
        out.push({
          path: a.value.path,
          state: 'modified',
          hash: a.value.hash,
          size: a.value.size,
          old: b.value.hash,
        });
      a = afters.next();
      b = befores.next();
    }
  }
  return out;
}

/**
 * How a folder's files differ from the locked version: the locked manifest is read a line at a
 * time and the files through manifestFields, so a million-file folder with one change costs no
 * object per entry on either side. A manifest that is not in canonical lines (hand-made, still
 * matching its hash) is parsed whole instead. Undefined when the manifest is not in the cache.
 */
async function lockedDelta(
  repo: Repo,
  hash: string,
  files: readonly WorkspaceFile[],
  parsed: () => Promise<ManifestEntry[] | undefined>,
): Promise<FileDelta[] | undefined> {
  let bytes: Buffer;
  try {
    bytes = await repo.cache.readManifestBytes(hash);
  } catch (error) {
    if (isDataverError(error, 'OBJECT_MISSING')) return undefined;
    throw error;
  }
  const current = function* () {
    for (const f of files) yield manifestFields(f);
  };
  try {
    return deltaOf(manifestEntriesOf(bytes, hash), current());
  } catch (error) {
    if (!isDataverError(error, 'OBJECT_CORRUPT')) throw error;
    const before = await parsed();
    return before && deltaOf(before, current());
  }
}

/** File-level differences between two manifests (both sorted by path), in path order. */
export function diffManifests(before: ManifestEntry[], after: ManifestEntry[]): FileChange[] {
  return deltaOf(before, after).map(({ path, state }) => ({ path, state }));
}
