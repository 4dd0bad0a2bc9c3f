// `dataver checkout`: makes the workspace match a lock, from the cache.
//
// What may be replaced or deleted without --force: files whose content equals what
// dataver itself last wrote to that place (add, checkout) or what the lock wants.
// Anything else is the user's unsaved work, and the check covers every output
// before anything is written.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Progress } from '@dataver/foundation';
import { DataverError, isDataverError, tmpNameFor } from '@dataver/foundation';
import { isSameOrInside } from '../lock/paths.js';
import type { Lock, OutputEntry } from '../lock/schema.js';
import type { ManifestEntry } from '../odb/manifest.js';
import { CompleteMarks, type ManifestTotals } from './complete-marks.js';
import { ensureInternalDirs, type Repo } from './repo.js';
import { StatCache } from './stat-cache.js';
import { lockProblems, selectOutputs } from './status.js';
import {
  type DirectoryListing,
  hashOf,
  listDirectory,
  resolveHashes,
  statFile,
  type WorkspaceFile,
} from './workspace.js';

export interface CheckoutOptions {
  force?: boolean;
  progress?: Progress;
  /**
   * Objects whose bytes this process has just verified (e.g. fetched). Files made from them are
   * recorded in the stat cache; others are re-hashed by the next status, so a damaged cache
   * object cannot be vouched for.
   */
  verified?: ReadonlySet<string>;
  /** Verified bytes of some of those objects, still in memory: their files are written from them. */
  verifiedBytes?: ReadonlyMap<string, Buffer>;
  /** Directory manifests already parsed by this process (by hash), used instead of reading them again. */
  manifests?: ReadonlyMap<string, ManifestEntry[]>;
  /** Told about lock entries whose size or file count contradict their objects (the objects win). */
  onWarning?: (message: string) => void;
}

export interface CheckoutResult {
  restored: number;
  removed: number;
  unchanged: number;
  /** Objects the cache lacks (their files were not restored). */
  missing: string[];
}

/** Files materialized per round of a checkout. */
const WRITE_SLICE = 16384;

/**
 * A file the checkout wants: its manifest entry and its output, the repository path made when
 * asked (a million writes then hold no path string each, about 80 B a file).
 */
class Write {
  constructor(
    private readonly out: string,
    /** The manifest's entry; for a file output, its hash with size 0 (the size comes from the cache). */
    private readonly entry: Pick<ManifestEntry, 'path' | 'hash' | 'size'>,
  ) {}

  get repoPath(): string {
    return this.entry.path === '' ? this.out : `${this.out}/${this.entry.path}`;
  }
  get hash(): string {
    return this.entry.hash;
  }
  /** Bytes, as the manifest lists them (0 for a file output). */
  get size(): number {
    return this.entry.size;
  }
}

/**
 * Restores tracked outputs (all, or those under `repoPaths`) to a lock's version.
 *
 * @example
 * const { restored, missing } = await checkout(repo, lock, ['data/raw']);
 */
