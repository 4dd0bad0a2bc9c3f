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
import { DataverError, isDataverError } from '@dataver/foundation';
import { isSameOrInside } from '../lock/paths.js';
import type { Lock, OutputEntry } from '../lock/schema.js';
import type { ManifestEntry } from '../odb/manifest.js';
import { ensureInternalDirs, type Repo } from './repo.js';
import { StatCache } from './stat-cache.js';
import { lockProblems, selectOutputs } from './status.js';
import { hashOf, resolveHashes, statFile, type WorkspaceFile, walkDirectory } from './workspace.js';

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
    const current = currentFiles(repo, outPath, deletes).filter((f) => inScope(f.path));
    await resolveHashes(repo, statCache, current);
    // Only asked about files that stand there now (none in a fresh clone: no map of every file).
    const wantedHash = current.length > 0 ? new Map(wanted.map((w) => [w.repoPath, w.hash])) : undefined;
    // dataver's own content: what it last wrote here, or what is wanted anyway; both recoverable.
    const replaceable = (f: WorkspaceFile) =>
      repo.cache.has(hashOf(f)) && (previous.get(f.path) === f.hash || wantedHash?.get(f.path) === f.hash);

    const byPath = new Map(current.map((f) => [f.path, f]));
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
      writes.push(w);
    }
    for (const extra of byPath.values()) {
      if (!replaceable(extra) && !options.force) unsaved.push(extra.path);
      else deletes.push(extra.path);
    }
    if (entry.kind === 'dir' && wanted.length === 0) emptyDirs.push(outPath);
    if (!repoPaths || repoPaths.includes(outPath)) complete.push([outPath, entry.hash]);
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
  // The files are in place: a state folder that cannot be written (read-only, full) only costs
  // the next status some hashing, and the next checkout asks --force for files it cannot vouch for.
  await statCache.save((error) =>
    options.onWarning?.(
      `cannot save the stat cache (${(error as Error).message}); the files are checked out, the next status hashes them again`,
    ),
  );
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

/** What stands at an output's place now: the files of a folder, or one file. */
function currentFiles(repo: Repo, outPath: string, leftovers: string[]): WorkspaceFile[] {
  const st = fs.lstatSync(repo.abs(outPath), { throwIfNoEntry: false });
  if (!st) return [];
  if (st.isDirectory()) return walkDirectory(repo, outPath, { leftovers });
  const f = statFile(repo, outPath);
  return f ? [f] : [];
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
