// The local cache: a content-addressed object store at .dataver/cache/sha256/ab/cdef…, and small
// objects that a pull fetched kept whole in packs at .dataver/cache/packs (odb/local-packs.ts).
// Objects are immutable and read-only; workspace files are materialized from them. It works on
// the file system directly, not through the Storage interface (storage/types.ts says why).

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  DataverError,
  errnoCode,
  isStaleTemp,
  isTempName,
  rethrowFsError,
  syncFileSystem,
  tmpNameFor,
  userFsError,
} from '@dataver/foundation';
import { hashFile, sha256 } from '../hash/file.js';
import type { IngestResult } from '../hash/ingest.js';
import { objectPathIn, reusedTmpName, storeObjectSync } from '../hash/ingest.js';
import {
  BackgroundStore,
  type FileJob,
  ingestFiles,
  isFailure,
  type PoolOptions,
  placeFiles,
  placementThreads,
} from '../hash/pool.js';
import { zip } from '../util/invariants.js';
import { LocalPacks, packReadError } from './local-packs.js';
import { type ManifestEntry, type ManifestFields, parseManifest, writeManifest } from './manifest.js';

export type { LinkMode } from '../hash/place.js';

import type { LinkMode } from '../hash/place.js';

export class ObjectCache {
  /** Directory holding `ab/cdef…` object files. */
  readonly objectsDir: string;
  /** Where downloads wait, until verified, to be accepted into the cache (`acceptVerified`). */
  readonly downloadDir: string;
  /** Temporary names of synchronous writes, one per folder (see reusedTmpName). */
  private readonly tmpNames = new Map<string, string>();
  /** Verified objects being written on another thread (acceptVerifiedBytesLater). */
  private background: BackgroundStore | undefined;
  /** Small objects kept whole in packs (acceptVerifiedBytesPacked). */
  readonly packs: LocalPacks;

  constructor(
    readonly root: string,
    readonly tmpDir: string,
  ) {
    this.objectsDir = path.join(root, 'sha256');
    this.downloadDir = path.join(tmpDir, 'fetch');
    this.packs = new LocalPacks(path.join(root, 'packs'));
  }

  /**
   * Path of an object as a loose file (whether or not it exists): an object kept in a pack has
   * none, so read objects with {@link readObject} or {@link packed} unless only loose ones matter.
   */
  objectPath(hash: string): string {
    return objectPathIn(this.objectsDir, hash);
  }

  /** True when the object is in the cache, or accepted and being written (acceptVerifiedBytesLater). */
  has(hash: string): boolean {
    return (
      this.background?.pending(hash) !== undefined ||
      this.packs.has(hash) ||
      fs.existsSync(this.objectPath(hash))
    );
  }

  /** The size of an object that `has` the cache. */
  sizeOf(hash: string): number {
    return (
      this.background?.pending(hash)?.length ??
      this.packs.sizeOf(hash) ??
      fs.statSync(this.objectPath(hash)).size
    );
  }

  /** The bytes of an object kept in a pack; undefined when it is loose or absent. */
  packed(hash: string): Buffer | undefined {
    return this.packs.read(hash);
  }

  /** An object's bytes, packed or loose (not re-hashed); throws ENOENT when it is absent. */
  readObject(hash: string): Buffer {
    return this.packs.read(hash) ?? fs.readFileSync(this.objectPath(hash));
  }

  /**
   * True when a file (given by its inode and device) is a hardlink of the object `hash`: an
   * in-place edit of such a file changes the object too.
   */
  sharesInode(hash: string, file: { ino: number; dev: number }): boolean {
    const object = fs.statSync(this.objectPath(hash), { throwIfNoEntry: false });
    return object !== undefined && object.ino === file.ino && object.dev === file.dev;
  }

  /** The hashes of `hashes` that are not in the cache. */
  missing(hashes: Iterable<string>): string[] {
    const out: string[] = [];
    for (const h of hashes) if (!this.has(h)) out.push(h);
    return out;
  }

  async ensureDirs(): Promise<void> {
    await mkdirp(this.objectsDir);
    await mkdirp(this.tmpDir);
  }

