// Minimal zip archive reader and writer for PyTorch's `.pt` container: stored and deflated
// entries (node:zlib) and zip64 on read; stored entries aligned to 64 bytes on write, as torch does.
import * as zlib from 'node:zlib';
import { DataverError } from '@dataver/foundation';

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

// little-endian fields; each checks its bounds first, so the indexed bytes exist
function u16(b: Uint8Array, o: number): number {
  if (o + 2 > b.length) throw new DataverError('TRUNCATED', 'zip structure runs past the end of the file');
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  if (o + 4 > b.length) throw new DataverError('TRUNCATED', 'zip structure runs past the end of the file');
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function u64(b: Uint8Array, o: number): number {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (hi >= 0x200000) throw new DataverError('TOO_LARGE', 'zip64 field is too large');
  return hi * 0x100000000 + lo;
}

/**
 * True when the bytes start like a zip archive (local file header).
 *
 * @example
 * looksLikeZip(await fs.readFile('x.pt')); // true for a torch zip archive
 */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && u32(bytes, 0) === LOCAL;
}

/** Where the central directory lies, from the end records. */
export interface ZipDirectory {
  count: number;
  offset: number;
  size: number;
}

/** Bytes at the end of a file that hold the end records (with the longest comment). */
export const ZIP_TAIL_BYTES = 22 + 0xffff + 20 + 56;

/**
 * Finds the end records in the last bytes of a file (`tail` starts at file offset `tailOffset`)
 * and returns where the central directory is (zip64 end records included).
 *
 * @example
 * const dir = locateZipDirectory(tail, fileSize - tail.length);
 */
