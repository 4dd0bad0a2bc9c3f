// A Storage over a plain folder: what a local-folder remote lives on. Writes are atomic
// (temporary file in the same directory, fsync, rename) so a crash or a concurrent writer never
// leaves a partial object under its key.
import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { DataverError, errnoCode, isTempName, rethrowFsError, tmpNameFor } from '@dataver/foundation';
import { zip } from '../util/invariants.js';
import type {
  GetOptions,
  PutOptions,
  PutSource,
  Storage,
  StorageDescription,
  StorageEntry,
} from './types.js';

/**
 * The prefix of the temporary files that earlier versions wrote (today's are foundation's
 * `tmpNameFor` names): still hidden from `list` and refused as keys, so remotes written by an
 * older dataver list cleanly.
 */
export const LEGACY_TMP_PREFIX = '.dataver-tmp-';

/** A name that is a write in flight or a crash leftover, never a key. */
function isTemporary(name: string): boolean {
  return isTempName(name) || name.startsWith(LEGACY_TMP_PREFIX);
}

export interface LocalStorageOptions {
  /**
   * fsync every written file before it is renamed into place (default true).
   * Turning it off trades crash durability for speed; atomicity is kept.
   */
  fsync?: boolean;
  /** Mode of written files (default 0o644; the cache passes 0o444 to make objects read-only). */
  fileMode?: number;
}

/** How many `stat` calls `list` keeps in flight: enough to fill libuv's thread pool, few enough to bound memory. */
const LIST_STAT_CONCURRENCY = 64;

/**
 * Checks that a key is relative, `/`-separated and free of `.`/`..` segments,
 * so no key can address a file outside the root.
 */
function assertValidKey(key: string): void {
  if (
    key.length === 0 ||
    key.startsWith('/') ||
    key.endsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..' || isTemporary(s))
  ) {
    throw new TypeError(`invalid storage key: ${JSON.stringify(key)}`);
  }
}

/**
 * Storage backed by a directory on the local file system.
 *
 * @example
 * const storage = new LocalStorage('/srv/dataver-remote');
 * await storage.put('objects/ab/cdef', Buffer.from('hello'));
 * const bytes = await storage.getBuffer('objects/ab/cdef');
 */
export class LocalStorage implements Storage {
  readonly url: string;
  readonly root: string;
  private readonly fsync: boolean;
  private readonly fileMode: number;

  constructor(root: string, options: LocalStorageOptions = {}) {
    this.root = path.resolve(root);
    this.url = this.root;
    this.fsync = options.fsync ?? true;
    this.fileMode = options.fileMode ?? 0o644;
  }

  /** The absolute file path that holds `key`. */
  pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, source: PutSource, options: PutOptions = {}): Promise<void> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    const tmp = tmpNameFor(target);
    const fail = rethrowFsError(target);
    await fs.mkdir(dir, { recursive: true }).catch(fail);
    try {
      let size: number;
      if (Buffer.isBuffer(source)) {
        const handle = await fs.open(tmp, 'wx', this.fileMode);
        try {
          await handle.writeFile(source);
          if (this.fsync) await handle.sync();
        } finally {
          await handle.close();
        }
        size = source.length;
      } else {
        // copyFile lets the kernel clone or copy in one call (no JS buffers);
        // a missing source is a caller bug, surfaced as the raw ENOENT.
        await fs.copyFile(source.filePath, tmp, fsConstants.COPYFILE_FICLONE);
        const handle = await fs.open(tmp, 'r+');
        try {
          if (this.fsync) await handle.sync();
          size = (await handle.stat()).size;
          await handle.chmod(this.fileMode);
        } finally {
          await handle.close();
        }
      }
      await fs.rename(tmp, target);
      options.onProgress?.(size);
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      fail(error);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const file = this.pathOf(key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (error) {
      throw this.mapReadError(key, file, error);
    }
    // The stream owns the handle and closes it when done or destroyed.
    // 1 MiB reads, not the default 64 KiB: a pull of many small objects reads whole packs.
    return handle.createReadStream({
      start: options.start,
      end: options.end,
      autoClose: true,
      highWaterMark: 1 << 20,
    });
  }

  async getBuffer(key: string): Promise<Buffer> {
    const file = this.pathOf(key);
    try {
      return await fs.readFile(file);
    } catch (error) {
      throw this.mapReadError(key, file, error);
    }
  }

  async stat(key: string): Promise<StorageEntry | undefined> {
    const file = this.pathOf(key);
    try {
      const st = await fs.stat(file);
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      return rethrowFsError(file)(error);
    }
  }

  async *list(prefix: string): AsyncIterable<StorageEntry> {
    // Start at the deepest directory the prefix names, then filter by the
    // string prefix, so `list('objects/ab')` only walks `objects/`.
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash < 0 ? '' : prefix.slice(0, slash);
    if (baseKey !== '' && baseKey.split('/').some((s) => s === '' || s === '.' || s === '..')) return;
    const baseDir = baseKey === '' ? this.root : path.join(this.root, ...baseKey.split('/'));
    yield* this.walk(baseDir, baseKey === '' ? '' : `${baseKey}/`, prefix);
  }

  private async *walk(dir: string, keyPrefix: string, filter: string): AsyncGenerator<StorageEntry> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      return rethrowFsError(dir)(error);
    }
    const files: string[] = [];
    const dirs: string[] = [];
    for (const entry of entries) {
      if (isTemporary(entry.name)) continue;
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        // Descend only where some key below could still match the filter.
        const asDir = `${key}/`;
        if (asDir.startsWith(filter) || filter.startsWith(asDir)) dirs.push(entry.name);
      } else if (entry.isFile() && key.startsWith(filter)) {
        files.push(entry.name);
      }
    }
    for (let i = 0; i < files.length; i += LIST_STAT_CONCURRENCY) {
      const batch = files.slice(i, i + LIST_STAT_CONCURRENCY);
      const sizes = await Promise.all(
        batch.map((name) =>
          fs.stat(path.join(dir, name)).then(
            (st) => st.size,
            () => -1, // deleted between readdir and stat: skip it
          ),
        ),
      );
      for (const [name, size] of zip(batch, sizes)) if (size >= 0) yield { key: keyPrefix + name, size };
    }
    for (const name of dirs) {
      yield* this.walk(path.join(dir, name), `${keyPrefix}${name}/`, filter);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await fs.unlink(file);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      rethrowFsError(file)(error);
    }
  }

  async describe(): Promise<StorageDescription> {
    return { kind: 'local', location: this.root, credentialSource: 'file system' };
  }

  async close(): Promise<void> {}

  private mapReadError(key: string, file: string, error: unknown): unknown {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      return new DataverError('NOT_FOUND', `no object ${key} in ${this.url}`, {
        cause: error,
        data: { key },
      });
    }
    try {
      rethrowFsError(file)(error);
    } catch (mapped) {
      return mapped;
    }
    return error;
  }
}
