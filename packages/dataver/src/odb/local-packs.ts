// Small objects kept whole in packs inside the local cache: `.dataver/cache/packs/pack-<sha256>.tar`
// (the same plain ustar archive as a remote's packs, each member named by its object's SHA-256)
// and its binary index `pack-<sha256>.idx`. A pull of many small files then creates one file per
// object, the workspace's, where a loose cache made two (the cache's copy and the workspace's):
// on this machine kind creating a file is what a pull of small files spends its time on.
//
// Index file: "DVLPIDX1", the entry count (u32 LE), 4 zero bytes, the pack's size (f64 LE), then
// per object its 32-byte digest, offset and size (f64 LE each), and last the SHA-256 of every byte
// before it. An index that is truncated, damaged or disagrees with its pack's size is never
// trusted: it is rebuilt from the pack's tar headers. A pack that no longer hashes to its name is
// damaged: only its members that still hash to theirs are used (the others count as missing and a
// pull fetches them again), `verify` reports it, and `verify --fix` rewrites it with those members.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import path from 'node:path';
import {
  DataverError,
  errnoCode,
  syncFileSystem,
  tmpNameFor,
  writeFileAtomicSync,
} from '@dataver/foundation';
import { readExactlySync, sha256 } from '../hash/file.js';
import { LocationTable } from './location-table.js';
import { packedSize, parsePack, writeHeader } from './pack.js';

/** How large packs grow and how they are written. */
export interface PackSizes {
  /** A pack is sealed (written, named and indexed) once it holds this many bytes. */
  packBytes: number;
  /** Bytes gathered before one write to the open pack's file. */
  stageBytes: number;
}

/** Chunks waiting for the disk, per pack, before `room` makes a fetch wait. */
const IN_FLIGHT_BYTES = 32 * 1024 * 1024;

const SIZES: PackSizes = { packBytes: 64 * 1024 * 1024, stageBytes: 4 * 1024 * 1024 };
const BLOCK = 512;
const MAGIC = Buffer.from('DVLPIDX1', 'ascii');
const HEADER = 24;
const ENTRY = 48;
const CHECKSUM = 32;
const PACK_RE = /^pack-([0-9a-f]{64})\.tar$/;

/** Where an object sits in a local pack. */
export interface PackedObject {
  pack: string;
  offset: number;
  size: number;
}

/** The path of a pack's archive and of its index. */
function packFile(dir: string, pack: string): string {
  return path.join(dir, `pack-${pack}.tar`);
}
function indexFile(dir: string, pack: string): string {
  return path.join(dir, `pack-${pack}.idx`);
}

/**
 * The index file of a pack of `packSize` bytes holding `objects` (`[hash, offset, size]`).
 *
 * @example
 * fs.writeFileSync(idxPath, encodeIndex(bytes.length, [[hash, 512, 4096]]));
 */
export function encodeIndex(
  packSize: number,
  objects: ReadonlyArray<readonly [string, number, number]>,
): Buffer {
  const out = Buffer.alloc(HEADER + objects.length * ENTRY + CHECKSUM);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(objects.length, 8);
  out.writeDoubleLE(packSize, 16);
  let at = HEADER;
  for (const [hash, offset, size] of objects) {
    out.write(hash, at, 32, 'hex');
    out.writeDoubleLE(offset, at + 32);
    out.writeDoubleLE(size, at + 40);
    at += ENTRY;
  }
  createHash('sha256').update(out.subarray(0, at)).digest().copy(out, at);
  return out;
}

/** The pack size an index file states, or undefined when the file is not a whole, intact index. */
function checkIndex(bytes: Buffer): { packSize: number; count: number } | undefined {
  if (bytes.length < HEADER + CHECKSUM || !bytes.subarray(0, 8).equals(MAGIC)) return undefined;
  const count = bytes.readUInt32LE(8);
  const end = HEADER + count * ENTRY;
  if (bytes.length !== end + CHECKSUM) return undefined;
  const sum = createHash('sha256').update(bytes.subarray(0, end)).digest();
  if (!sum.equals(bytes.subarray(end))) return undefined;
  return { packSize: bytes.readDoubleLE(16), count };
}

