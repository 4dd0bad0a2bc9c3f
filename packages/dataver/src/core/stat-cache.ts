// The stat cache: hashes are reused while a file's (size, mtime, inode) stay the
// same, so a no-op `status` on a huge tree touches only metadata. It lives in
// .dataver/state/ (not in a system temp dir that CI would lose).
//
// Two levels: per file (path → size, mtime, inode, hash), and per directory
// (a digest of every file's path and metadata → the directory's manifest hash).
// When a directory's digest is unchanged, not even the per-file table is loaded.
// It also remembers which version dataver last wrote to each output's place,
// so checkout knows which workspace files are its own to replace.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@dataver/foundation';
import type { Repo } from './repo.js';

type Entry = [size: number, mtimeMs: number, ino: number, hash: string];

export interface StatLike {
  size: number;
  mtimeMs: number;
  ino: number;
}

const VERSION = 1;

interface OutputState {
  dirs: Map<string, [digest: string, hash: string]>;
  materialized: Map<string, string>;
}

export class StatCache {
  private entries: Map<string, Entry> | undefined;
  private outputs: OutputState | undefined;
  private dirtyFiles = false;
  private dirtyOutputs = false;

  private constructor(
    private readonly file: string,
    private readonly outputFile: string,
  ) {}

  /** Opens the cache of a repository; files are read on first use. A damaged file is an empty cache. */
  static async load(repo: Repo): Promise<StatCache> {
    return new StatCache(
      path.join(repo.stateDir, 'stat-cache.json'),
      path.join(repo.stateDir, 'outputs.json'),
    );
  }

  private files(): Map<string, Entry> {
    if (!this.entries) {
      this.entries = new Map();
      const parsed = readJson(this.file) as { version?: number; entries?: Record<string, Entry> } | undefined;
      if (parsed?.version === VERSION && parsed.entries) {
        for (const [key, entry] of Object.entries(parsed.entries)) this.entries.set(key, entry);
      }
    }
    return this.entries;
  }

  private outputState(): OutputState {
    if (!this.outputs) {
      const parsed = readJson(this.outputFile) as
        | { version?: number; dirs?: Record<string, [string, string]>; materialized?: Record<string, string> }
        | undefined;
      const valid = parsed?.version === VERSION;
      this.outputs = {
        dirs: new Map(valid && parsed.dirs ? Object.entries(parsed.dirs) : []),
        materialized: new Map(valid && parsed.materialized ? Object.entries(parsed.materialized) : []),
      };
    }
    return this.outputs;
  }

  /** The cached hash when the file's metadata still matches. */
  lookup(repoPath: string, st: StatLike): string | undefined {
    const e = this.files().get(repoPath);
    return e && e[0] === st.size && e[1] === st.mtimeMs && e[2] === st.ino ? e[3] : undefined;
  }

  record(repoPath: string, st: StatLike, hash: string): void {
    const files = this.files();
    const e = files.get(repoPath);
    if (e && e[0] === st.size && e[1] === st.mtimeMs && e[2] === st.ino && e[3] === hash) return;
    files.set(repoPath, [st.size, st.mtimeMs, st.ino, hash]);
    this.dirtyFiles = true;
  }

  /** Drops one file's entry (its bytes must be read again before they are trusted). */
  forgetFile(repoPath: string): void {
    if (this.files().delete(repoPath)) this.dirtyFiles = true;
  }

  /** The manifest hash of a directory whose files' paths and metadata digest to `digest`. */
  lookupDir(repoPath: string, digest: string): string | undefined {
    const d = this.outputState().dirs.get(repoPath);
    return d && d[0] === digest ? d[1] : undefined;
  }

  recordDir(repoPath: string, digest: string, manifestHash: string): void {
    const d = this.outputState().dirs.get(repoPath);
    if (d && d[0] === digest && d[1] === manifestHash) return;
    this.outputState().dirs.set(repoPath, [digest, manifestHash]);
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
    for (const key of this.files().keys()) {
      if (inside(key)) {
        this.files().delete(key);
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

  async save(): Promise<void> {
    if (this.dirtyFiles && this.entries) {
      const obj: Record<string, Entry> = {};
      for (const [k, v] of this.entries) obj[k] = v;
      await writeFileAtomic(this.file, JSON.stringify({ version: VERSION, entries: obj }));
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
      );
      this.dirtyOutputs = false;
    }
  }
}

/**
 * A digest of a directory listing's paths and metadata (not contents): equal digests mean
 * no file was added, removed, resized, touched or replaced.
 */
export function listingDigest(files: Array<{ rel: string } & StatLike>): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.rel}\0${f.size}\0${f.mtimeMs}\0${f.ino}\n`);
  return h.digest('hex');
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // missing or damaged: only a cache
  }
}
