// The stat cache: hashes are reused while a file's (size, mtime, ctime, inode) stay the
// same, so a no-op `status` on a huge tree touches only metadata. It lives in
// .dataver/state/ (not in a system temp dir that CI would lose).
//
// Two levels: per file (path → size, mtime, ctime, inode, hash), and per directory
// (a digest of every file's path and metadata → the directory's manifest hash).
// When a directory's digest is unchanged, not even the per-file table is loaded.
// It also remembers which version dataver last wrote to each output's place,
// so checkout knows which workspace files are its own to replace.
//
// Nothing a crash or a clever edit can leave behind is trusted: ctime is compared too (an edit
// followed by a reset of the mtime moves it), and an entry whose mtime or ctime is not older
// than the cache file itself is "racy" (git's racy-git rule: the file may have changed within the
// same timestamp tick after it was hashed) and is hashed again.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@dataver/foundation';
import type { Repo } from './repo.js';
import type { StatEntry, StatTable } from './stat-table.js';

export interface StatLike {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** What a directory listing's metadata says: its digest, and the newest time stamp in it. */
export interface Listing {
  digest: string;
  /** The latest mtime or ctime of its files (ms), for the racy check. */
  newest: number;
}

/** 2: ctime joined the entries; caches of version 1 are ignored (everything is hashed once). */
const VERSION = 2;
/** The per-file table (binary, see stat-table.ts; it replaced stat-cache.json). */
const STAT_FILE = 'stat-cache.bin';

function sameStat(e: StatEntry, st: StatLike): boolean {
  return e.size === st.size && e.mtimeMs === st.mtimeMs && e.ino === st.ino && e.ctimeMs === st.ctimeMs;
}

interface OutputState {
  dirs: Map<string, [digest: string, hash: string, newest: number]>;
  materialized: Map<string, string>;
}

/** The mtime (ms) of a file, or undefined when it does not exist. */
function stampOf(file: string): number | undefined {
  return statSync(file, { throwIfNoEntry: false })?.mtimeMs;
}

/**
 * True when metadata recorded at `stamp` (the cache file's mtime) can vouch for a file last
 * changed at `changed`: strictly older, so no change in the same timestamp tick can hide.
 *
 * @example
 * isRacy(1000, 1000); // true
 */
export function isRacy(changed: number, stamp: number | undefined): boolean {
  return stamp === undefined || changed >= stamp;
}

export class StatCache {
  private entries: StatTable | undefined;
  private outputs: OutputState | undefined;
  /** mtime of stat-cache.bin / outputs.json when read: entries not older than that are racy. */
  private fileStamp: number | undefined;
  private outputStamp: number | undefined;
  /** Paths recorded by this process: hashed just now, so their metadata is trusted as recorded. */
  private readonly fresh = new Set<string>();
  private readonly freshDirs = new Set<string>();
  private dirtyFiles = false;
  private dirtyOutputs = false;

  private constructor(
    private readonly file: string,
    private readonly outputFile: string,
  ) {}

  /** Opens the cache of a repository; files are read on first use. A damaged file is an empty cache. */
  static async load(repo: Repo): Promise<StatCache> {
    return new StatCache(path.join(repo.stateDir, STAT_FILE), path.join(repo.stateDir, 'outputs.json'));
  }

  private files(): StatTable {
    if (!this.entries) {
      this.fileStamp = stampOf(this.file);
      // Loaded with the table: a status that the file-system monitor answers may never need it.
      const { StatTable } = require('./stat-table.js') as typeof import('./stat-table.js');
      this.entries = StatTable.read(this.file);
    }
    return this.entries;
  }

  private outputState(): OutputState {
    if (!this.outputs) {
      this.outputStamp = stampOf(this.outputFile);
      const parsed = readJson(this.outputFile) as
        | {
            version?: number;
            dirs?: Record<string, [string, string, number]>;
            materialized?: Record<string, string>;
          }
        | undefined;
      const valid = parsed?.version === VERSION;
      this.outputs = {
        dirs: new Map(valid && parsed.dirs ? Object.entries(parsed.dirs) : []),
        materialized: new Map(valid && parsed.materialized ? Object.entries(parsed.materialized) : []),
      };
    }
    return this.outputs;
  }

