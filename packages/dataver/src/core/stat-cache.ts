// The stat cache: hashes are reused while a file's (size, mtime, inode) stay the
// same, so a no-op `status` on a huge tree touches only metadata. It lives in
// .dataver/state/ (not in a system temp dir that CI would lose).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import type { Repo } from './repo.js';

type Entry = [size: number, mtimeMs: number, ino: number, hash: string];

export interface StatLike {
  size: number;
  mtimeMs: number;
  ino: number;
}

const VERSION = 1;

export class StatCache {
  private dirty = false;

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, Entry>,
  ) {}

  /** Loads the cache of a repository; a missing or damaged file is an empty cache (it is only a cache). */
  static async load(repo: Repo): Promise<StatCache> {
    const file = path.join(repo.stateDir, 'stat-cache.json');
    const entries = new Map<string, Entry>();
    try {
      const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as {
        version: number;
        entries: Record<string, Entry>;
      };
      if (parsed.version === VERSION)
        for (const key of Object.keys(parsed.entries)) entries.set(key, parsed.entries[key]);
    } catch {
      // Missing or damaged: start empty; everything is re-hashed once.
    }
    return new StatCache(file, entries);
  }

  /** The cached hash when the file's metadata still matches. */
  lookup(repoPath: string, st: StatLike): string | undefined {
    const e = this.entries.get(repoPath);
    return e && e[0] === st.size && e[1] === st.mtimeMs && e[2] === st.ino ? e[3] : undefined;
  }

  record(repoPath: string, st: StatLike, hash: string): void {
    const e = this.entries.get(repoPath);
    if (e && e[0] === st.size && e[1] === st.mtimeMs && e[2] === st.ino && e[3] === hash) return;
    this.entries.set(repoPath, [st.size, st.mtimeMs, st.ino, hash]);
    this.dirty = true;
  }

  forget(prefix: string): void {
    for (const key of this.entries.keys()) {
      if (key === prefix || key.startsWith(`${prefix}/`)) {
        this.entries.delete(key);
        this.dirty = true;
      }
    }
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const obj: Record<string, Entry> = {};
    for (const [k, v] of this.entries) obj[k] = v;
    await writeFileAtomic(this.file, JSON.stringify({ version: VERSION, entries: obj }));
    this.dirty = false;
  }
}