  /**
   * Copies files into the cache while hashing them (all cores); results in input order.
   * Objects are made durable with one syncfs at the end rather than one fsync each.
   */
  async ingest(files: FileJob[], options: PoolOptions = {}): Promise<IngestResult[]> {
    await this.ensureDirs();
    const results = await ingestFiles(files, this.objectsDir, options);
    const ingested: IngestResult[] = [];
    for (const [file, r] of zip(files, results)) {
      if (!isFailure(r)) {
        ingested.push(r);
        continue;
      }
      if (r.code === 'ENOSPC' || r.code === 'EACCES' || r.code === 'EROFS' || r.code === 'EPERM') {
        // The failing call names its path: reading the workspace file, or writing into the cache.
        const inCache = r.code === 'ENOSPC' || r.path === undefined || r.path !== file.path;
        rethrowFsError(inCache ? this.objectsDir : file.path)(
          Object.assign(new Error(r.error), { code: r.code }),
        );
      }
      // A recursive mkdir of an object folder reports ENOENT on a read-only file system: making
      // that folder again, one level at a time, names the real cause (and the cache, not the file).
      const prefix = r.path?.startsWith(this.objectsDir + path.sep)
        ? r.path.slice(this.objectsDir.length + 1, this.objectsDir.length + 3)
        : undefined;
      if (r.code === 'ENOENT' && prefix && /^[0-9a-f]{2}$/.test(prefix))
        await mkdirp(path.join(this.objectsDir, prefix));
      throw new DataverError('PATH_NOT_FOUND', `cannot read ${file.path}: ${r.error}`, {
        hint: 'the file changed or vanished while it was being added; run the command again',
      });
    }
    if (ingested.some((r) => r.added)) await syncFileSystem(this.objectsDir);
    return ingested;
  }

  /** Stores bytes (a manifest) as an object; returns its hash. */
  async putBuffer(bytes: Buffer): Promise<string> {
    const hash = sha256(bytes);
    return this.has(hash) ? hash : this.putWritten((sink) => sink(bytes));
  }

  /**
   * Stores a directory manifest; returns its hash. The bytes stream into a temporary file while
   * they are hashed (see writeManifest), so a manifest of a million files costs one chunk of
   * memory, not two copies of its 100 MB. `fields` reads the entries from what the caller holds.
   *
   * @example
   * const hash = await cache.putManifest(files, (f) => ({ path: f.rel, hash: f.hash, size: f.size }));
   */
  putManifest<T = ManifestEntry>(
    entries: readonly T[],
    fields?: (entry: T) => ManifestFields,
  ): Promise<string> {
    return this.putWritten((sink) => writeManifest(entries, sink, fields));
  }

  /**
   * Stores the bytes that `write` hands to its sink as an object, hashed while they stream into a
   * temporary file; returns the hash (an object already there is kept, the copy dropped).
   */
  private async putWritten(write: (sink: (chunk: Buffer) => void) => void): Promise<string> {
    await fsp.mkdir(this.objectsDir, { recursive: true }).catch(rethrowFsError(this.objectsDir));
    // Beside the object folders, like ingest's: clean-up after a crash looks in one folder.
    const tmp = tmpNameFor(path.join(this.objectsDir, 'manifest'));
    const hasher = createHash('sha256');
    let hash: string;
    try {
      const fd = fs.openSync(tmp, 'wx', 0o444);
      try {
        write((chunk) => {
          hasher.update(chunk);
          for (let at = 0; at < chunk.length; ) at += fs.writeSync(fd, chunk, at);
        });
      } finally {
        fs.closeSync(fd);
      }
      hash = hasher.digest('hex');
      const target = this.objectPath(hash);
      if (this.has(hash)) fs.rmSync(tmp, { force: true });
      else {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.renameSync(tmp, target);
      }
    } catch (error) {
      fs.rmSync(tmp, { force: true });
      return rethrowFsError(tmp)(error);
    }
    return hash;
  }

  /** Reads a manifest object, verifying its bytes against its hash. */
  async readManifest(hash: string): Promise<ManifestEntry[]> {
    return parseManifest(await this.readManifestBytes(hash), hash);
  }

  /**
   * A directory manifest's bytes, checked against its hash. Read with one synchronous call:
   * `fs.promises.readFile` reads in 512 KiB chunks, a thread-pool round trip each (15 ms of
   * waiting for a manifest of 100 000 files, against 3 ms).
   */
  async readManifestBytes(hash: string): Promise<Buffer> {
    return this.readManifestChecked(hash).bytes;
  }

