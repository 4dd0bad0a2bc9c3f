// Directory manifests: a tracked directory is stored as a JSON object listing
// its files, sorted by path; the directory's hash is the manifest's own hash.
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { DataverError } from '@dataver/foundation';
import { sha256 } from '../hash/file.js';
import { isSafeRelativePath } from '../lock/paths.js';

export interface ManifestEntry {
  /** `/`-separated path relative to the directory. */
  path: string;
  hash: string;
  size: number;
}

/** Compares paths by UTF-16 code units, the same on every platform. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The fields of an entry that its canonical bytes hold, read from an entry or a workspace file. */
export interface ManifestFields {
  path: string;
  hash: string;
  size: number;
}

/**
 * Streams the canonical bytes of a manifest to `sink` in chunks of about 1 MiB: entries sorted by
 * path (already sorted ones are not copied), keys in a fixed order. `fields` reads an entry's
 * fields from whatever the caller holds (workspace files, without an entry object per file). A
 * million entries never make one string or one buffer of the whole manifest (about 100 MB).
 *
 * @example
 * writeManifest(entries, (chunk) => hash.update(chunk));
 */
export function writeManifest<T>(
  entries: readonly T[],
  sink: (chunk: Buffer) => void,
  fields: (entry: T) => ManifestFields = (e) => e as unknown as ManifestFields,
): void {
  let sorted = entries;
  for (let i = 1; i < entries.length; i++) {
    if (comparePaths(fields(entries[i - 1] as T).path, fields(entries[i] as T).path) > 0) {
      sorted = [...entries].sort((a, b) => comparePaths(fields(a).path, fields(b).path));
      break;
    }
  }
  const out = new ChunkWriter(sink);
  let text = '[\n';
  for (let i = 0; i < sorted.length; i++) {
    text += `${i === 0 ? '' : ',\n'}${entryText(fields(sorted[i] as T))}`;
    if (text.length > 1 << 16) {
      out.write(text);
      text = '';
    }
  }
  out.write(`${text}\n]\n`);
  out.flush();
}

/**
 * The canonical bytes of a manifest in one buffer (see {@link writeManifest}).
 *
 * @example
 * const bytes = serializeManifest([{ path: 'a.txt', hash, size: 3 }]);
 */
export function serializeManifest(entries: ManifestEntry[]): Buffer {
  const chunks: Buffer[] = [];
  writeManifest(entries, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks);
}

/** One entry as the canonical bytes hold it (one line, without the separator). */
function entryText(e: ManifestFields): string {
  return `{"path":${JSON.stringify(e.path)},"hash":${JSON.stringify(e.hash)},"size":${JSON.stringify(e.size)}}`;
}

/** Text appended into 1 MiB buffers, each handed to the sink when full. */
class ChunkWriter {
  private current = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  constructor(private readonly sink: (chunk: Buffer) => void) {}

  write(text: string): void {
    if (this.used + text.length * 3 > this.current.length) {
      this.flush();
      this.current = Buffer.allocUnsafe(Math.max(1 << 20, text.length * 3));
    }
    this.used += this.current.write(text, this.used, 'utf8');
  }

  /** Hands what is written so far to the sink (the sink may keep the chunk: it is never reused). */
  flush(): void {
    if (this.used > 0) this.sink(this.current.subarray(0, this.used));
    this.current = this.current.subarray(this.used);
    this.used = 0;
  }
}

/** The hash and bytes of a manifest. */
export function manifestObject(entries: ManifestEntry[]): { hash: string; bytes: Buffer } {
  const bytes = serializeManifest(entries);
  return { hash: sha256(bytes), bytes };
}

/**
 * The hash of a manifest (a directory's hash), computed while its bytes stream through: memory
 * stays at one chunk whatever the number of entries.
 *
 * @example
 * const hash = manifestHash(files, (f) => ({ path: f.rel, hash: f.hash, size: f.size }));
 */
export function manifestHash<T>(entries: readonly T[], fields?: (entry: T) => ManifestFields): string {
  const hash = createHash('sha256');
  writeManifest(entries, (chunk) => hash.update(chunk), fields);
  return hash.digest('hex');
}