/**
 * The local cache's packs. Their indexes are read on first use, into one table of every packed
 * object (about 60 B an object); packs are written by `add` + `finish`, and rewritten by `remove`.
 *
 * @example
 * const packs = new LocalPacks('.dataver/cache/packs');
 * packs.add(hash, bytes); packs.finish();
 * packs.read(hash); // the bytes again
 */
export class LocalPacks {
  private table: LocationTable | undefined;
  /** Packs that no longer hash to their name, of which only intact members are used (see `damaged`). */
  private readonly broken: string[] = [];
  private readonly fds = new Map<string, number>();
  /** The pack that `add` appends to. */
  private open: PackInProgress | undefined;
  /** Full packs whose last writes, naming and index are under way. */
  private readonly sealing = new Set<PackInProgress>();
  private readonly seals: Array<Promise<void>> = [];
  /** Names of the packs sealed since `remove` last cleared it. */
  private readonly sealed = new Set<string>();

  /** `sizes`: smaller ones let tests make many packs and chunks. */
  constructor(
    readonly dir: string,
    private readonly sizes: PackSizes = SIZES,
  ) {}

  /** The pack being written or sealed that holds `hash`, if any. */
  private unsealed(hash: string): PackInProgress | undefined {
    if (this.open?.objects.has(hash)) return this.open;
    for (const p of this.sealing) if (p.objects.has(hash)) return p;
    return undefined;
  }

  /** The file of a pack. */
  pathOf(pack: string): string {
    return packFile(this.dir, pack);
  }

  /** Where a packed object is (in a written pack), or undefined. */
  locate(hash: string): PackedObject | undefined {
    const at = this.load().get(hash);
    return at?.kind === 'pack' ? { pack: at.pack, offset: at.offset, size: at.size } : undefined;
  }

  has(hash: string): boolean {
    return this.unsealed(hash) !== undefined || this.load().has(hash);
  }

  /** A packed object's size, or undefined when it is not packed. */
  sizeOf(hash: string): number | undefined {
    return this.unsealed(hash)?.objects.get(hash)?.[1] ?? this.locate(hash)?.size;
  }

  /** A packed object's bytes (not re-hashed: like a loose object, it was verified when stored). */
  read(hash: string): Buffer | undefined {
    const pending = this.unsealed(hash);
    if (pending) return pending.read(hash);
    const at = this.locate(hash);
    return at && this.readAt(at);
  }

  private readAt(at: PackedObject): Buffer {
    try {
      let fd = this.fds.get(at.pack);
      if (fd === undefined) {
        fd = fs.openSync(packFile(this.dir, at.pack), 'r');
        this.fds.set(at.pack, fd);
      }
      return readExactlySync(fd, at.offset, at.size);
    } catch (error) {
      throw packReadError(packFile(this.dir, at.pack), error);
    }
  }

  /**
   * Adds verified bytes to the open pack (opened on first use). Its file is written on libuv's
   * threads while this one goes on; a full pack is sealed the same way, and `finish` waits for all.
   */
  add(hash: string, bytes: Buffer): void {
    if (!this.has(hash)) this.put(hash, bytes);
  }

  /** `add` without the check that the object is packed already (a rewrite moves it). */
  private put(hash: string, bytes: Buffer): void {
    if (!this.open) {
      fs.mkdirSync(this.dir, { recursive: true });
      this.open = new PackInProgress(tmpNameFor(path.join(this.dir, 'pack.tar')), this.sizes.stageBytes);
    }
    this.open.add(hash, bytes);
    if (this.open.size >= this.sizes.packBytes) this.seal();
  }

  /**
   * Resolves once the packs being written have at most 32 MiB of chunks still waiting for the disk
   * (a fast remote and a slow cache disk would otherwise pile downloads up in memory).
   */
  async room(): Promise<void> {
    for (const pack of [this.open, ...this.sealing]) await pack?.drained(IN_FLIGHT_BYTES);
  }

  /** Starts sealing the open pack: once written and named, its objects move to the table. */
  private seal(): void {
    const pack = this.open;
    if (!pack) return;
    this.open = undefined;
    this.sealing.add(pack);
    const done = pack.seal(this.dir).then(
      (name) => {
        const table = this.load();
        for (const [hash, [offset, size]] of pack.objects)
          table.set(hash, { kind: 'pack', pack: name, offset, size });
        this.sealing.delete(pack);
        this.sealed.add(name);
      },
      (error: unknown) => {
        this.sealing.delete(pack);
        fs.rmSync(pack.tmp, { force: true });
        throw error;
      },
    );
    // Reported by `finish`; never an unhandled rejection meanwhile.
    done.catch(() => undefined);
    this.seals.push(done);
  }

