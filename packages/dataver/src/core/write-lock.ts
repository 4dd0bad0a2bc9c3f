// One writer at a time per repository: .dataver/tmp/lock holds the pid and
// host of the dataver process that writes. A lock left by a dead process on
// this host is taken over; one from another host is reported with the fix.
import { promises as fsp, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { DataverError, errnoCode } from '../errors.js';
import type { Repo } from './repo.js';

interface LockInfo {
  pid: number;
  host: string;
  command: string;
  started: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * Runs `fn` while holding the repository's write lock.
 *
 * @example
 * await withWriteLock(repo, 'add', () => addPaths(repo, paths));
 */
export async function withWriteLock<T>(repo: Repo, command: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(repo.tmpDir, 'lock');
  await fsp.mkdir(repo.tmpDir, { recursive: true });
  const info: LockInfo = { pid: process.pid, host: hostname(), command, started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.writeFile(file, JSON.stringify(info), { flag: 'wx' });
      break;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST' || attempt > 2) throw error;
      const holder = await readHolder(file);
      if (holder && holder.host === info.host && !isAlive(holder.pid)) {
        // Stale: its process died (kill -9, crash). Remove and retry.
        await fsp.rm(file, { force: true });
        continue;
      }
      if (!holder) {
        // Being written right now, or garbage from a crash between create and write.
        await new Promise((r) => setTimeout(r, 50));
        if (attempt === 2) await fsp.rm(file, { force: true });
        continue;
      }
      throw new DataverError(
        'REPO_BUSY',
        `the repository is busy: dataver ${holder.command} (pid ${holder.pid} on ${holder.host}) holds the lock since ${holder.started}`,
        {
          hint:
            holder.host === info.host
              ? 'wait for it to finish'
              : `if no dataver runs on ${holder.host}, delete ${path.relative(process.cwd(), file)}`,
          data: { ...holder },
        },
      );
    }
  }
  const release = () => {
    try {
      rmSync(file, { force: true });
    } catch {
      // best effort on exit
    }
  };
  process.once('exit', release);
  try {
    return await fn();
  } finally {
    process.removeListener('exit', release);
    await fsp.rm(file, { force: true });
  }
}

async function readHolder(file: string): Promise<LockInfo | undefined> {
  try {
    const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as LockInfo;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