/**
 * Parses and validates manifest bytes (paths must stay inside the directory).
 *
 * @example
 * const entries = parseManifest(bytes, hash);
 */
export function parseManifest(bytes: Buffer, hash: string): ManifestEntry[] {
  const raw = parseJson(bytes.toString('utf8'), hash);
  if (!Array.isArray(raw)) {
    throw new DataverError('OBJECT_CORRUPT', `directory manifest ${hash} is not a list`);
  }
  return raw.map((entry: unknown) => validEntry(entry, hash));
}

/**
 * The entries of canonical manifest bytes (hash-checked by the caller), one line at a time: a
 * walk over a million entries holds one entry, not a million objects.
 *
 * @example
 * for (const e of manifestEntriesOf(bytes, hash)) …
 */
export function* manifestEntriesOf(bytes: Buffer, hash: string): Generator<ManifestEntry> {
  // Canonical bytes: "[\n", then one entry per line (all but the last end in ","), then "\n]\n".
  if (
    !bytes.subarray(0, HEAD.length).equals(HEAD) ||
    !bytes.subarray(bytes.length - TAIL.length).equals(TAIL)
  ) {
    throw new DataverError('OBJECT_CORRUPT', `directory manifest ${hash} is not in canonical lines`, {
      hint: 'run `dataver verify` and `dataver pull` to restore it',
    });
  }
  let at = HEAD.length;
  for (;;) {
    const end = bytes.indexOf(NEWLINE, at);
    if (end < 0) break;
    let line = bytes.toString('utf8', at, end);
    at = end + 1;
    if (line === '' || line === ']') continue;
    if (line.endsWith(',')) line = line.slice(0, -1);
    yield validEntry(parseJson(line, hash), hash);
  }
}

/** JSON text of a manifest (whole, or one line); invalid JSON throws OBJECT_CORRUPT. */
function parseJson(text: string, hash: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new DataverError('OBJECT_CORRUPT', `directory manifest ${hash} is not valid JSON`, {
      hint: 'run `dataver verify` and `dataver pull` to restore it',
    });
  }
}

/** A parsed entry checked (its path must stay inside the directory); a bad one throws OBJECT_CORRUPT. */
function validEntry(entry: unknown, hash: string): ManifestEntry {
  const e = entry as Partial<ManifestEntry>;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.path !== 'string' ||
    !isSafeRelativePath(e.path) ||
    typeof e.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(e.hash) ||
    typeof e.size !== 'number'
  ) {
    throw new DataverError('OBJECT_CORRUPT', `directory manifest ${hash} has an invalid entry`, {
      hint: 'the manifest may be hand-crafted: do not trust it; restore it from a remote',
    });
  }
  return { path: e.path, hash: e.hash, size: e.size };
}

/** A change to a manifest: the new entry of a path, or null to remove the path. */
export type ManifestEdit = { path: string; entry: ManifestEntry | null };

const NEWLINE = 0x0a;
const HEAD = Buffer.from('[\n');
const TAIL = Buffer.from('\n]\n');
const SEPARATOR = Buffer.from(',\n');

/** The bytes a {@link ManifestView} reads: a buffer, or a file read a page at a time. */
interface ManifestBytes {
  readonly length: number;
  /** Like Buffer's: the first `byte` at or after `from`, or −1. */
  indexOf(byte: number, from: number): number;
  /** Like Buffer's: the last `byte` at or before `from`, or −1. */
  lastIndexOf(byte: number, from: number): number;
  slice(start: number, end: number): Buffer;
}

function bufferBytes(buffer: Buffer): ManifestBytes {
  return {
    length: buffer.length,
    indexOf: (byte, from) => buffer.indexOf(byte, from),
    lastIndexOf: (byte, from) => (from < 0 ? -1 : buffer.lastIndexOf(byte, from)),
    slice: (start, end) => buffer.subarray(start, end),
  };
}

/** Page size of a manifest read from its file: a lookup touches a dozen pages of 100k-entry bytes. */
const PAGE = 16 * 1024;