  /** The cached hash when the file's metadata still matches and is not racy. */
  lookup(repoPath: string, st: StatLike): string | undefined {
    const e = this.files().get(repoPath);
    if (!e || !sameStat(e, st)) return undefined;
    if (!this.fresh.has(repoPath) && isRacy(Math.max(e.mtimeMs, e.ctimeMs), this.fileStamp)) {
      // Hashed again now; the rewrite of the cache file makes the entry old enough next time.
      this.dirtyFiles = true;
      return undefined;
    }
    return e.hash;
  }

  record(repoPath: string, st: StatLike, hash: string): void {
    const files = this.files();
    this.fresh.add(repoPath);
    const e = files.get(repoPath);
    if (e && e.hash === hash && sameStat(e, st)) return;
    files.set(repoPath, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, hash });
    this.dirtyFiles = true;
  }

  /** Drops one file's entry (its bytes must be read again before they are trusted). */
  forgetFile(repoPath: string): void {
    this.fresh.delete(repoPath);
    if (this.files().delete(repoPath)) this.dirtyFiles = true;
  }

  /** The manifest hash of a directory whose files' paths and metadata make `listing`. */
  lookupDir(repoPath: string, listing: Listing): string | undefined {
    const d = this.outputState().dirs.get(repoPath);
    if (!d || d[0] !== listing.digest) return undefined;
    if (!this.freshDirs.has(repoPath) && isRacy(d[2], this.outputStamp)) {
      this.dirtyOutputs = true;
      return undefined;
    }
    return d[1];
  }

  recordDir(repoPath: string, listing: Listing, manifestHash: string): void {
    this.freshDirs.add(repoPath);
    const d = this.outputState().dirs.get(repoPath);
    if (d && d[0] === listing.digest && d[1] === manifestHash) return;
    this.outputState().dirs.set(repoPath, [listing.digest, manifestHash, listing.newest]);
    this.dirtyOutputs = true;
  }

  /**
   * The version (file hash or manifest hash) that dataver last wrote to an output's place in
   * the workspace, by add or checkout. Files still equal to it are dataver's to replace.
   */
  lastMaterialized(outPath: string): string | undefined {
    return this.outputState().materialized.get(outPath);
  }

  recordMaterialized(outPath: string, hash: string): void {
    if (this.outputState().materialized.get(outPath) === hash) return;
    this.outputState().materialized.set(outPath, hash);
    this.dirtyOutputs = true;
  }

  forget(prefix: string): void {
    const inside = (key: string) =>
      key === prefix || key.startsWith(`${prefix}/`) || prefix.startsWith(`${key}/`);
    for (const key of [...this.files().paths()]) {
      if (inside(key)) {
        this.files().delete(key);
        this.fresh.delete(key);
        this.dirtyFiles = true;
      }
    }
    const { dirs, materialized } = this.outputState();
    for (const map of [dirs, materialized] as Array<Map<string, unknown>>) {
      for (const key of map.keys()) {
        if (inside(key)) {
          map.delete(key);
          this.dirtyOutputs = true;
        }
      }
    }
  }

  /**
   * Writes what changed. Only a cache: where the state folder cannot be written (a read-only
   * checkout, a full disk) the next command simply hashes again, so `onError` only reports.
   */
  async save(onError?: (error: unknown) => void): Promise<void> {
    try {
      if (this.dirtyFiles && this.entries) {
        await this.entries.save(this.file);
        this.dirtyFiles = false;
      }
      if (this.dirtyOutputs && this.outputs) {
        await writeFileAtomic(
          this.outputFile,
          JSON.stringify({
            version: VERSION,
            dirs: Object.fromEntries(this.outputs.dirs),
            materialized: Object.fromEntries(this.outputs.materialized),
          }),
          { mkdir: true },
        );
        this.dirtyOutputs = false;
      }
    } catch (error) {
      if (!onError) throw error;
      onError(error);
    }
  }
}

/**
 * The metadata of a directory listing (paths, sizes, times, inodes; not contents): equal digests
 * mean no file was added, removed, resized, touched or replaced.
 *
 * @example
 * const listing = describeListing(walkDirectory(repo, 'data/raw'));
 */
export function describeListing(files: Array<{ rel: string } & StatLike>): Listing {
  const h = createHash('sha256');
  let newest = 0;
  for (const f of files) {
    h.update(`${f.rel}\0${f.size}\0${f.mtimeMs}\0${f.ctimeMs}\0${f.ino}\n`);
    newest = Math.max(newest, f.mtimeMs, f.ctimeMs);
  }
  return { digest: h.digest('hex'), newest };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // missing or damaged: only a cache
  }
}
