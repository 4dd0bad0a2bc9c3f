// Atomic writes for every package: a temporary file (or folder) beside the target, fsync, rename,
// fsync of the folder. A reader, or a process killed with -9 halfway, sees the old content or the
// new, never a part. Every temporary name has one shape, `.dv-<pid>-<hex>.tmp`, so that crash
// clean-up recognises all leftovers and can tell those of a live process from a dead one's.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errnoCode, rethrowFsError } from '../errors.js';

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
}

/**
 * Writes `data` to `target` atomically: tmp file in the same folder, fsync, rename, fsync of the
 * folder. User-caused failures (full disk, read-only folder) become DataverErrors.
 *
 * @example
 * await writeFileAtomic('data.lock.json', JSON.stringify(lock, null, 2) + '\n');
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array | readonly Uint8Array[],
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const sync = options.sync ?? true;
  const tmp = tmpNameFor(target);
  try {
    const handle = await fsp.open(tmp, 'wx', options.mode);
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
      else for (const part of data) await handle.write(part);
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await renameWithRetry(tmp, target);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    rethrowFsError(target)(error);
  }
  if (sync) await fsyncDir(path.dirname(target));
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
    rethrowFsError(target)(error);
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
  await fsp.mkdir(path.dirname(target), { recursive: true }).catch(rethrowFsError(path.dirname(target)));
  const tmp = tmpNameFor(target);
  await fsp.mkdir(tmp).catch(rethrowFsError(tmp));
  try {
    const result = await build(tmp);
    await fsp.mkdir(target, { recursive: true }).catch(rethrowFsError(target));
    for (const name of (await fsp.readdir(tmp)).sort()) {
      await renameWithRetry(path.join(tmp, name), path.join(target, name)).catch(
        rethrowFsError(path.join(target, name)),
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
