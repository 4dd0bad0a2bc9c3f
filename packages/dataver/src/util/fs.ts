// Small file-system helpers that every layer shares: atomic writes, fsync,
// existence checks. All writes go tmp file → fsync → rename, so a reader (or a
// process killed with -9 halfway) sees the old content or the new, never a part.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errnoCode, rethrowFsError } from '../errors.js';

/**
 * A unique temporary name beside `target` (same directory, so rename is atomic). Short, so
 * that it fits wherever the target's own name fits.
 */
export function tmpNameFor(target: string): string {
  // Keep in step with isDataverTemp below.
  return path.join(path.dirname(target), `.dv-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/** True for the name of a temporary file that tmpNameFor made (left behind only by a crash). */
export function isDataverTemp(name: string): boolean {
  return /^\.dv-\d+-[0-9a-f]{12}\.tmp$/.test(name);
}

/**
 * Writes `data` to `target` atomically: tmp file in the same directory, fsync, rename, fsync of the directory.
 *
 * @example
 * await writeFileAtomic('data.lock.json', JSON.stringify(lock, null, 2) + '\n');
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  mode?: number,
): Promise<void> {
  const tmp = tmpNameFor(target);
  try {
    const handle = await fsp.open(tmp, 'w', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, target);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    rethrowFsError(target)(error);
  }
  await fsyncDir(path.dirname(target));
}

/** fsync a directory so a rename inside it survives a crash (best effort where unsupported). */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  }
}

/**
 * Flushes a whole file system to disk with one syncfs(2) (`sync -f`), instead of
 * one fsync per object: 100 000 fsyncs cost ~30 s here, one syncfs a few ms.
 *
 * @example
 * await syncFileSystem('.dataver/cache');
 */
export function syncFileSystem(dir: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('sync', ['-f', dir], () => resolve());
  });
}

/** lstat that returns undefined for a missing path. */
export async function lstatOrUndefined(p: string) {
  try {
    return await fsp.lstat(p);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Reads a text file, or undefined when it does not exist. */
export async function readTextOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(p, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Converts an OS path relative to `root` into the `/`-separated form used in lock files. */
export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
