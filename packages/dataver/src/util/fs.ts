// Small file-system helpers of dataver's layers: existence checks and the lock-path form. Atomic
// writes live in @dataver/foundation (writeFileAtomic), shared by every package.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '@dataver/foundation';

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