export async function checkout(
  repo: Repo,
  lock: Lock,
  repoPaths?: string[],
  options: CheckoutOptions = {},
): Promise<CheckoutResult> {
  await ensureInternalDirs(repo);
  const statCache = await StatCache.load(repo);
  const inScope = (p: string) =>
    !repoPaths || repoPaths.some((q) => isSameOrInside(p, q) || isSameOrInside(q, p));
  const writes: Write[] = [];
  const deletes: string[] = [];
  const emptyDirs: string[] = [];
  const unsaved: string[] = [];
  const corrupt: string[] = [];
  const missing = new Set<string>();
  const complete: Array<[string, string]> = [];
  // Folders checked out whole: what the next status may be told of them (see recordListing).
  const folders: Array<{
    outPath: string;
    hash: string;
    wanted: Write[];
    totals: ManifestTotals;
    vouched: boolean;
  }> = [];
  let unchanged = 0;

  for (const [outPath, entry] of selectOutputs(lock, repoPaths)) {
    const wanted = await wantedFiles(repo, outPath, entry, options.manifests);
    if (!wanted) {
      missing.add(entry.hash);
      continue;
    }
    // The hash names the content; a size or file count that disagrees is the lock's mistake.
    const actual =
      entry.kind === 'dir'
        ? { size: wanted.reduce((n, w) => n + w.size, 0), files: wanted.length }
        : repo.cache.has(entry.hash)
          ? { size: repo.cache.sizeOf(entry.hash) }
          : undefined;
    for (const problem of actual ? lockProblems(entry, actual) : [])
      options.onWarning?.(
        `data.lock.json: ${outPath}: ${problem}; checking out what its hash names (rewrite the entry with \`dataver commit ${outPath}\`)`,
      );
    const previous = await previousFiles(repo, statCache, outPath);
    const before = currentFiles(repo, outPath, deletes);
    const current = before.files.filter((f) => inScope(f.path));
    await resolveHashes(repo, statCache, current);
    // Only asked about files that stand there now (none in a fresh clone: no map of every file).
    const wantedHash = current.length > 0 ? new Map(wanted.map((w) => [w.repoPath, w.hash])) : undefined;
    // dataver's own content: what it last wrote here, or what is wanted anyway; both recoverable.
    const replaceable = (f: WorkspaceFile) =>
      repo.cache.has(hashOf(f)) && (previous.get(f.path) === f.hash || wantedHash?.get(f.path) === f.hash);

    const byPath = new Map(current.map((f) => [f.path, f]));
    const [writesBefore, deletesBefore] = [writes.length, deletes.length];
    // Whether every file this output gets is one the stat cache may vouch for once written.
    let vouched = true;
    for (const w of repoPaths ? wanted.filter((x) => inScope(x.repoPath)) : wanted) {
      const f = byPath.get(w.repoPath);
      byPath.delete(w.repoPath);
      if (f && f.hash === w.hash && !needsRelink(repo, f, w.hash)) {
        unchanged++;
        continue;
      }
      if (f && !replaceable(f) && !options.force) unsaved.push(w.repoPath);
      if (f && f.hash !== w.hash && repo.cache.sharesInode(w.hash, f)) {
        // Hardlink mode: the workspace file *is* the cache object, and it was edited in place.
        corrupt.push(w.hash);
        continue;
      }
      // Just verified into the cache: no need to look for it there.
      if (!options.verified?.has(w.hash) && !repo.cache.has(w.hash)) {
        missing.add(w.hash);
        continue;
      }
      if (!options.verified?.has(w.hash)) vouched = false;
      writes.push(w);
    }
    for (const extra of byPath.values()) {
      if (!replaceable(extra) && !options.force) unsaved.push(extra.path);
      else deletes.push(extra.path);
    }
    if (entry.kind === 'dir' && wanted.length === 0) emptyDirs.push(outPath);
    if (!repoPaths || repoPaths.includes(outPath)) {
      complete.push([outPath, entry.hash]);
      const untouched = writes.length === writesBefore && deletes.length === deletesBefore;
      // Nothing to record for a folder left as it was whose listing the stat cache knows already.
      const known =
        untouched && before.listing && statCache.lookupDir(outPath, before.listing) === entry.hash;
      if (entry.kind === 'dir' && actual) {
        const totals = { size: actual.size, files: wanted.length };
        folders.push({ outPath, hash: entry.hash, wanted, totals, vouched: vouched && !known });
      }
    }
  }

  if (unsaved.length > 0) {
    throw new DataverError(
      'UNSAVED_CHANGES',
      `checkout would overwrite unsaved changes in ${unsaved.length} file(s): ${unsaved.slice(0, 5).join(', ')}${unsaved.length > 5 ? ', …' : ''}`,
      {
        hint: 'save them with `dataver add`, or discard them with `dataver checkout --force`',
        data: { files: unsaved },
      },
    );
  }

  // The check looks only at a path's folders: one path per folder is enough, and a fresh clone
  // then pays one failing lstat per folder rather than per file.
  const verifiedParents = new Set<string>();
  const byFolder = new Map<string, string>();
  for (const p of [...deletes, ...writes.map((w) => w.repoPath)]) byFolder.set(path.posix.dirname(p), p);
  for (const p of byFolder.values()) repo.assertPlainParents(p, verifiedParents);

  options.progress?.start('checkout', writes.length);
  for (const p of deletes) {
    await fsp.rm(repo.abs(p), { force: true });
    statCache.forgetFile(p);
  }
  await pruneBlockingDirectories(repo, writes, deletes);
  const madeDirs = new Set<string>();
  for (const w of writes) {
    const parent = path.dirname(repo.abs(w.repoPath));
    if (!madeDirs.has(parent)) {
      fs.mkdirSync(parent, { recursive: true });
      madeDirs.add(parent);
    }
  }
  // In slices, so that the absolute paths and per-file jobs of a million-file checkout never all
  // exist at once (they cost about 0.5 KiB a file).
  for (let at = 0; at < writes.length; at += WRITE_SLICE) {
    const slice = writes.slice(at, at + WRITE_SLICE);
    await repo.cache.materializeMany(
      slice.map((w) => ({ hash: w.hash, dest: repo.abs(w.repoPath) })),
      repo.config.cache.link,
      () => options.progress?.tick(1),
      options.verifiedBytes,
    );
    for (const w of slice) {
      if (options.verified?.has(w.hash))
        statCache.record(w.repoPath, fs.statSync(repo.abs(w.repoPath)), w.hash);
      else statCache.forgetFile(w.repoPath);
    }
  }
  for (const dir of emptyDirs) await fsp.mkdir(repo.abs(dir), { recursive: true });
  options.progress?.stop();
  for (const [outPath, hash] of complete) {
    if (!missing.has(hash)) statCache.recordMaterialized(outPath, hash);
  }
  for (const f of folders) if (f.vouched) await recordListing(repo, statCache, f.outPath, f.hash, f.wanted);
  // The files are in place: a state folder that cannot be written (read-only, full) only costs
  // the next status some hashing, and the next checkout asks --force for files it cannot vouch for.
  await statCache.save((error) =>
    options.onWarning?.(
      `cannot save the stat cache (${(error as Error).message}); the files are checked out, the next status hashes them again`,
    ),
  );
  if (options.verified && corrupt.length === 0)
    await markComplete(repo, folders, options.verified, options.onWarning);
  if (corrupt.length > 0) {
    throw new DataverError(
      'OBJECT_CORRUPT',
      `${corrupt.length} cache object(s) were edited in place through hardlinked workspace files`,
      { hint: 'run `dataver verify --fix`, then `dataver pull` to restore them', data: { corrupt } },
    );
  }
  return { restored: writes.length, removed: deletes.length, unchanged, missing: [...missing].sort() };
}

