// Reading the workspace: walking tracked paths, and hashing what the stat
// cache cannot vouch for (on all cores), optionally copying it into the cache.
import * as fs from 'node:fs';
import path from 'node:path';
import { DataverError, isStaleTemp, isTempName } from '@dataver/foundation';
import type { PoolOptions } from '../hash/pool.js';
import { hashFiles, isFailure } from '../hash/pool.js';
import { isSafeRelativePath } from '../lock/paths.js';
import type { ManifestEntry } from '../odb/manifest.js';
import { present, zip } from '../util/invariants.js';
import {
  KIND_DIR,
  KIND_FILE,
  KIND_SYMLINK,
  META,
  type NativeListing,
  nativeWalk,
} from '../util/native-walk.js';
import type { Repo } from './repo.js';
import { describeListing, type Listing, type StatCache } from './stat-cache.js';

export interface WorkspaceFile {
  /** Repository path (`/`-separated). */
  path: string;
  /** Path relative to the tracked directory (equal to the file name for a tracked file). */
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
  /** Hard links to the file's bytes (more than 1: it may share them with a cache object). */
  nlink: number;
  /** The path itself is a symlink (the other fields describe its target). */
  isLink: boolean;
  /** Filled in by `resolveHashes`. */
  hash?: string;
  /** Set by `resolveHashes` with `ingest` when the file's bytes were new to the cache. */
  added?: boolean;
}

/**
 * A file of a native listing: its numbers stay in the listing's Float64Array and its absolute
 * path is made when asked, so a million listed files cost no boxed number per field and no
 * absolute path each (about 250 B a file less than a plain object).
 */
class ListedFile implements WorkspaceFile {
  hash?: string;
  added?: boolean;
  readonly isLink = false;

  constructor(
    readonly path: string,
    readonly rel: string,
    /** The folder the listing started in: `abs` is it joined with `rel`. */
    private readonly rootAbs: string,
    private readonly meta: Float64Array,
    /** Index of this file's first number in `meta`. */
    private readonly at: number,
  ) {}

  get abs(): string {
    return path.sep === '/' ? `${this.rootAbs}/${this.rel}` : path.join(this.rootAbs, this.rel);
  }
  get size(): number {
    return this.meta[this.at + 1] as number;
  }
  get mtimeMs(): number {
    return this.meta[this.at + 2] as number;
  }
  get ctimeMs(): number {
    return this.meta[this.at + 3] as number;
  }
  get ino(): number {
    return this.meta[this.at + 4] as number;
  }
  get dev(): number {
    return this.meta[this.at + 5] as number;
  }
  get nlink(): number {
    return this.meta[this.at + 6] as number;
  }
}

/**
 * A plain copy of a file under another relative path (its absolute path stays). Spreading a
 * listed file would drop what its class computes, so copies go through here.
 *
 * @example
 * files.push(relabel(f, `${root}/${f.rel}`));
 */
export function relabel(f: WorkspaceFile, rel: string): WorkspaceFile {
  return {
    path: f.path,
    rel,
    abs: f.abs,
    size: f.size,
    mtimeMs: f.mtimeMs,
    ctimeMs: f.ctimeMs,
    ino: f.ino,
    dev: f.dev,
    nlink: f.nlink,
    isLink: f.isLink,
    ...(f.hash === undefined ? {} : { hash: f.hash }),
    ...(f.added === undefined ? {} : { added: f.added }),
  };
}

function describe(repoPath: string, rel: string, abs: string, st: fs.Stats, isLink: boolean): WorkspaceFile {
  return {
    path: repoPath,
    rel,
    abs,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
    ino: st.ino,
    dev: st.dev,
    nlink: st.nlink,
    isLink,
  };
}

/**
 * Lists the regular files below a directory, recursively, sorted by path. Symlinks are
 * followed only when they stay inside the repository. The native walker reads the folders
 * on several threads where it is built; the JavaScript walk gives the same list, and the
 * errors of both are the JavaScript walk's (it runs again to name what failed).
 */
export function walkDirectory(
  repo: Repo,
  repoPath: string,
  options: { leftovers?: string[] } = {},
): WorkspaceFile[] {
  return listDirectory(repo, repoPath, options).files();
}

/** A directory's listing: its metadata digest at once, its files when asked for (they cost objects). */
export interface DirectoryListing extends Listing {
  files(): WorkspaceFile[];
  /** Some of the files are symlinks (their content can change outside the folder). */
  links: boolean;
}

/**
 * The metadata digest of a directory's files (see `describeListing`) and, lazily, the files.
 * From the native walker the digest covers its raw output (names and every number but nlink),
 * so that a no-op `status` builds no object per file; it differs from the JavaScript walk's
 * digest, which only makes the first status after a switch between the two look further.
 *
 * @example
 * const listing = listDirectory(repo, 'data');
 * if (statCache.lookupDir('data', listing) === undefined) hashAll(listing.files());
 */