/** A file's bytes, read a page at a time on demand (positional reads) and kept. */
class FileBytes implements ManifestBytes {
  private readonly pages = new Map<number, Buffer>();

  constructor(
    private readonly fd: number,
    readonly length: number,
    private readonly hash: string,
  ) {}

  private page(n: number): Buffer {
    let page = this.pages.get(n);
    if (!page) {
      const start = n * PAGE;
      page = Buffer.allocUnsafe(Math.min(PAGE, this.length - start));
      for (let got = 0; got < page.length; ) {
        const read = readSync(this.fd, page, got, page.length - got, start + got);
        if (read === 0)
          throw new DataverError('OBJECT_CORRUPT', `directory manifest ${this.hash} is shorter than it was`, {
            hint: 'run `dataver verify` and `dataver pull` to restore it',
          });
        got += read;
      }
      this.pages.set(n, page);
    }
    return page;
  }

  indexOf(byte: number, from: number): number {
    for (let n = Math.floor(Math.max(0, from) / PAGE); n * PAGE < this.length; n++) {
      const base = n * PAGE;
      const at = this.page(n).indexOf(byte, Math.max(0, from - base));
      if (at >= 0) return base + at;
    }
    return -1;
  }

  lastIndexOf(byte: number, from: number): number {
    if (from < 0 || this.length === 0) return -1;
    for (let n = Math.floor(Math.min(from, this.length - 1) / PAGE); n >= 0; n--) {
      const base = n * PAGE;
      const page = this.page(n);
      const at = page.lastIndexOf(byte, Math.min(page.length - 1, from - base));
      if (at >= 0) return base + at;
    }
    return -1;
  }

  slice(start: number, end: number): Buffer {
    if (start >= end) return Buffer.alloc(0);
    const first = Math.floor(start / PAGE);
    const last = Math.floor((end - 1) / PAGE);
    if (first === last) return this.page(first).subarray(start - first * PAGE, end - first * PAGE);
    const parts: Buffer[] = [];
    for (let n = first; n <= last; n++) {
      const base = n * PAGE;
      parts.push(this.page(n).subarray(Math.max(0, start - base), Math.min(PAGE, end - base)));
    }
    return Buffer.concat(parts);
  }
}

/**
 * A manifest read in place from its canonical bytes (one entry per line, sorted by path): an
 * entry is found by binary search over the bytes, and the hash of the manifest with a few
 * entries changed is computed from the untouched runs of bytes, so that a status which knows
 * what changed (from the file-system monitor) never parses or rebuilds a million entries.
 *
 * @example
 * const view = ManifestView.from(bytes, hash);
 * view.get('a/1.bin');                       // { path, hash, size } or undefined
 * view.hashWith([{ path: 'a/1.bin', entry: null }]); // the hash without that file
 */
export class ManifestView {
  private constructor(
    private readonly bytes: ManifestBytes,
    readonly hash: string,
    /** The first entry's first byte, and the byte after the last entry. */
    private readonly start: number,
    private readonly end: number,
  ) {}

  /** The view of manifest bytes, or undefined when they are not laid out as `serializeManifest` writes them. */
  static from(bytes: Buffer, hash: string): ManifestView | undefined {
    return ManifestView.over(bufferBytes(bytes), hash);
  }

  /**
   * The view of a manifest file open as `fd` (`size` bytes), read a page at a time where lookups
   * lead: a few changed paths cost a few dozen KiB, not the whole file. The caller vouches for the
   * bytes (they are not hashed) and closes the file.
   */
  static fromFile(fd: number, size: number, hash: string): ManifestView | undefined {
    return ManifestView.over(new FileBytes(fd, size, hash), hash);
  }

