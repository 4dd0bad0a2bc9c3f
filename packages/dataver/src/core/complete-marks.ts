// What is known about directory manifests without reading them again: the versions whose every
// object was seen in the cache (so a no-op `status` on a 100 000-file directory does not check
// 100 000 objects), and each manifest's total size and file count (so the lock's `size` and
// `files` are checked against the manifest without parsing it every time). Only gc and
// verify --fix delete cache objects; both clear these marks.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@dataver/foundation';
import { readTextOrUndefined } from '../util/fs.js';
import type { Repo } from './repo.js';

const FILE = 'complete-dirs.json';

/** A manifest's totals: bytes and files. */
export interface ManifestTotals {
  size: number;
  files: number;
}

export class CompleteMarks {
  private dirty = false;
  private constructor(
    private readonly file: string,
    private readonly hashes: Set<string>,
    private readonly totals: Map<string, ManifestTotals>,
  ) {}

  static async load(repo: Repo): Promise<CompleteMarks> {
    // Kept inside the cache folder, so that deleting the cache deletes the marks too.
    const file = path.join(repo.cache.root, FILE);
    let complete: unknown = [];
    let totals: unknown = {};
    try {
      const parsed = JSON.parse((await readTextOrUndefined(file)) ?? '[]') as unknown;
      // An older version stored only the list of complete manifests.
      if (Array.isArray(parsed)) complete = parsed;
      else if (parsed && typeof parsed === 'object')
        ({ complete = [], totals = {} } = parsed as Record<string, unknown>);
    } catch {
      // A damaged file only costs a re-check.
    }
    const hashes = new Set(Array.isArray(complete) ? complete.filter((h) => typeof h === 'string') : []);
    const known = new Map<string, ManifestTotals>();
    if (totals && typeof totals === 'object') {
      for (const [hash, value] of Object.entries(totals as Record<string, unknown>)) {
        if (Array.isArray(value) && Number.isSafeInteger(value[0]) && Number.isSafeInteger(value[1]))
          known.set(hash, { size: value[0] as number, files: value[1] as number });
      }
    }
    return new CompleteMarks(file, hashes, known);
  }

  has(manifestHash: string): boolean {
    return this.hashes.has(manifestHash);
  }

  add(manifestHash: string): void {
    if (!this.hashes.has(manifestHash)) {
      this.hashes.add(manifestHash);
      this.dirty = true;
    }
  }

  /** The totals of a manifest read before (manifests never change: its hash names its bytes). */
  totalsOf(manifestHash: string): ManifestTotals | undefined {
    return this.totals.get(manifestHash);
  }

  rememberTotals(manifestHash: string, totals: ManifestTotals): void {
    if (this.totals.has(manifestHash)) return;
    this.totals.set(manifestHash, totals);
    this.dirty = true;
  }

  /** Writes the marks; where the cache is read-only, `onError` hears of it and the marks are only lost. */
  async save(onError?: (error: unknown) => void): Promise<void> {
    if (!this.dirty) return;
    try {
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      const totals = Object.fromEntries(
        [...this.totals].sort(([a], [b]) => (a < b ? -1 : 1)).map(([h, t]) => [h, [t.size, t.files]]),
      );
      await writeFileAtomic(this.file, JSON.stringify({ complete: [...this.hashes].sort(), totals }));
      this.dirty = false;
    } catch (error) {
      if (!onError) throw error;
      onError(error);
    }
  }

  /** Forgets every mark (after objects were deleted from the cache). */
  static async clear(repo: Repo): Promise<void> {
    await fsp.rm(path.join(repo.cache.root, FILE), { force: true });
  }
}