/** The files an output should have; undefined when its manifest is not in the cache. */
async function wantedFiles(
  repo: Repo,
  outPath: string,
  entry: OutputEntry,
  manifests?: ReadonlyMap<string, ManifestEntry[]>,
): Promise<Write[] | undefined> {
  if (entry.kind === 'file') return [new Write(outPath, { path: '', hash: entry.hash, size: 0 })];
  try {
    const manifest = manifests?.get(entry.hash) ?? (await repo.cache.readManifest(entry.hash));
    return manifest.map((e) => new Write(outPath, e));
  } catch (error) {
    if (isDataverError(error, 'OBJECT_MISSING')) return undefined;
    throw error;
  }
}

/** The files of the version dataver last wrote to this output's place (path → hash). */
async function previousFiles(
  repo: Repo,
  statCache: StatCache,
  outPath: string,
): Promise<Map<string, string>> {
  const hash = statCache.lastMaterialized(outPath);
  const files = new Map<string, string>();
  if (!hash) return files;
  files.set(outPath, hash); // a file output
  try {
    for (const e of await repo.cache.readManifest(hash)) files.set(`${outPath}/${e.path}`, e.hash);
  } catch {
    // Not a manifest (a file output), or no longer in the cache: nothing more is known.
  }
  return files;
}

/** What stands at an output's place now: the files of a folder (with its listing), or one file. */
function currentFiles(
  repo: Repo,
  outPath: string,
  leftovers: string[],
): { files: WorkspaceFile[]; listing?: DirectoryListing } {
  const st = fs.lstatSync(repo.abs(outPath), { throwIfNoEntry: false });
  if (!st) return { files: [] };
  if (st.isDirectory()) {
    const listing = listDirectory(repo, outPath, { leftovers });
    return { files: listing.files(), listing };
  }
  const f = statFile(repo, outPath);
  return { files: f ? [f] : [] };
}

/**
 * Marks the folder versions whose every object is in the cache (just verified into it, or there
 * before), with their totals, so that the first status after a pull does not look for each
 * object. Only once the cache's writes of fetched objects are done (a failed one is thrown, as
 * pull would): a mark must not outlive an object that a crash kept from the disk.
 */
async function markComplete(
  repo: Repo,
  folders: ReadonlyArray<{ hash: string; wanted: readonly Write[]; totals: ManifestTotals }>,
  verified: ReadonlySet<string>,
  onWarning?: (message: string) => void,
): Promise<void> {
  const marks = await CompleteMarks.load(repo);
  const inCache = (hash: string) => verified.has(hash) || repo.cache.has(hash);
  const whole = folders.filter(
    (f) => !marks.has(f.hash) && inCache(f.hash) && f.wanted.every((w) => inCache(w.hash)),
  );
  if (whole.length === 0) return;
  await repo.cache.finishWrites();
  for (const f of whole) {
    marks.add(f.hash);
    marks.rememberTotals(f.hash, f.totals);
  }
  await marks.save((error) =>
    onWarning?.(
      `cannot save the cache's marks (${(error as Error).message}); the next status checks the cache again`,
    ),
  );
}