  private static over(bytes: ManifestBytes, hash: string): ManifestView | undefined {
    const framed =
      bytes.length >= HEAD.length + TAIL.length &&
      bytes.slice(0, HEAD.length).equals(HEAD) &&
      bytes.slice(bytes.length - TAIL.length, bytes.length).equals(TAIL);
    if (!framed) return undefined;
    const view = new ManifestView(bytes, hash, HEAD.length, bytes.length - TAIL.length);
    // An empty manifest is exactly "[\n\n]\n"; any other holds entries from its first byte.
    if (view.start > view.end) return undefined;
    if (view.start < view.end && view.entryAt(view.start) === undefined) return undefined;
    return view;
  }

  /** The entry of `path`, or undefined. */
  get(path: string): ManifestEntry | undefined {
    const at = this.lowerBound(path, this.start);
    const e = at < this.end ? this.entryAt(at) : undefined;
    return e?.path === path ? e : undefined;
  }

  /** The entries of the files below folder `prefix` (a path without the trailing slash), in order. */
  under(prefix: string): ManifestEntry[] {
    const out: ManifestEntry[] = [];
    // '0' follows '/' in code-unit order: [prefix/, prefix0) holds exactly the paths below it.
    const stop = this.lowerBound(`${prefix}0`, this.start);
    for (let at = this.lowerBound(`${prefix}/`, this.start); at < stop; at = this.next(at)) {
      out.push(this.entryOrThrow(at));
    }
    return out;
  }

  /**
   * The hash of this manifest with `edits` applied (sorted by path, one per path): the bytes
   * `serializeManifest` would write for the edited entries, hashed without being assembled.
   */
  hashWith(edits: readonly ManifestEdit[]): string {
    const hasher = createHash('sha256').update(HEAD);
    let first = true;
    const emit = (bytes: Uint8Array | string) => {
      if (!first) hasher.update(SEPARATOR);
      hasher.update(bytes);
      first = false;
    };
    /** Entries from line start `a` to line start `b`, as they are. */
    const emitRun = (a: number, b: number) => {
      if (a < b) emit(this.bytes.slice(a, b === this.end ? b : b - SEPARATOR.length));
    };
    let pos = this.start;
    let previous: string | undefined;
    for (const edit of edits) {
      if (previous !== undefined && comparePaths(previous, edit.path) >= 0)
        throw new Error(`manifest edits out of order: ${previous} before ${edit.path}`);
      previous = edit.path;
      const at = this.lowerBound(edit.path, pos);
      emitRun(pos, at);
      pos = at < this.end && this.entryOrThrow(at).path === edit.path ? this.next(at) : at;
      if (edit.entry) emit(entryText(edit.entry));
    }
    emitRun(pos, this.end);
    return hasher.update(TAIL).digest('hex');
  }

  /** The line start of the first entry at or after line start `from` whose path is not less than `path`. */
  private lowerBound(path: string, from: number): number {
    let lo = from;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      // The start of the line holding `mid`: a line start in [lo, mid].
      const line = Math.max(lo, this.bytes.lastIndexOf(NEWLINE, mid - 1) + 1);
      if (comparePaths(this.entryOrThrow(line).path, path) < 0) lo = this.next(line);
      else hi = line;
    }
    return lo;
  }

  /** The line start after the entry at `at` (or the end). */
  private next(at: number): number {
    const nl = this.bytes.indexOf(NEWLINE, at);
    return nl < 0 || nl >= this.end ? this.end : nl + 1;
  }

  /** The entry at line start `at`, or undefined when the line is not canonical. */
  private entryAt(at: number): ManifestEntry | undefined {
    const next = this.next(at);
    const line = this.bytes.slice(at, next === this.end ? next : next - SEPARATOR.length).toString('utf8');
    let entry: ManifestEntry;
    try {
      entry = validEntry(JSON.parse(line), this.hash);
    } catch {
      return undefined;
    }
    // Canonical or not used: a line written another way would splice into bytes of another hash.
    return entryText(entry) === line ? entry : undefined;
  }

  private entryOrThrow(at: number): ManifestEntry {
    const e = this.entryAt(at);
    if (!e) {
      throw new DataverError('OBJECT_CORRUPT', `directory manifest ${this.hash} has an invalid entry`, {
        hint: 'run `dataver verify` and `dataver pull` to restore it',
      });
    }
    return e;
  }
}