export function locateZipDirectory(tail: Uint8Array, tailOffset: number): ZipDirectory {
  const minEnd = Math.max(0, tail.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = tail.length - 22; i >= minEnd; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && u32(tail, i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0)
    throw new DataverError('TRUNCATED', 'zip end-of-central-directory record not found (file truncated?)');
  let count = u16(tail, eocd + 10);
  let size = u32(tail, eocd + 12);
  let offset = u32(tail, eocd + 16);
  if ((count === 0xffff || offset === 0xffffffff || size === 0xffffffff) && eocd >= 20) {
    if (u32(tail, eocd - 20) === ZIP64_LOCATOR) {
      const z = u64(tail, eocd - 12) - tailOffset;
      if (z < 0 || u32(tail, z) !== ZIP64_EOCD)
        throw new DataverError('CORRUPT', 'zip64 end-of-central-directory record is damaged');
      count = u64(tail, z + 32);
      size = u64(tail, z + 40);
      offset = u64(tail, z + 48);
    }
  }
  if (offset + size > tailOffset + tail.length)
    throw new DataverError('TRUNCATED', 'zip central directory runs past the end of the file');
  return { count, offset, size };
}

/**
 * Parses `count` central directory records from the directory's own bytes.
 *
 * @example
 * const entries = parseZipDirectory(bytes.subarray(dir.offset, dir.offset + dir.size), dir.count);
 */
export function parseZipDirectory(cd: Uint8Array, count: number): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (u32(cd, p) !== CENTRAL)
      throw new DataverError('CORRUPT', `zip central directory entry ${i} is damaged`);
    const method = u16(cd, p + 10);
    const crc32 = u32(cd, p + 16);
    let compressedSize = u32(cd, p + 20);
    let size = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    let localHeaderOffset = u32(cd, p + 42);
    if (p + 46 + nameLen + extraLen > cd.length)
      throw new DataverError('TRUNCATED', 'zip central directory is truncated');
    const name = Buffer.from(cd.buffer, cd.byteOffset + p + 46, nameLen).toString('utf8');
    // zip64 extended information: present fields replace the 0xffffffff placeholders, in order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = u16(cd, e);
      const len = u16(cd, e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = u64(cd, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(cd, q);
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(cd, q);
      }
      e += 4 + len;
    }
    entries.push({ name, method, crc32, compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/**
 * The zip central directory of a whole archive in memory, validated against the buffer.
 *
 * @example
 * const names = readZipEntries(bytes).map((e) => e.name);
 */
export function readZipEntries(bytes: Uint8Array): ZipEntry[] {
  const dir = locateZipDirectory(bytes, 0);
  return parseZipDirectory(bytes.subarray(dir.offset, dir.offset + dir.size), dir.count);
}

/** Bytes of a local header before its name and extra field; read this many to find the data. */
export const ZIP_LOCAL_HEADER_BYTES = 30;

/**
 * File offset of an entry's (possibly compressed) data, from the first 30 bytes of its local header.
 *
 * @example
 * const start = zipDataOffset(bytes.subarray(entry.localHeaderOffset), entry);
 */
export function zipDataOffset(localHeader: Uint8Array, entry: ZipEntry): number {
  if (u32(localHeader, 0) !== LOCAL)
    throw new DataverError('CORRUPT', `zip local header of ${entry.name} is damaged`);
  return entry.localHeaderOffset + 30 + u16(localHeader, 26) + u16(localHeader, 28);
}

/**
 * An entry's uncompressed bytes from its raw (stored or deflated) data, CRC-checked unless
 * `verify` is false; stored data comes back as the same view.
 *
 * @example
 * const pkl = decodeZipEntry(raw, entry);
 */
export function decodeZipEntry(
  raw: Uint8Array,
  entry: ZipEntry,
  verify = true,
  maxBytes = 2 ** 31 - 1,
): Uint8Array {
  checkZipEntrySize(entry, maxBytes);
  let data: Uint8Array;
  if (entry.method === 0) {
    if (entry.size !== entry.compressedSize)
      throw new DataverError('CORRUPT', `zip entry ${entry.name} has inconsistent sizes`);
    data = raw;
  } else if (entry.method === 8) {
    try {
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (cause) {
      throw new DataverError('CORRUPT', `zip entry ${entry.name} does not inflate`, { cause });
    }
    if (data.length !== entry.size)
      throw new DataverError('CORRUPT', `zip entry ${entry.name} inflates to the wrong size`);
  } else {
    throw new DataverError(
      'UNSUPPORTED_CONTENT',
      `zip entry ${entry.name} uses compression method ${entry.method}`,
    );
  }
  if (verify) checkZipCrc(entry, crc32(data));
  return data;
}

/**
 * Refuses an entry larger than `maxBytes` before anything is read or allocated.
 *
 * @example
 * checkZipEntrySize(entry, 1 << 20); // throws TOO_LARGE for a bigger entry
 */
export function checkZipEntrySize(entry: ZipEntry, maxBytes: number): void {
  if (entry.size > maxBytes)
    throw new DataverError(
      'TOO_LARGE',
      `zip entry ${entry.name} of ${entry.size} bytes exceeds the ${maxBytes}-byte limit`,
    );
}

/**
 * Compares an entry's recorded CRC-32 with the one computed over its data.
 *
 * @example
 * checkZipCrc(entry, crc32(data)); // throws CORRUPT on a mismatch
 */
export function checkZipCrc(entry: ZipEntry, actual: number): void {
  if (actual !== entry.crc32)
    throw new DataverError('CORRUPT', `zip entry ${entry.name} fails its CRC-32 check`);
}

/**
 * The uncompressed bytes of one entry of an archive in memory (a view for stored entries),
 * CRC-checked unless `verify` is false.
 *
 * @example
 * const pkl = readZipEntry(bytes, entries.find((e) => e.name.endsWith('/data.pkl'))!);
 */
export function readZipEntry(
  bytes: Uint8Array,
  entry: ZipEntry,
  verify = true,
  maxBytes = 2 ** 31 - 1,
): Uint8Array {
  checkZipEntrySize(entry, maxBytes);
  const start = zipDataOffset(bytes.subarray(entry.localHeaderOffset), entry);
  const end = start + entry.compressedSize;
  if (end > bytes.length)
    throw new DataverError('TRUNCATED', `zip entry ${entry.name} runs past the end of the file`);
  return decodeZipEntry(bytes.subarray(start, end), entry, verify, maxBytes);
}

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (zip polynomial); node's native one where present.
 *
 * @example
 * crc32(Buffer.from('123456789')); // 0xcbf43926
 */
export function crc32(data: Uint8Array, value = 0): number {
  const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  if (native) return native(data, value) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
}

/** One stored entry as laid out in the archive. */
export interface ZipRecord {
  name: string;
  size: number;
  crc: number;
  /** Offset of the local header. */
  offset: number;
}

/** Length of the local header (with its 64-byte alignment padding) of an entry at `offset`. */
function localHeaderLength(name: string, offset: number): number {
  const base = offset + 30 + Buffer.byteLength(name, 'utf8') + 4;
  return base - offset + ((64 - (base % 64)) % 64);
}

/**
 * The local header of a stored entry whose data must start on a 64-byte boundary: padded with
 * an extra field (id 'FB', as PyTorch's writer does) so the file can be memory-mapped.
 *
 * @example
 * zipLocalHeader({ name: 'archive/data/0', size: 4, crc: 0, offset: 0 }).length % 64; // 0 with the data after it
 */
export function zipLocalHeader(record: ZipRecord): Buffer {
  const nameBytes = Buffer.from(record.name, 'utf8');
  const total = localHeaderLength(record.name, record.offset);
  const extraLen = total - 30 - nameBytes.length;
  if (record.size >= 0xffffffff || record.offset >= 0xffffffff)
    throw new DataverError('TOO_LARGE', 'archive over 4 GiB is not supported');
  const local = Buffer.alloc(total);
  local.writeUInt32LE(LOCAL, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0x0800, 6); // utf-8 names
  local.writeUInt16LE(0, 8);
  local.writeUInt16LE(0, 10);
  local.writeUInt16LE(0x21, 12); // 1980-01-01: fixed so identical tensors give identical files
  local.writeUInt32LE(record.crc, 14);
  local.writeUInt32LE(record.size, 18);
  local.writeUInt32LE(record.size, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  local.writeUInt16LE(extraLen, 28);
  nameBytes.copy(local, 30);
  local.writeUInt16LE(0x4246, 30 + nameBytes.length);
  local.writeUInt16LE(extraLen - 4, 32 + nameBytes.length);
  return local;
}

/**
 * Lays out entries of known sizes: each entry with the offset of its local header and of its
 * data, and the offset of the central directory after them.
 *
 * @example
 * planZip([{ name: 'a', size: 10 }]).entries[0]; // { name: 'a', size: 10, offset: 0, dataOffset: 64 }
 */
export function planZip<T extends { name: string; size: number }>(
  entries: readonly T[],
): { entries: (T & { offset: number; dataOffset: number })[]; centralOffset: number } {
  let offset = 0;
  const planned = entries.map((e) => {
    const start = offset;
    const dataOffset = start + localHeaderLength(e.name, start);
    offset = dataOffset + e.size;
    return { ...e, offset: start, dataOffset };
  });
  return { entries: planned, centralOffset: offset };
}

/**
 * Central directory and end record for the entries, which start at `centralOffset`.
 *
 * @example
 * const tail = zipCentralDirectory(records, plan.centralOffset);
 */
export function zipCentralDirectory(records: ZipRecord[], centralOffset: number): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const nameBytes = Buffer.from(r.name, 'utf8');
    const cd = Buffer.alloc(46 + nameBytes.length);
    cd.writeUInt32LE(CENTRAL, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(0, 10);
    cd.writeUInt16LE(0, 12);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(r.crc, 16);
    cd.writeUInt32LE(r.size, 20);
    cd.writeUInt32LE(r.size, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    cd.writeUInt32LE(r.offset, 42);
    nameBytes.copy(cd, 46);
    parts.push(cd);
  }
  const cdSize = parts.reduce((n, p) => n + p.length, 0);
  if (centralOffset + cdSize >= 0xffffffff)
    throw new DataverError('TOO_LARGE', 'archive over 4 GiB is not supported');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(centralOffset, 16);
  parts.push(end);
  return Buffer.concat(parts);
}

/**
 * Serializes stored (uncompressed) entries, each entry's data on a 64-byte boundary.
 * Returns the pieces in order so large tensors are written without a concatenating copy.
 *
 * @example
 * const chunks = writeZipChunks([{ name: 'archive/version', data: Buffer.from('3\\n') }]);
 */
export function writeZipChunks(inputs: ZipInput[]): Uint8Array[] {
  const plan = planZip(inputs.map((input) => ({ ...input, size: input.data.length })));
  const stored = plan.entries.map(({ name, size, data, offset }) => ({
    record: { name, size, crc: crc32(data), offset },
    data,
  }));
  const chunks = stored.flatMap(({ record, data }) => [zipLocalHeader(record), data]);
  chunks.push(
    zipCentralDirectory(
      stored.map((s) => s.record),
      plan.centralOffset,
    ),
  );
  return chunks;
}