/** How long a checkout waits for the file system's clock to pass its last write (one tick, ~4 ms here). */
const CLOCK_WAIT_MS = 100;

/** The file system's clock in folder `dir`: the time stamp a file made there now gets. */
function fileSystemNow(dir: string): number {
  const probe = tmpNameFor(path.join(dir, 'clock'));
  const fd = fs.openSync(probe, 'wx');
  try {
    return fs.fstatSync(fd).mtimeMs;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(probe, { force: true });
  }
}

/**
 * Records a checked-out folder's listing with its version, so that the next status takes the
 * no-op path instead of looking every file up. Only where the stat cache would vouch for every
 * file on its own: the folder holds exactly the wanted files, in the wanted order, each with the
 * metadata the stat cache holds for the wanted hash (a file written from a verified object, stat
 * right after the write; or one that was already there, hashed or looked up before). A file
 * changed since has other metadata, and the listing is not recorded. The folder is read only
 * once the file system's clock has moved past every write, and must have no time stamp as new
 * as that moment: a change after the walk then moves a time stamp, and the digest with it (the
 * racy-git rule, with the clock read before the walk instead of after it). True when recorded.
 *
 * @example
 * await recordListing(repo, statCache, 'data', entry.hash, [{ repoPath: 'data/a.bin', hash }]);
 */
export async function recordListing(
  repo: Repo,
  statCache: StatCache,
  outPath: string,
  hash: string,
  wanted: ReadonlyArray<{ readonly repoPath: string; readonly hash: string }>,
): Promise<boolean> {
  let listing: DirectoryListing;
  try {
    const dir = repo.abs(outPath);
    const written = fileSystemNow(dir);
    const deadline = Date.now() + CLOCK_WAIT_MS;
    let clock = fileSystemNow(dir);
    while (clock <= written) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 1));
      clock = fileSystemNow(dir);
    }
    listing = listDirectory(repo, outPath);
    if (listing.links || listing.newest >= clock) return false;
  } catch {
    return false; // only a shortcut: the next status looks at every file, as without it
  }
  const files = listing.files();
  if (files.length !== wanted.length) return false;
  for (const [i, f] of files.entries()) {
    const w = wanted[i];
    if (f.path !== w?.repoPath || statCache.lookup(f.path, f) !== w.hash) return false;
  }
  statCache.recordDir(outPath, listing, hash);
  return true;
}

/**
 * After deletions, removes folders that now stand empty where a file must go (a folder
 * replaced by a file between two versions), and files that stand where a folder must go.
 */
async function pruneBlockingDirectories(repo: Repo, writes: Write[], deletes: string[]): Promise<void> {
  if (deletes.length === 0) return;
  for (const w of writes) {
    const dest = repo.abs(w.repoPath);
    const st = fs.lstatSync(dest, { throwIfNoEntry: false });
    if (st?.isDirectory()) await fsp.rm(dest, { recursive: true }); // only emptied folders remain here
  }
}

/** True when an identical file must still be replaced to match the configured link mode. */
function needsRelink(repo: Repo, f: WorkspaceFile, hash: string): boolean {
  switch (repo.config.cache.link) {
    case 'symlink':
      return !f.isLink;
    case 'hardlink':
      return f.isLink || !repo.cache.sharesInode(hash, f);
    default:
      // Copy modes: links left from an earlier hardlink/symlink setting become copies.
      return f.isLink || (f.nlink > 1 && repo.cache.sharesInode(hash, f));
  }
}

/** Replaces workspace files by links to their cache objects (hardlink/symlink modes, after `add`). */
export async function relinkWorkspace(
  repo: Repo,
  statCache: StatCache,
  files: WorkspaceFile[],
): Promise<void> {
  const relink = files.filter((f) => needsRelink(repo, f, hashOf(f)));
  await repo.cache.materializeMany(
    relink.map((f) => ({ hash: hashOf(f), dest: f.abs })),
    repo.config.cache.link,
  );
  for (const f of relink) statCache.record(f.path, fs.statSync(f.abs), hashOf(f));
}
