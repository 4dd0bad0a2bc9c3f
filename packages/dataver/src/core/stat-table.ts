// The per-file half of the stat cache, at a million entries: one binary file of records sorted
// by path bytes, read into one buffer and searched in place. No object per entry is made, so
// memory is the file's bytes plus what this process changed; a save writes the unchanged runs
// straight from the old buffer, merged with the changes. The changes are packed too (a slot of
// four doubles and 32 hash bytes each, found through a path → slot map), since a checkout of a
// million files changes every entry: as objects they cost about 200 bytes a file more.
//
// File: "DVSTAT01", then records, then the SHA-256 of everything before it (a torn or damaged
// file is detected and ignored: the cache only saves hashing, so it is rebuilt, never trusted).
// Record: u16 path length, the path (UTF-8), f64 size, f64 mtimeMs, f64 ctimeMs, f64 ino, and
// the 32 bytes of the content hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@dataver/foundation';

/** What the cache knows of a file. */
export interface StatEntry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Lowercase hex SHA-256 of its bytes. */
  hash: string;
}

const MAGIC = Buffer.from('DVSTAT01', 'latin1');
const TAIL = 4 * 8 + 32;
const DIGEST = 32;

export class StatTable {
  private base: Buffer = Buffer.alloc(0);
  /** Start of each record in `base`. */
  private offsets = new Uint32Array(0);
  /** Changes since loading: the slot of an entry in `changed`, or {@link REMOVED}. */
  private readonly changes = new Map<string, number>();
  private readonly changed = new ChangeSlots();
  /** Where the last lookup ended: lookups in path order cost one comparison each. */
  private cursor = 0;