  /**
   * Seals the open pack and waits for every pack being written: each ends with its end blocks, is
   * named by its SHA-256 and gets its index. Neither file is fsync'd here: like the cache's loose
   * writes, they are made durable by the syncfs of the command that records them, and a pack that a
   * crash cut short fails its size check. Throws the first failed write.
   */
  async finish(): Promise<void> {
    this.seal();
    const seals = this.seals.splice(0);
    const results = await Promise.allSettled(seals);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Every packed object with its size (one entry per object, whichever pack holds it). */
  list(): Array<{ hash: string; size: number }> {
    const out: Array<{ hash: string; size: number }> = [];
    for (const [hash, at] of this.load().entries()) out.push({ hash, size: at.size });
    return out;
  }

  /** Packs whose bytes no longer hash to their name (only their intact members are used). */
  damaged(): readonly string[] {
    this.load();
    return this.broken;
  }

  /**
   * Drops objects from the packs: a pack holding any of them is rewritten with the others (a new
   * pack, synced, then the old one deleted), or deleted when none is left. With `dropDamaged`, the
   * damaged packs are rewritten with their intact members too. Returns how many of `hashes` were packed.
   */
  async remove(hashes: ReadonlySet<string>, dropDamaged = false): Promise<number> {
    await this.finish();
    const table = this.load();
    const byPack = new Map<string, Array<[string, number, number]>>();
    for (const [hash, at] of table.entries()) {
      if (at.kind !== 'pack') continue;
      const members = byPack.get(at.pack) ?? [];
      if (members.length === 0) byPack.set(at.pack, members);
      members.push([hash, at.offset, at.size]);
    }
    let removed = 0;
    const rewrite: string[] = [];
    // A damaged pack is rewritten with the members that still hash to their names (salvaged).
    const damaged = new Set(dropDamaged ? this.broken : []);
    for (const [pack, members] of byPack) {
      const gone = members.filter(([hash]) => hashes.has(hash)).length;
      removed += gone;
      if (gone > 0 || damaged.has(pack)) rewrite.push(pack);
    }
    for (const pack of damaged) if (!byPack.has(pack)) this.deletePack(pack);
    this.sealed.clear();
    for (const pack of rewrite) {
      for (const [hash, offset, size] of byPack.get(pack) ?? []) {
        if (!hashes.has(hash)) this.put(hash, this.readAt({ pack, offset, size }));
      }
    }
    await this.finish();
    if (this.sealed.size > 0) {
      // The new packs must be on the disk before the old ones leave it (a power cut in between
      // would otherwise lose the live objects of both).
      await syncFileSystem(
        this.dir,
        [...this.sealed].flatMap((p) => [packFile(this.dir, p), indexFile(this.dir, p)]),
      );
    }
    for (const pack of rewrite) if (!this.sealed.has(pack)) this.deletePack(pack);
    // The table is read again from the files that are left.
    this.closeFds();
    this.table = undefined;
    return removed;
  }

  private deletePack(pack: string): void {
    const fd = this.fds.get(pack);
    if (fd !== undefined) fs.closeSync(fd);
    this.fds.delete(pack);
    // The archive first: an index left without its pack is ignored, a pack without its index rebuilt.
    fs.rmSync(packFile(this.dir, pack), { force: true });
    fs.rmSync(indexFile(this.dir, pack), { force: true });
  }

  /** Closes the packs' file descriptors (they are reopened when needed). */
  private closeFds(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }

  /** Reads every pack's index into the table, once. */
  private load(): LocationTable {
    if (this.table) return this.table;
    const table = new LocationTable();
    this.table = table;
    this.broken.length = 0;
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (error) {
      // No packs yet; or a file in the folder's place, which the first write reports.
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return table;
      throw error;
    }
    for (const name of names.sort()) {
      const pack = PACK_RE.exec(name)?.[1];
      if (pack) this.loadPack(table, pack);
    }
    return table;
  }

  private loadPack(table: LocationTable, pack: string): void {
    const size = fs.statSync(packFile(this.dir, pack), { throwIfNoEntry: false })?.size;
    if (size === undefined) return;
    let idx = readIfThere(indexFile(this.dir, pack));
    const checked = idx && checkIndex(idx);
    if (!idx || !checked || checked.packSize !== size) {
      const rebuilt = this.rebuildIndex(pack);
      if (rebuilt === 'gone') return;
      if (!rebuilt.intact) this.broken.push(pack);
      idx = rebuilt.idx;
    }
    const count = idx.readUInt32LE(8);
    for (let i = 0, at = HEADER; i < count; i++, at += ENTRY) {
      table.setBytes(idx, at, {
        kind: 'pack',
        pack,
        offset: idx.readDoubleLE(at + 32),
        size: idx.readDoubleLE(at + 40),
      });
    }
  }

  /**
   * A new index from the pack's own headers. When the pack still hashes to its name it is written
   * beside it; when it does not (damaged), it holds only the members that still hash to theirs,
   * stays in memory (so every load checks the pack again), and the pack counts as damaged.
   */
  private rebuildIndex(pack: string): { idx: Buffer; intact: boolean } | 'gone' {
    const bytes = readIfThere(packFile(this.dir, pack));
    // Deleted meanwhile (a gc of another process): neither damaged nor there.
    if (!bytes) return 'gone';
    const intact = sha256(bytes) === pack;
    const entries = parsePack(bytes)
      .filter((e) => intact || sha256(bytes.subarray(e.offset, e.offset + e.size)) === e.hash)
      .map((e) => [e.hash, e.offset, e.size] as const);
    const idx = encodeIndex(bytes.length, entries);
    if (!intact) return { idx, intact };
    try {
      writeFileAtomicSync(indexFile(this.dir, pack), idx, { sync: false });
    } catch {
      // A read-only cache: the index is rebuilt in memory each time instead.
    }
    return { idx, intact };
  }
}

/**
 * A pack being written: objects are laid out as tar members in 4 MiB chunks, each chunk written
 * at its place in a temporary file on libuv's threads and kept in memory until it is written, so
 * that its objects can be read meanwhile (from the file once it is). A chunk holds whole members.
 */
class PackInProgress {
  /** Each object's offset and size in the pack, in the order added. */
  readonly objects = new Map<string, [number, number]>();
  /** Chunks handed to the writes, in order; `bytes` is dropped once the chunk is in the file. */
  private readonly chunks: Array<{ start: number; bytes: Buffer | undefined }> = [];
  private readonly writes: Array<Promise<void>> = [];
  private readonly hasher = createHash('sha256');
  private readonly fd: number;
  private stage: Buffer;
  private staged = 0;
  /** Bytes handed to chunks so far. */
  private written = 0;
  private failure: unknown;
  /** Bytes of chunks handed to writes that have not finished, and who waits for fewer. */
  private pending = 0;
  private waiters: Array<{ limit: number; resolve: () => void }> = [];
  /** The file's name once sealed (`fd` is closed then). */
  private sealedAs: string | undefined;

