// Atomic writes for every package: a temporary file (or folder) beside the target, fsync, rename,
// fsync of the folder. A reader, or a process killed with -9 halfway, sees the old content or the
// new, never a part. Every temporary name has one shape, `.dv-<pid>-<hex>.tmp`, so that crash
// clean-up recognises all leftovers and can tell those of a live process from a dead one's.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { errnoCode, withFile } from '../errors.js';

const TEMP_NAME = /^\.dv-(\d+)-[0-9a-f]{12}\.tmp$/;

/**
 * A unique temporary name beside `target` (same folder, so that rename is atomic). Short, so it
 * fits wherever the target's own name fits.
 *
 * @example
 * tmpNameFor('/repo/data.lock.json'); // '/repo/.dv-4242-9f1c2a7b3d4e.tmp'
 */
export function tmpNameFor(target: string): string {
  return path.join(path.dirname(target), `.dv-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * True for a name that tmpNameFor made (a file or folder only a crash leaves behind).
 *
 * @example
 * isTempName('.dv-4242-9f1c2a7b3d4e.tmp'); // true
 */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/**
 * The pid of the process that made a temporary name, or undefined for other names.
 *
 * @example
 * tempOwnerPid('.dv-4242-9f1c2a7b3d4e.tmp'); // 4242
 */
export function tempOwnerPid(name: string): number | undefined {
  const match = TEMP_NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * True when process `pid` runs on this host. EPERM means it exists but belongs to someone else.
 *
 * @example
 * isProcessAlive(process.pid); // true
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * True for a temporary name whose maker is no longer running: safe to delete. A temp of a live
 * process (another command at work) is never stale.
 *
 * @example
 * if (isStaleTemp(name)) await fsp.rm(path.join(dir, name), { recursive: true, force: true });
 */
export function isStaleTemp(name: string): boolean {
  const pid = tempOwnerPid(name);
  return pid !== undefined && pid !== process.pid && !isProcessAlive(pid);
}

export interface WriteFileAtomicOptions {
  /** File mode of the new file (default 0o666 minus the umask). */
  mode?: number;
  /** fsync the file and its folder (default true). Off only for scratch data. */
  sync?: boolean;
  /** Create the parent folder first when it is missing (default false). */
  mkdir?: boolean;
}

/**
 * Writes `target` atomically through `write`, which gets the open handle of a fresh temporary
 * file beside it (for writers that stream, seek or patch); then fsync, rename, fsync of the folder.
 * Any failure removes the temporary file and becomes a DataverError about `target` (withFile).
 *
 * @example
 * await writeFileAtomicWith('big.bin', async (handle) => { await handle.write(header); await handle.write(body); });
 */
export async function writeFileAtomicWith(
  target: string,
  write: (handle: FileHandle) => Promise<void>,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const sync = options.sync ?? true;
  const tmp = tmpNameFor(target);
  try {
    if (options.mkdir) await fsp.mkdir(path.dirname(target), { recursive: true });
    const handle = await fsp.open(tmp, 'wx', options.mode);
    try {
      await write(handle);
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await renameWithRetry(tmp, target);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    withFile(target)(error);
  }
  if (sync) await fsyncDir(path.dirname(target));
}

/**
 * Writes `data` (a string, bytes, or a list of chunks written with writev) to `target`
 * atomically: tmp file in the same folder, fsync, rename, fsync of the folder.
 *
 * @example
 * await writeFileAtomic('data.lock.json', JSON.stringify(lock, null, 2) + '\n');
 */
export function writeFileAtomic(
  target: string,
  data: string | Uint8Array | readonly Uint8Array[],
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  return writeFileAtomicWith(
    target,
    async (handle) => {
      if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
      else await writeChunks(handle, data);
    },
    options,
  );
}

/** writev in batches under IOV_MAX, finishing short writes buffer by buffer. */
async function writeChunks(handle: FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  let pending = chunks.filter((c) => c.length > 0);
  while (pending.length > 0) {
    const batch = pending.slice(0, 512);
    pending = pending.slice(512);
    let { bytesWritten } = await handle.writev(batch);
    for (const chunk of batch) {
      if (bytesWritten >= chunk.length) {
        bytesWritten -= chunk.length;
        continue;
      }
      let offset = bytesWritten;
      bytesWritten = 0;
      while (offset < chunk.length) offset += (await handle.write(chunk, offset)).bytesWritten;
    }
  }
}

/**
 * The synchronous twin of writeFileAtomic, for code that must not yield (tfjs save handlers).
 *
 * @example
 * writeFileAtomicSync('out/model.json', JSON.stringify(model));
 */
export function writeFileAtomicSync(
  target: string,
  data: string | Uint8Array | readonly Uint8Array[],
  options: WriteFileAtomicOptions = {},
): void {
  const sync = options.sync ?? true;
  const tmp = tmpNameFor(target);
  try {
    if (options.mkdir) fs.mkdirSync(path.dirname(target), { recursive: true });
    const fd = fs.openSync(tmp, 'wx', options.mode);
    try {
      const parts =
        typeof data === 'string' ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
      for (const part of parts) {
        let offset = 0;
        while (offset < part.length) offset += fs.writeSync(fd, part, offset, part.length - offset);
      }
      if (sync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    withFile(target)(error);
  }
  if (sync) fsyncDirSync(path.dirname(target));
}

/**
 * Builds a set of files in a temporary folder beside `outDir`, then moves each into `outDir`
 * (created if needed), so that a failed run never leaves part of the set behind. The temporary
 * folder is removed whatever happens.
 *
 * @example
 * await writeAllOrNothing('data/raw', async (tmp) => { await writeTensor(path.join(tmp, 'a.pt'), t); });
 */
export async function writeAllOrNothing<T>(
  outDir: string,
  build: (tmpDir: string) => Promise<T>,
): Promise<T> {
  const target = path.resolve(outDir);
  await fsp.mkdir(path.dirname(target), { recursive: true }).catch(withFile(path.dirname(target)));
  const tmp = tmpNameFor(target);
  await fsp.mkdir(tmp).catch(withFile(tmp));
  try {
    const result = await build(tmp);
    await fsp.mkdir(target, { recursive: true }).catch(withFile(target));
    for (const name of (await fsp.readdir(tmp)).sort()) {
      await renameWithRetry(path.join(tmp, name), path.join(target, name)).catch(
        withFile(path.join(target, name)),
      );
    }
    await fsyncDir(target);
    return result;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * fsync a folder so that a rename inside it survives a power loss. Windows cannot open a folder
 * for fsync and its renames are journaled by NTFS, so there (and on file systems that refuse
 * it) this does nothing; the rename is atomic either way.
 *
 * @example
 * await fsyncDir('/repo/.dataver');
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // EINVAL/EISDIR from file systems without folder fsync: nothing more can be done.
  }
}

/** The synchronous twin of fsyncDir. */
export function fsyncDirSync(dir: string): void {
  if (process.platform === 'win32') return;
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // as in fsyncDir
  }
}

/** How syncFileSystem flushes on a platform. */
export type SyncStrategy = 'syncfs' | 'sync' | 'fsync-each';

/**
 * The strategy syncFileSystem uses on `platform`: Linux has syncfs(2) (`sync -f DIR`, one file
 * system); other Unix systems only sync(2) (`sync`, every file system; on macOS it schedules the
 * writes rather than waiting for them); Windows has neither, so each file is fsynced
 * (FlushFileBuffers).
 *
 * @example
 * syncStrategy('linux'); // 'syncfs'
 */
export function syncStrategy(platform: NodeJS.Platform = process.platform): SyncStrategy {
  if (platform === 'linux') return 'syncfs';
  if (platform === 'win32') return 'fsync-each';
  return 'sync';
}

/**
 * Flushes many freshly written files to disk at once, instead of one fsync per file (100 000
 * fsyncs cost ~30 s on Linux, one syncfs a few ms). `files` are fsynced one by one where the
 * platform has no file-system-wide flush (see syncStrategy). Returns the strategy used.
 *
 * @example
 * await syncFileSystem('.dataver/cache', writtenPaths);
 */
export async function syncFileSystem(dir: string, files: readonly string[] = []): Promise<SyncStrategy> {
  const strategy = syncStrategy();
  if (strategy === 'fsync-each') {
    for (const file of files) {
      const handle = await fsp.open(file, 'r+').catch(() => undefined);
      if (!handle) continue;
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    return strategy;
  }
  const args = strategy === 'syncfs' ? ['-f', dir] : [];
  await new Promise<void>((resolve) => {
    // A missing `sync` binary is no reason to fail a command whose writes already succeeded.
    // Loaded here: node:child_process costs ~4 ms of start-up to every command that never syncs.
    const { execFile } = require('node:child_process') as typeof import('node:child_process');
    execFile('sync', args, () => resolve());
  });
  return strategy;
}

/** How often, and how long, a rename that Windows refuses with EPERM/EBUSY/EACCES is retried. */
const RENAME_RETRIES = 10;
const RENAME_RETRY_MS = 50;

/**
 * fs.rename that rides out Windows' transient EPERM/EBUSY/EACCES (an antivirus or indexer briefly
 * holding the target open); elsewhere a plain rename.
 *
 * @example
 * await renameWithRetry(tmp, target);
 */
export async function renameWithRetry(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.rename(from, to);
      return;
    } catch (error) {
      const errno = errnoCode(error);
      const transient = errno === 'EPERM' || errno === 'EBUSY' || errno === 'EACCES';
      if (os.platform() !== 'win32' || !transient || attempt >= RENAME_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, RENAME_RETRY_MS * (attempt + 1)));
    }
  }
}
