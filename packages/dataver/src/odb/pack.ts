// Packs: many small objects in one plain ustar archive (entry name = the
// object's sha256), so a remote holds 100 000 small files as a handful of
// requests and `tar tf` can still inspect a pack. The pack index (hash →
// offset, size) lives beside each pack and inside the remote index segments.
import { createHash } from 'node:crypto';

/** One object inside a pack: where its bytes start (after the tar header) and how many there are. */
export interface PackEntry {
  hash: string;
  offset: number;
  size: number;
}

/** The `.idx` file stored next to each pack: enough to rebuild the remote index from a listing. */
export interface PackIndexFile {
  version: 1;
  /** sha256 of the whole pack file; the pack is stored as `packs/pack-<pack>.tar`. */
  pack: string;
  size: number;
  /** `[hash, offset, size]` triples, sorted by offset. */
  objects: [string, number, number][];
}

const BLOCK = 512;
const HASH_RE = /^[0-9a-f]{64}$/;

/**
 * Bytes an object of `size` takes in a pack: header plus data padded to the 512-byte block.
 *
 * @example
 * packedSize(4096); // 4608
 */
export function packedSize(size: number): number {
  return BLOCK + Math.ceil(size / BLOCK) * BLOCK;
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  // `length - 1` octal digits then NUL, as ustar wants.
  header.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'ascii');
  header[offset + length - 1] = 0;
}

/** The fields every header shares (mode, owner, mtime 0, type, magic), with the checksum field blank. */
const TEMPLATE = (() => {
  const header = Buffer.alloc(BLOCK, 0);
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 136, 12, 0);
  header[156] = 0x30; // '0': regular file
  header.write('ustar\u000000', 257, 8, 'ascii');
  header.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  return header;
})();

/**
 * Writes the ustar header of a regular file named `name` of `size` bytes at `target[at]` (512 bytes).
 *
 * @example
 * writeHeader(chunk, at, hash, data.length);
 */
export function writeHeader(target: Buffer, at: number, name: string, size: number): void {
  if (name.length > 100) throw new TypeError(`tar entry name too long: ${name}`);
  if (size >= 8 ** 11) throw new RangeError(`object too large for a pack: ${size} bytes`);
  target.set(TEMPLATE, at);
  target.write(name, at, 100, 'ascii');
  writeOctal(target, at + 124, 12, size);
  let sum = 0;
  for (let i = at; i < at + BLOCK; i++) sum += target[i] as number;
  target.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, at + 148, 8, 'ascii');
}

/**
 * A ustar header for a regular file named `name` of `size` bytes, mtime 0 so packs are reproducible.
 *
 * @example
 * const header = tarHeader(hash, data.length);
 */
export function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  writeHeader(header, 0, name, size);
  return header;
}

/**
 * A pack under construction, in one buffer: reserve a slot per object and fill it (a read can
 * go straight into the pack, with no buffer per object and no copy at the end), then `finish()`
 * gives the bytes, their hash and the entries.
 *
 * @example
 * const builder = new PackBuilder(packedSize(data.length));
 * builder.add(hash, data);
 * const { bytes, hash: packHash, index } = builder.finish();
 */
export class PackBuilder {
  private buffer: Buffer;
  private length = 0;
  readonly entries: PackEntry[] = [];

  /** `capacity`: the bytes the objects will take (a sum of packedSize); more is allowed, at the cost of a copy. */
  constructor(capacity = 0) {
    this.buffer = Buffer.allocUnsafe(capacity + 2 * BLOCK);
  }

  /** Bytes the pack will have once finished if nothing more is added. */
  get size(): number {
    return this.length + 2 * BLOCK;
  }

  get count(): number {
    return this.entries.length;
  }

  /**
   * Appends the header of an object of `size` bytes and returns the space for its bytes, which
   * the caller must fill (and check that they hash to `hash`) before `finish`.
   */
  slot(hash: string, size: number): Buffer {
    const needed = this.length + packedSize(size) + 2 * BLOCK;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.buffer.length));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    writeHeader(this.buffer, this.length, hash, size);
    const start = this.length + BLOCK;
    this.entries.push({ hash, offset: start, size });
    this.length += packedSize(size);
    this.buffer.fill(0, start + size, this.length);
    return this.buffer.subarray(start, start + size);
  }

  /** Appends one object (its bytes must hash to `hash`; the caller checks). */
  add(hash: string, data: Buffer): void {
    this.slot(hash, data.length).set(data);
  }

  /** The finished archive (two zero blocks end it), its sha256 and its index file. */
  finish(): { bytes: Buffer; hash: string; index: PackIndexFile } {
    const bytes = this.buffer.subarray(0, this.length + 2 * BLOCK).fill(0, this.length);
    const hash = createHash('sha256').update(bytes).digest('hex');
    return {
      bytes,
      hash,
      index: {
        version: 1,
        pack: hash,
        size: bytes.length,
        objects: this.entries.map((e) => [e.hash, e.offset, e.size]),
      },
    };
  }
}

/**
 * Lists the objects in a pack by walking its tar headers (used when a pack's
 * `.idx` file is lost or damaged). Stops at the end marker or the first bad header.
 *
 * @example
 * const entries = parsePack(await storage.getBuffer('packs/pack-….tar'));
 */
export function parsePack(bytes: Buffer): PackEntry[] {
  const entries: PackEntry[] = [];
  let pos = 0;
  while (pos + BLOCK <= bytes.length) {
    const header = bytes.subarray(pos, pos + BLOCK);
    if (header.every((b) => b === 0)) break;
    if (header.toString('ascii', 257, 262) !== 'ustar') break;
    const name = header.toString('ascii', 0, 100).replace(/\0.*$/s, '');
    const size = Number.parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim(), 8);
    if (!Number.isFinite(size) || pos + BLOCK + size > bytes.length) break;
    if (HASH_RE.test(name)) entries.push({ hash: name, offset: pos + BLOCK, size });
    pos += packedSize(size);
  }
  return entries;
}

/**
 * Validates an untrusted `.idx` file; undefined when it is not a well-formed index of `pack`.
 *
 * @example
 * const index = parsePackIndexFile(JSON.parse(text), packHash);
 */
export function parsePackIndexFile(value: unknown, pack: string): PackIndexFile | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<PackIndexFile>;
  if (v.version !== 1 || v.pack !== pack || typeof v.size !== 'number' || !Array.isArray(v.objects))
    return undefined;
  for (const o of v.objects) {
    if (
      !Array.isArray(o) ||
      o.length !== 3 ||
      typeof o[0] !== 'string' ||
      !HASH_RE.test(o[0]) ||
      !Number.isSafeInteger(o[1]) ||
      !Number.isSafeInteger(o[2]) ||
      o[1] < 0 ||
      o[2] < 0 ||
      o[1] + o[2] > v.size
    ) {
      return undefined;
    }
  }
  return v as PackIndexFile;
}
