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

/**
 * A ustar header for a regular file named `name` of `size` bytes, mtime 0 so packs are reproducible.
 *
 * @example
 * const header = tarHeader(hash, data.length);
 */
export function tarHeader(name: string, size: number): Buffer {
  if (name.length > 100) throw new TypeError(`tar entry name too long: ${name}`);
  if (size >= 8 ** 11) throw new RangeError(`object too large for a pack: ${size} bytes`);
  const header = Buffer.alloc(BLOCK, 0);
  header.write(name, 0, 100, 'ascii');
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, 0);
  header[156] = 0x30; // '0': regular file
  header.write('ustar\u000000', 257, 8, 'ascii');
  header.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return header;
}

/**
 * A pack under construction: append objects, then `finish()` gives the bytes, their hash and the entries.
 *
 * @example
 * const builder = new PackBuilder();
 * builder.add(hash, data);
 * const { bytes, hash: packHash, index } = builder.finish();
 */
export class PackBuilder {
  private readonly parts: Buffer[] = [];
  private length = 0;
  readonly entries: PackEntry[] = [];

  /** Bytes the pack will have once finished if nothing more is added. */
  get size(): number {
    return this.length + 2 * BLOCK;
  }

  get count(): number {
    return this.entries.length;
  }

  /** Appends one object (its bytes must hash to `hash`; the caller checks). */
  add(hash: string, data: Buffer): void {
    this.parts.push(tarHeader(hash, data.length));
    this.entries.push({ hash, offset: this.length + BLOCK, size: data.length });
    this.parts.push(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) this.parts.push(Buffer.alloc(pad));
    this.length += packedSize(data.length);
  }

  /** The finished archive (two zero blocks end it), its sha256 and its index file. */
  finish(): { bytes: Buffer; hash: string; index: PackIndexFile } {
    const bytes = Buffer.concat([...this.parts, Buffer.alloc(2 * BLOCK)]);
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