export function listDirectory(
  repo: Repo,
  repoPath: string,
  options: { leftovers?: string[] } = {},
): DirectoryListing {
  const rootAbs = repo.abs(repoPath);
  if (fs.lstatSync(rootAbs, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new DataverError('PATH_OUTSIDE_REPO', `${repoPath} is a symlink to a folder`, {
      hint: 'dataver tracks real folders; replace the link by the folder',
    });
  }
  let native: NativeListing | undefined;
  try {
    native = nativeWalk(rootAbs);
  } catch {
    native = undefined;
  }
  let files: WorkspaceFile[] | undefined;
  const list = () => {
    if (!files) {
      files = native
        ? fromNativeListing(repoPath, rootAbs, native, options, repo)
        : walkInJs(repo, repoPath, rootAbs, options);
      files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    }
    return files;
  };
  const summary = native && nativeSummary(native);
  // A symlink's numbers are its target's, which only the file list follows.
  if (!summary) {
    const files = list();
    return { ...describeListing(files), files: list, links: files.some((f) => f.isLink) };
  }
  return { ...summary, files: list, links: false };
}

/**
 * The digest and newest time stamp of a native listing, both computed by the walk's threads;
 * undefined when it holds a symlink. Hard-link counts stay out, as in describeListing: add and
 * checkout link files into the cache.
 */
function nativeSummary(listing: NativeListing): Listing | undefined {
  if (listing.links) return undefined;
  return { digest: `native walk 2 ${listing.digest}`, newest: listing.newest };
}

/**
 * The rules both walks share for one entry: true to list it (or descend into it), false to skip
 * it; a name dataver cannot track throws.
 */
function admit(repoPath: string, rel: string, name: string, options: { leftovers?: string[] }): boolean {
  if (isTempName(name)) {
    // A write in flight (another tool's atomic write) or one a crash interrupted: never data.
    // Checkout collects those of dead processes to delete them.
    if (isStaleTemp(name)) options.leftovers?.push(`${repoPath}/${rel}`);
    return false;
  }
  if (!isSafeRelativePath(rel)) {
    throw new DataverError(
      'USAGE',
      `${JSON.stringify(`${repoPath}/${rel}`)}: dataver cannot track this name`,
      {
        hint: 'rename it: backslashes, control characters and nested .git folders are not supported in tracked folders',
      },
    );
  }
  return true;
}

/** A symlink inside a tracked folder: its target's metadata, or undefined to skip it. */
function followLink(repo: Repo, repoPath: string, rel: string, abs: string): fs.Stats | undefined {
  repo.assertNoEscapingSymlink(abs, `${repoPath}/${rel}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    return undefined; // dangling link
  }
  if (st.isDirectory()) {
    throw new DataverError('USAGE', `${repoPath}/${rel} is a symlink to a directory`, {
      hint: 'dataver tracks files; replace the link with the directory or a link per file',
    });
  }
  return st.isFile() ? st : undefined; // a link to a fifo, socket or device: not data
}

function fromNativeListing(
  repoPath: string,
  rootAbs: string,
  listing: NativeListing,
  options: { leftovers?: string[] },
  repo: Repo,
): WorkspaceFile[] {
  const out: WorkspaceFile[] = [];
  const names = listing.names.toString('utf8').split('\0');
  const { meta } = listing;
  // Folders the rules skip (temporary names): what the native walk found inside them is skipped too.
  const skipped = new Set<string>();
  const insideSkipped = (rel: string) => {
    for (let cut = rel.lastIndexOf('/'); cut > 0; cut = rel.lastIndexOf('/', cut - 1))
      if (skipped.has(rel.slice(0, cut))) return true;
    return false;
  };
  // Folders first, parents before children (the threads' output is in no order).
  const folders = names.filter((_, i) => meta[i * META] === KIND_DIR).sort();
  for (const rel of folders) {
    if (skipped.size > 0 && insideSkipped(rel)) continue;
    if (!admit(repoPath, rel, rel.slice(rel.lastIndexOf('/') + 1), options)) skipped.add(rel);
  }
  for (let i = 0, m = 0; i < names.length - 1; i++, m += META) {
    const rel = names[i] as string;
    const kind = meta[m];
    if (kind !== KIND_FILE && kind !== KIND_SYMLINK) continue; // folders (done), sockets, fifos, devices
    if (skipped.size > 0 && insideSkipped(rel)) continue;
    if (!admit(repoPath, rel, rel.slice(rel.lastIndexOf('/') + 1), options)) continue;
    if (kind === KIND_SYMLINK) {
      const abs = path.sep === '/' ? `${rootAbs}/${rel}` : path.join(rootAbs, rel);
      const st = followLink(repo, repoPath, rel, abs);
      if (st) out.push(describe(`${repoPath}/${rel}`, rel, abs, st, true));
      continue;
    }
    out.push(new ListedFile(`${repoPath}/${rel}`, rel, rootAbs, meta, m));
  }
  return out;
}

function walkInJs(
  repo: Repo,
  repoPath: string,
  rootAbs: string,
  options: { leftovers?: string[] },
): WorkspaceFile[] {
  const out: WorkspaceFile[] = [];
  const stack: string[] = [''];
  for (let relDir = stack.pop(); relDir !== undefined; relDir = stack.pop()) {
    const absDir = relDir === '' ? rootAbs : path.join(rootAbs, relDir);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(absDir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && relDir === '') return out;
      throw error;
    }
    for (const entry of entries) {
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (!admit(repoPath, rel, entry.name, options)) continue;
      const abs = `${absDir}${path.sep}${entry.name}`;
      if (entry.isDirectory()) {
        stack.push(rel);
        continue;
      }
      if (entry.isSymbolicLink()) {
        const st = followLink(repo, repoPath, rel, abs);
        if (st) out.push(describe(`${repoPath}/${rel}`, rel, abs, st, true));
      } else if (entry.isFile()) {
        const st = fs.lstatSync(abs, { bigint: false, throwIfNoEntry: true });
        out.push(describe(`${repoPath}/${rel}`, rel, abs, st, false));
      }
    }
  }
  return out;
}

/** Stat of one tracked file, or undefined when it does not exist. */
export function statFile(repo: Repo, repoPath: string): WorkspaceFile | undefined {
  const abs = repo.abs(repoPath);
  const link = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!link) return undefined;
  const st = link.isSymbolicLink() ? fs.statSync(abs, { throwIfNoEntry: false }) : link;
  if (!st?.isFile()) return undefined;
  return describe(repoPath, path.posix.basename(repoPath), abs, st, link.isSymbolicLink());
}

/**
 * The hash `resolveHashes` filled in; calling it before is an internal error.
 *
 * @example
 * await resolveHashes(repo, statCache, files);
 * const hashes = files.map(hashOf);
 */
export function hashOf(file: WorkspaceFile): string {
  return present(file.hash, `the hash of ${file.path} (resolveHashes not called?)`);
}

/**
 * A directory's manifest entries from its files, whose hashes are resolved.
 *
 * @example
 * const entries = manifestEntries(files); // kept, e.g. to diff against
 */
export function manifestEntries(files: readonly WorkspaceFile[]): ManifestEntry[] {
  return files.map(manifestFields);
}

/**
 * What a file's manifest entry holds, for the streaming writers (`writeManifest`, `manifestHash`,
 * `ObjectCache.putManifest`) that read files without an entry object per file.
 *
 * @example
 * const hash = manifestHash(files, manifestFields);
 */
export function manifestFields(f: WorkspaceFile): ManifestEntry {
  return { path: f.rel, hash: hashOf(f), size: f.size };
}

/**
 * Fills in `hash` for every file: from the stat cache where metadata is unchanged, else by
 * reading the file (all cores). With `ingest`, files are also copied into the cache.
 */
export async function resolveHashes(
  repo: Repo,
  statCache: StatCache,
  files: WorkspaceFile[],
  options: PoolOptions & {
    ingest?: boolean;
    /** false: hash every file, and neither read nor load the stat cache (for a few files known changed). */
    statCache?: boolean;
  } = {},
): Promise<{ hashed: number; ingested: number }> {
  const todo: WorkspaceFile[] = [];
  const useCache = options.statCache !== false;
  for (const f of files) {
    const cached = useCache ? statCache.lookup(f.path, f) : undefined;
    if (cached !== undefined && (!options.ingest || repo.cache.has(cached))) f.hash = cached;
    else todo.push(f);
  }
  if (todo.length === 0) return { hashed: 0, ingested: 0 };
  let ingested = 0;
  // In rounds of HASH_ROUND files: the jobs, the pool's batches and its results cost ~250 B a
  // file, which a million-file add would otherwise hold all at once (progress counts across rounds).
  for (let at = 0; at < todo.length; at += HASH_ROUND) {
    const round = todo.slice(at, at + HASH_ROUND);
    const jobs = round.map((f) => ({ path: f.abs, size: f.size }));
    const onFile = options.onFile && ((i: number, bytes: number) => options.onFile?.(at + i, bytes));
    if (options.ingest) {
      for (const [f, r] of zip(round, await repo.cache.ingest(jobs, { ...options, onFile }))) {
        f.hash = r.hash;
        f.added = r.added;
        if (r.added) ingested++;
        if (useCache) statCache.record(f.path, f, r.hash);
      }
    } else {
      for (const [f, r] of zip(round, await hashFiles(jobs, { ...options, onFile }))) {
        if (isFailure(r)) {
          throw new DataverError('PATH_NOT_FOUND', `cannot read ${f.path}: ${r.error}`, {
            hint: 'the file changed or vanished while it was being read; run the command again',
          });
        }
        f.hash = r.hash;
        if (useCache) statCache.record(f.path, f, r.hash);
      }
    }
  }
  return { hashed: todo.length, ingested };
}

/** Files hashed per round of resolveHashes (a worker pool's start-up is ~10 ms; a round of these, seconds). */
const HASH_ROUND = 65536;