  /**
   * {@link readManifestBytes} with the identity of the object file as it was read (inode, size,
   * mtime and ctime, from the open file): when that is `checkedAs`, the identity of an earlier
   * read whose bytes matched the hash, the hash is not computed again. Objects are never written
   * in place, and any write or chmod moves the ctime, so the identity vouches for the bytes as the
   * stat cache vouches for a workspace file's; `verify` re-reads everything.
   */
  readManifestChecked(hash: string, checkedAs?: string): { bytes: Buffer; identity: string } {
    const file = this.objectPath(hash);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (error) {
      const packed = errnoCode(error) === 'ENOENT' ? this.packs.locate(hash) : undefined;
      if (packed?.pack) {
        // Packs are immutable and named by their bytes: where the object sits is its identity.
        const identity = `pack:${packed.pack}:${packed.offset}`;
        const bytes = this.packs.read(hash) as Buffer;
        if (checkedAs !== identity && sha256(bytes) !== hash) throw corruptManifest(hash);
        return { bytes, identity };
      }
      if (errnoCode(error) === 'ENOENT') {
        throw new DataverError('OBJECT_MISSING', `directory manifest ${hash} is not in the cache`, {
          hint: 'run `dataver pull` to fetch it from a remote',
          data: { missing: [hash] },
        });
      }
      throw error;
    }
    let bytes: Buffer;
    let identity: string;
    try {
      identity = fileIdentity(fs.fstatSync(fd));
      bytes = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (checkedAs !== identity && sha256(bytes) !== hash) throw corruptManifest(hash);
    return { bytes, identity };
  }

  /**
   * A manifest object opened for reading in place when its file still has `checkedAs`, the
   * identity of a read that matched the hash (see {@link readManifestChecked}); undefined when it
   * is missing or has changed since. The caller closes `fd`.
   */
  openCheckedManifest(hash: string, checkedAs: string): { fd: number; size: number } | undefined {
    let fd: number;
    try {
      fd = fs.openSync(this.objectPath(hash), 'r');
    } catch {
      return undefined;
    }
    const st = fs.fstatSync(fd);
    if (fileIdentity(st) === checkedAs) return { fd, size: st.size };
    fs.closeSync(fd);
    return undefined;
  }

  /**
   * Accepts a verified object file (from a remote download) into the cache by rename.
   */
  async acceptVerified(hash: string, tmpPath: string): Promise<void> {
    // Synchronous on purpose: thousands of small objects arrive at once.
    const target = this.objectPath(hash);
    if (this.has(hash)) {
      fs.rmSync(tmpPath, { force: true });
      return;
    }
    fs.chmodSync(tmpPath, 0o444);
    try {
      fs.renameSync(tmpPath, target);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') rethrowFsError(target)(error);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(tmpPath, target);
    }
  }

  /**
   * Stores verified bytes (a download) as an object. The temporary file is made read-only and
   * beside the object, so no chmod and no rename across folders are needed (both cost as much as
   * the write for small objects); removeLeftovers looks in the object folders too. An object that
   * is already there is replaced by the same bytes, which is harmless.
   */
  acceptVerifiedBytes(hash: string, bytes: Buffer): void {
    const target = this.objectPath(hash);
    try {
      storeObjectSync(this.objectsDir, hash, bytes, reusedTmpName(this.tmpNames, target));
    } catch (error) {
      throw objectWriteError(target, error);
    }
  }

  /**
   * Like acceptVerifiedBytes, but the file may be written later, on another thread, while this
   * one goes on (a pull writes the workspace copies meanwhile). Until `finishWrites` the object
   * counts as cached (`has`, `sizeOf`) and must not be read through its path; `materializeMany`
   * waits where it would. Every caller must reach `finishWrites`, which reports a failed write.
   *
   * @example
   * cache.acceptVerifiedBytesLater(hash, bytes); …; await cache.finishWrites();
   */
  acceptVerifiedBytesLater(hash: string, bytes: Buffer): void {
    this.background ??= new BackgroundStore(this.objectsDir);
    this.background.add(hash, bytes);
  }

  /**
   * Stores verified bytes of a small object (a download) in the cache's open pack, one write per
   * few MiB rather than a file per object. The object counts as cached at once and can be read
   * (`packed`, `materializeMany`); `finishWrites` closes the pack, and every caller must reach it.
   */
  acceptVerifiedBytesPacked(hash: string, bytes: Buffer): void {
    try {
      this.packs.add(hash, bytes);
    } catch (error) {
      throw objectWriteError((error as NodeJS.ErrnoException).path ?? this.packs.dir, error);
    }
  }

  /** Resolves when the packs' writes have caught up enough for more objects (acceptVerifiedBytesPacked). */
  packRoom(): Promise<void> {
    return this.packs.room();
  }

  /**
   * Waits until every object accepted by acceptVerifiedBytesLater is written and closes the open
   * pack of acceptVerifiedBytesPacked; throws the first failure.
   */
  async finishWrites(): Promise<void> {
    const writer = this.background;
    try {
      await this.packs.finish();
    } catch (error) {
      throw objectWriteError((error as NodeJS.ErrnoException).path ?? this.packs.dir, error);
    }
    if (!writer) return;
    try {
      await writer.finish();
    } catch (error) {
      throw objectWriteError((error as NodeJS.ErrnoException).path ?? this.objectsDir, error);
    }
  }

  /**
   * Creates workspace files from objects (reflink where the file system can, else a copy;
   * hardlink/symlink only when asked); each appears atomically. Parent folders must exist.
   * In the copy modes, packed objects are placed by worker threads that read them from their packs
   * where cores are free; otherwise they, and objects found in `bytesOf` (verified bytes still in
   * memory), are written from their bytes on this thread. A link needs a loose object, so a packed
   * one is first unpacked into the cache.
   *
   * @example
   * await cache.materializeMany([{ hash, dest: '/repo/data/a.bin' }], 'reflink');
   */
  async materializeMany(
    items: Array<{ hash: string; dest: string }>,
    mode: LinkMode,
    onFile?: (index: number) => void,
    bytesOf?: ReadonlyMap<string, Buffer>,
  ): Promise<void> {
    const fromCache: number[] = [];
    const tmpNames = new Map<string, string>();
    // Loaded when files are placed (checkout, pull), not by every command that opens the cache.
    const { placeBytesSync } = require('../hash/place.js') as typeof import('../hash/place.js');
    let placed = 0;
    const copies = mode === 'copy' || mode === 'reflink';
    // Where cores are free, worker threads place packed objects, reading them from their packs:
    // creating the files is the cost, and two threads creating them in different folders share it.
    const threaded = copies && placementThreads(items.length) > 1;
    const fromPacks: Array<{ index: number; job: FileJob }> = [];
    for (const [index, item] of items.entries()) {
      const at = threaded ? this.packs.locate(item.hash) : undefined;
      if (at) {
        fromPacks.push({
          index,
          job: { path: this.packs.pathOf(at.pack), offset: at.offset, size: at.size },
        });
        continue;
      }
      const bytes = copies ? (bytesOf?.get(item.hash) ?? this.packs.read(item.hash)) : undefined;
      if (bytes === undefined) {
        if (!copies) this.unpack(item.hash);
        fromCache.push(index);
        continue;
      }
      try {
        placeBytesSync(bytes, item.dest, reusedTmpName(tmpNames, item.dest));
      } catch (error) {
        rethrowFsError(item.dest)(error);
      }
      onFile?.(index);
      // Let timers (the progress bar) run now and then.
      if (++placed % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    if (fromPacks.length > 0) {
      const dests = fromPacks.map((p) => (items[p.index] as { dest: string }).dest);
      const results = await placeFiles(
        fromPacks.map((p) => p.job),
        dests,
        mode,
        { onFile: (i) => onFile?.((fromPacks[i] as { index: number }).index) },
      );
      for (const [index, r] of results.entries()) {
        if (!isFailure(r)) continue;
        const error = Object.assign(new Error(r.error), { code: r.code, path: r.path });
        const pack = (fromPacks[index] as { job: FileJob }).job.path;
        if (r.path === pack || r.code === 'ESHORT') throw packReadError(pack, error);
        rethrowFsError(r.path ?? (dests[index] as string))(error);
      }
    }
    const rest = fromCache.map((i) => items[i] as { hash: string; dest: string });
    // These are read through the cache's paths: objects still being written must be there first.
    if (rest.length > 0) await this.finishWrites();
    const results = await placeFiles(
      rest.map((it) => ({ path: this.objectPath(it.hash), size: 0 })),
      rest.map((it) => it.dest),
      mode,
      { onFile: (i) => onFile?.(fromCache[i] as number) },
    );
    for (const [item, r] of zip(rest, results)) {
      if (isFailure(r))
        this.rethrowPlaceError(item.hash, item.dest, Object.assign(new Error(r.error), { code: r.code }));
    }
  }

  /** Writes a packed object as a loose file too (a link can only point at a loose one). */
  private unpack(hash: string): void {
    const target = this.objectPath(hash);
    if (fs.existsSync(target)) return;
    const bytes = this.packs.read(hash);
    if (!bytes) return;
    try {
      storeObjectSync(this.objectsDir, hash, bytes, reusedTmpName(this.tmpNames, target));
    } catch (error) {
      throw objectWriteError(target, error);
    }
  }

  private rethrowPlaceError(hash: string, dest: string, error: unknown): never {
    if (errnoCode(error) === 'ENOENT' && !this.has(hash)) {
      throw new DataverError('OBJECT_MISSING', `object ${hash} for ${dest} is not in the cache`, {
        hint: 'run `dataver pull` to fetch it',
        data: { missing: [hash] },
      });
    }
    if (errnoCode(error) === 'EXDEV') {
      throw new DataverError(
        'CONFIG_INVALID',
        'cache.link is hardlink, but the cache is on another file system',
        {
          hint: 'use `dataver config set cache.link reflink` (or symlink), or move the cache next to the workspace',
          cause: error,
        },
      );
    }
    return rethrowFsError(dest)(error);
  }

  /** Re-hashes one object; true when its bytes match its name. */
  async verifyObject(hash: string): Promise<'ok' | 'missing' | 'corrupt'> {
    const packed = this.packs.read(hash);
    if (packed) return sha256(packed) === hash ? 'ok' : 'corrupt';
    try {
      return (await hashFile(this.objectPath(hash))).hash === hash ? 'ok' : 'corrupt';
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return 'missing';
      throw error;
    }
  }

  /** Every object in the cache with its size, loose ones first (`packed` says which are packed). */
  async listObjects(): Promise<Array<{ hash: string; size: number; packed?: true }>> {
    const out: Array<{ hash: string; size: number; packed?: true }> = [];
    const loose = new Set<string>();
    let prefixes: string[] = [];
    try {
      prefixes = await fsp.readdir(this.objectsDir);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    for (const prefix of prefixes) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      const dir = path.join(this.objectsDir, prefix);
      for (const name of await fsp.readdir(dir)) {
        if (!/^[0-9a-f]{62}$/.test(name)) continue;
        const st = await fsp.stat(path.join(dir, name));
        out.push({ hash: prefix + name, size: st.size });
        loose.add(prefix + name);
      }
    }
    for (const o of this.packs.list()) if (!loose.has(o.hash)) out.push({ ...o, packed: true });
    return out;
  }

  /** Folders where writes of the cache put their temporary files (downloads and their sidecars, ingest, manifests). */
  tempDirs(): string[] {
    return [
      this.objectsDir,
      this.packs.dir,
      this.tmpDir,
      this.downloadDir,
      path.join(this.downloadDir, 'partial'),
    ];
  }

  /**
   * Deletes temporary files that an interrupted write left behind (`kill -9` during add or
   * fetch): foundation's temp names whose process is gone, in every folder of the cache (the
   * object folders too), and the `*.tmp` / `fetch-*` names of older versions. Call only while
   * holding the repository write lock.
   */
  async removeLeftovers(): Promise<number> {
    const prefixes = await fsp.readdir(this.objectsDir).catch(() => [] as string[]);
    const objectDirs = prefixes
      .filter((p) => /^[0-9a-f]{2}$/.test(p))
      .map((p) => path.join(this.objectsDir, p));
    const found = await findTemps([...this.tempDirs(), ...objectDirs], { legacy: true });
    return removeTemps(found.stale);
  }

  /** Deletes an object (gc). */
  async remove(hash: string): Promise<void> {
    await this.removeMany([hash]);
  }

  /** Deletes objects, loose or packed: a pack holding any of them is rewritten without them. */
  async removeMany(hashes: Iterable<string>): Promise<void> {
    const gone = [...hashes];
    await this.removeCopies(gone, gone);
  }

  /**
   * Deletes the loose files of `loose` and the packed copies of `packed` (a pack holding any is
   * rewritten without them); `dropDamaged` also rewrites the packs that no longer hash to their
   * name with their intact members. An object with a copy of each kind keeps the one not named
   * (verify --fix).
   */
  async removeCopies(loose: Iterable<string>, packed: Iterable<string>, dropDamaged = false): Promise<void> {
    for (const hash of loose) await fsp.rm(this.objectPath(hash), { force: true });
    try {
      await this.packs.remove(new Set(packed), dropDamaged);
    } catch (error) {
      throw objectWriteError((error as NodeJS.ErrnoException).path ?? this.packs.dir, error);
    }
  }
}

/** The error for a directory manifest in the cache whose bytes do not match its hash. */
function corruptManifest(hash: string): DataverError {
  return new DataverError('OBJECT_CORRUPT', `cache object ${hash} (directory manifest) is corrupt`, {
    hint: 'run `dataver verify` then `dataver pull` to restore it',
  });
}

/**
 * The error for a failed write of an object: a full disk or a read-only cache as the user's
 * (userFsError); a file where an object folder should be (or a folder where a file should) as a
 * damaged cache, exit 3, naming the path; anything else as it is.
 */
function objectWriteError(target: string, error: unknown): unknown {
  const mapped = userFsError(error, target);
  if (mapped) return mapped;
  const errno = errnoCode(error);
  if (errno === 'ENOTDIR' || errno === 'EEXIST' || errno === 'EISDIR')
    return new DataverError(
      'IO',
      `cannot write ${target}: something else is in the way in the cache (${errno})`,
      {
        hint: 'the cache is damaged there: move that file or folder away, then run the command again',
        cause: error,
      },
    );
  return error;
}

/** mkdir -p whose errors name the real cause (recursive mkdir reports ENOENT on a read-only file system). */
async function mkdirp(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      await fsp.mkdir(path.dirname(dir), { recursive: true }).catch(rethrowFsError(path.dirname(dir)));
      await fsp.mkdir(dir).catch(rethrowFsError(dir));
      return;
    }
    rethrowFsError(dir)(error);
  }
}

/** Temporary files found in some folders. */
export interface TempScan {
  /** Left by processes that are gone (or, with `legacy`, by older versions): safe to delete. */
  stale: Array<{ path: string; size: number }>;
  /** Of processes still running: never touched. */
  live: number;
}

/**
 * The temporary files in `dirs` (not recursive): foundation's temp names, stale when their
 * process is gone; with `legacy`, also the `*.tmp` / `fetch-*` names of older versions (which
 * carry no pid: only delete them while holding the write lock).
 *
 * @example
 * const { stale } = await findTemps([cache.downloadDir]);
 */
export async function findTemps(
  dirs: readonly string[],
  options: { legacy?: boolean } = {},
): Promise<TempScan> {
  const scan: TempScan = { stale: [], live: 0 };
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      continue;
    }
    const downloads = path.basename(dir) === 'fetch' || path.basename(dir) === 'tmp';
    for (const name of names) {
      const legacy = !isTempName(name) && (name.endsWith('.tmp') || (downloads && name.startsWith('fetch-')));
      if (isTempName(name) ? !isStaleTemp(name) : !(options.legacy && legacy)) {
        if (isTempName(name)) scan.live++;
        continue;
      }
      const file = path.join(dir, name);
      const st = await fsp.lstat(file).catch(() => undefined);
      if (st) scan.stale.push({ path: file, size: st.isFile() ? st.size : 0 });
    }
  }
  return scan;
}

/**
 * Deletes what findTemps found stale (a folder left by writeAllOrNothing too); returns how many.
 *
 * @example
 * await removeTemps((await findTemps(dirs)).stale);
 */
export async function removeTemps(stale: ReadonlyArray<{ path: string }>): Promise<number> {
  let removed = 0;
  for (const { path: p } of stale) {
    try {
      await fsp.rm(p, { recursive: true, force: true });
      removed++;
    } catch {
      // Read-only or vanished: a later command tries again.
    }
  }
  return removed;
}

/** What identifies one version of an object file: it is replaced, never written in place. */
function fileIdentity(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