  /** Reads `file`; a missing, torn or damaged one gives an empty table. */
  static read(file: string): StatTable {
    const table = new StatTable();
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      return table;
    }
    const body = bytes.subarray(0, Math.max(0, bytes.length - DIGEST));
    if (
      bytes.length < MAGIC.length + DIGEST ||
      !body.subarray(0, MAGIC.length).equals(MAGIC) ||
      !createHash('sha256').update(body).digest().equals(bytes.subarray(body.length))
    )
      return table;
    const offsets: number[] = [];
    for (let at = MAGIC.length; at < body.length; ) {
      const end = at + 2 + body.readUInt16LE(at) + TAIL;
      if (end > body.length) return new StatTable(); // a valid digest over a malformed body: not ours
      offsets.push(at);
      at = end;
    }
    table.base = body;
    table.offsets = Uint32Array.from(offsets);
    return table;
  }

  get size(): number {
    return this.offsets.length + this.changes.size;
  }

  get(path: string): StatEntry | undefined {
    const slot = this.changes.get(path);
    if (slot !== undefined) return slot === REMOVED ? undefined : this.changed.entry(slot);
    const i = this.find(Buffer.from(path, 'utf8'));
    return i < 0 ? undefined : this.entryAt(i);
  }

  set(path: string, entry: StatEntry): void {
    const slot = this.changes.get(path);
    this.changes.set(
      path,
      this.changed.put(entry, slot === undefined || slot === REMOVED ? undefined : slot),
    );
  }

  /** Removes an entry; true when there was one. */
  delete(path: string): boolean {
    const had = this.get(path) !== undefined;
    if (had) this.changes.set(path, REMOVED);
    return had;
  }

  /** Every path (for the rare whole-table sweeps: forgetting a removed output). */
  *paths(): IterableIterator<string> {
    for (let i = 0; i < this.offsets.length; i++) {
      const path = this.pathAt(i);
      if (!this.changes.has(path)) yield path;
    }
    for (const [path, slot] of this.changes) if (slot !== REMOVED) yield path;
  }

  get dirty(): boolean {
    return this.changes.size > 0;
  }

  /** Writes the table with its changes merged, atomically. */
  async save(file: string): Promise<void> {
    const changed = [...this.changes.keys()].sort(byteOrder);
    const out = new RecordWriter();
    out.push(MAGIC);
    let run = -1; // start of the current run of unchanged records in `base`
    const flush = (end: number) => {
      if (run >= 0) out.push(this.base.subarray(run, end));
      run = -1;
    };
    let c = 0;
    let head = changed[0] === undefined ? undefined : Buffer.from(changed[0], 'utf8');
    const next = () => {
      const path = changed[c++] as string;
      const slot = this.changes.get(path) as number;
      if (slot !== REMOVED) out.record(head as Buffer, this.changed, slot);
      head = c < changed.length ? Buffer.from(changed[c] as string, 'utf8') : undefined;
    };
    for (let i = 0; i < this.offsets.length; i++) {
      const start = this.offsets[i] as number;
      const key = this.keyAt(i);
      while (head && Buffer.compare(head, key) < 0) {
        flush(start);
        next();
      }
      if (head?.equals(key)) {
        flush(start);
        next();
        continue;
      }
      if (run < 0) run = start;
    }
    flush(this.base.length);
    while (head) next();
    await writeFileAtomic(file, out.sealed(), { mkdir: true });
  }

  private keyAt(i: number): Buffer {
    const at = this.offsets[i] as number;
    return this.base.subarray(at + 2, at + 2 + this.base.readUInt16LE(at));
  }

  private pathAt(i: number): string {
    return this.keyAt(i).toString('utf8');
  }

  private entryAt(i: number): StatEntry {
    const at = this.offsets[i] as number;
    const tail = at + 2 + this.base.readUInt16LE(at);
    return {
      size: this.base.readDoubleLE(tail),
      mtimeMs: this.base.readDoubleLE(tail + 8),
      ctimeMs: this.base.readDoubleLE(tail + 16),
      ino: this.base.readDoubleLE(tail + 24),
      hash: this.base.toString('hex', tail + 32, tail + 64),
    };
  }

  /** The record index of `key`, or -1: from the cursor forward first, else by bisection. */
  private find(key: Buffer): number {
    const n = this.offsets.length;
    for (let i = this.cursor, steps = 0; i < n && steps < 4; i++, steps++) {
      const order = Buffer.compare(this.keyAt(i), key);
      if (order === 0) {
        this.cursor = i + 1;
        return i;
      }
      if (order > 0) break;
    }
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const order = Buffer.compare(this.keyAt(mid), key);
      if (order === 0) {
        this.cursor = mid + 1;
        return mid;
      }
      if (order < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/** The slot value of a removal. */
const REMOVED = -1;

/** Changed entries, packed as the file's record tails are (4 doubles, 32 hash bytes), in growing arrays. */
class ChangeSlots {
  private bytes = Buffer.alloc(0);
  private count = 0;

  /** Stores an entry in `slot`, or in a new slot; returns the slot. */
  put(entry: StatEntry, slot = this.count): number {
    if (slot === this.count) {
      if ((slot + 1) * TAIL > this.bytes.length) {
        const grown = Buffer.alloc(Math.max(64 * TAIL, 2 * this.bytes.length));
        this.bytes.copy(grown);
        this.bytes = grown;
      }
      this.count++;
    }
    let at = slot * TAIL;
    at = this.bytes.writeDoubleLE(entry.size, at);
    at = this.bytes.writeDoubleLE(entry.mtimeMs, at);
    at = this.bytes.writeDoubleLE(entry.ctimeMs, at);
    at = this.bytes.writeDoubleLE(entry.ino, at);
    if (this.bytes.write(entry.hash, at, DIGEST, 'hex') !== DIGEST || !HEX64.test(entry.hash))
      throw new TypeError(`not a SHA-256 hex digest: '${entry.hash}'`);
    return slot;
  }

  entry(slot: number): StatEntry {
    const at = slot * TAIL;
    return {
      size: this.bytes.readDoubleLE(at),
      mtimeMs: this.bytes.readDoubleLE(at + 8),
      ctimeMs: this.bytes.readDoubleLE(at + 16),
      ino: this.bytes.readDoubleLE(at + 24),
      hash: this.bytes.toString('hex', at + 32, at + TAIL),
    };
  }

  /** Copies a slot's bytes, which are a file record's tail, into `target`; returns the byte count. */
  copyRecordTail(slot: number, target: Buffer, at: number): number {
    return this.bytes.copy(target, at, slot * TAIL, (slot + 1) * TAIL);
  }
}
const HEX64 = /^[0-9a-f]{64}$/;

/** Byte order of the UTF-8 encodings (UTF-16 order differs only around surrogates). */
function byteOrder(a: string, b: string): number {
  if (HIGH.test(a) || HIGH.test(b)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return a < b ? -1 : a > b ? 1 : 0;
}
const HIGH = /[\uD800-\uFFFF]/;

/** The file's parts: runs of the old buffer as they are, new records packed into 1 MiB chunks. */
class RecordWriter {
  private readonly parts: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private start = 0;

  push(bytes: Buffer): void {
    this.cut();
    this.parts.push(bytes);
  }

  record(key: Buffer, slots: ChangeSlots, slot: number): void {
    if (key.length > 0xffff)
      throw new RangeError(`path of ${key.length} bytes is too long for the stat cache`);
    const size = 2 + key.length + TAIL;
    if (this.used + size > this.chunk.length) {
      this.cut();
      this.chunk = Buffer.allocUnsafe(Math.max(1 << 20, size));
      this.used = 0;
      this.start = 0;
    }
    let at = this.chunk.writeUInt16LE(key.length, this.used);
    at += key.copy(this.chunk, at);
    this.used = at + slots.copyRecordTail(slot, this.chunk, at);
  }

  /** The parts followed by their SHA-256. */
  sealed(): Buffer[] {
    this.cut();
    const digest = createHash('sha256');
    for (const p of this.parts) digest.update(p);
    return [...this.parts, digest.digest()];
  }

  /** Ends the records packed so far as one part. */
  private cut(): void {
    if (this.used > this.start) this.parts.push(this.chunk.subarray(this.start, this.used));
    this.start = this.used;
  }
}
