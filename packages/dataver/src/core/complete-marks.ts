// Remembers directory versions whose every object was seen in the cache, so a
// no-op `status` on a 100 000-file directory does not check 100 000 objects.
// Only gc and verify --fix delete cache objects; both clear these marks.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@dataver/foundation';
import { readTextOrUndefined } from '../util/fs.js';
import type { Repo } from './repo.js';

const FILE = 'complete-dirs.json';

export class CompleteMarks {
  private dirty = false;
  private constructor(
    private readonly file: string,
    private readonly hashes: Set<string>,
  ) {}

  static async load(repo: Repo): Promise<CompleteMarks> {
    // Kept inside the cache folder, so that deleting the cache deletes the marks too.
    const file = path.join(repo.cache.root, FILE);
    let hashes: string[] = [];
    try {
      hashes = JSON.parse((await readTextOrUndefined(file)) ?? '[]') as string[];
    } catch {
      // A damaged file only costs a re-check.
    }
    return new CompleteMarks(file, new Set(Array.isArray(hashes) ? hashes : []));
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

  async save(): Promise<void> {
    if (!this.dirty) return;
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, JSON.stringify([...this.hashes].sort()));
    this.dirty = false;
  }

  /** Forgets every mark (after objects were deleted from the cache). */
  static async clear(repo: Repo): Promise<void> {
    await fsp.rm(path.join(repo.cache.root, FILE), { force: true });
  }
}