  constructor(
    readonly tmp: string,
    private readonly stageBytes: number,
  ) {
    this.stage = Buffer.allocUnsafe(stageBytes);
    // Read and write: objects are read back from the file before the pack is sealed.
    this.fd = fs.openSync(tmp, 'wx+', 0o444);
  }

  /** Bytes of the pack so far. */
  get size(): number {
    return this.written + this.staged;
  }

  add(hash: string, bytes: Buffer): void {
    const total = packedSize(bytes.length);
    if (this.staged + total > this.stageBytes) this.flush();
    const large = total > this.stageBytes;
    const into = large ? Buffer.allocUnsafe(total) : this.stage;
    const at = large ? 0 : this.staged;
    writeHeader(into, at, hash, bytes.length);
    into.set(bytes, at + BLOCK);
    into.fill(0, at + BLOCK + bytes.length, at + total);
    this.objects.set(hash, [this.written + at + BLOCK, bytes.length]);
    if (large) this.emit(into);
    else this.staged += total;
  }

  read(hash: string): Buffer | undefined {
    const at = this.objects.get(hash);
    if (!at) return undefined;
    const [offset, size] = at;
    if (offset >= this.written)
      return Buffer.from(this.stage.subarray(offset - this.written, offset - this.written + size));
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.chunks[mid] as { start: number }).start <= offset) lo = mid;
      else hi = mid - 1;
    }
    const chunk = this.chunks[lo] as { start: number; bytes: Buffer | undefined };
    if (chunk.bytes)
      return Buffer.from(chunk.bytes.subarray(offset - chunk.start, offset - chunk.start + size));
    if (this.sealedAs === undefined) return readExactlySync(this.fd, offset, size);
    const fd = fs.openSync(this.sealedAs, 'r');
    try {
      return readExactlySync(fd, offset, size);
    } finally {
      fs.closeSync(fd);
    }
  }

  private flush(): void {
    if (this.staged === 0) return;
    const chunk = this.stage.subarray(0, this.staged);
    this.stage = Buffer.allocUnsafe(this.stageBytes);
    this.staged = 0;
    this.emit(chunk);
  }

  /** Hashes a chunk and writes it at its place in the file, on another thread. */
  private emit(chunk: Buffer): void {
    const start = this.written;
    const entry: { start: number; bytes: Buffer | undefined } = { start, bytes: chunk };
    this.chunks.push(entry);
    this.hasher.update(chunk);
    this.written += chunk.length;
    this.pending += chunk.length;
    const settled = () => {
      this.pending -= chunk.length;
      const ready = this.waiters.filter((w) => this.pending <= w.limit);
      this.waiters = this.waiters.filter((w) => this.pending > w.limit);
      for (const w of ready) w.resolve();
    };
    this.writes.push(
      writeAll(this.fd, chunk, start).then(
        () => {
          entry.bytes = undefined;
          settled();
        },
        (error: unknown) => {
          this.failure ??= error;
          settled();
        },
      ),
    );
  }

  /** Resolves once at most `limit` bytes of its chunks are still being written. */
  drained(limit: number): Promise<void> {
    if (this.pending <= limit) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ limit, resolve }));
  }

  /** Ends the archive, waits for its writes, names it by its SHA-256 and writes its index; returns the name. */
  async seal(dir: string): Promise<string> {
    try {
      if (this.staged + 2 * BLOCK > this.stageBytes) this.flush();
      this.stage.fill(0, this.staged, this.staged + 2 * BLOCK);
      this.staged += 2 * BLOCK;
      this.flush();
      await Promise.all(this.writes);
      if (this.failure !== undefined) throw this.failure;
    } finally {
      fs.closeSync(this.fd);
    }
    const pack = this.hasher.digest('hex');
    const objects = [...this.objects].map(([hash, [offset, size]]) => [hash, offset, size] as const);
    fs.renameSync(this.tmp, packFile(dir, pack));
    this.sealedAs = packFile(dir, pack);
    writeFileAtomicSync(indexFile(dir, pack), encodeIndex(this.written, objects), { sync: false });
    return pack;
  }
}

/** Writes all of `bytes` at `position` of `fd` on libuv's thread pool. */
function writeAll(fd: number, bytes: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number) => {
      if (done >= bytes.length) return resolve();
      fs.write(fd, bytes, done, bytes.length - done, position + done, (error, n) => {
        if (error) reject(error);
        else step(done + n);
      });
    };
    step(0);
  });
}

/**
 * The error for a packed object that cannot be read: its pack gone (a gc of another process) or
 * shorter than its index says, as the user's data problem (exit 3), not a bug.
 *
 * @example
 * throw packReadError('/repo/.dataver/cache/packs/pack-….tar', error);
 */
export function packReadError(pack: string, error: unknown): unknown {
  const code = errnoCode(error);
  if (code === 'ENOENT')
    return new DataverError('OBJECT_MISSING', `pack ${pack} of the cache is gone`, {
      hint: 'run the command again; if it persists, `dataver verify --fix` then `dataver pull`',
      cause: error,
    });
  if (code === 'ESHORT' || code === 'EIO')
    return new DataverError('OBJECT_CORRUPT', `pack ${pack} of the cache is damaged (${code})`, {
      hint: 'run `dataver verify --fix`, then `dataver pull` to fetch its objects again',
      cause: error,
    });
  return error;
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}
