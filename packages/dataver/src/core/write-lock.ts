// One writer at a time per repository: .dataver/tmp/lock holds the pid and
// host of the dataver process that writes. A lock left by a dead process on
// this host is taken over (one contender at a time, through a takeover lock);
// one from another host is reported with the fix.
import { promises as fsp, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { DataverError, errnoCode, isProcessAlive } from '@dataver/foundation';
import type { Repo } from './repo.js';

interface LockInfo {
  pid: number;
  host: string;
  command: string;
  started: string;
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
  await acquire(file, info);

  // Release on normal exit and on Ctrl-C / kill (not on kill -9: that lock is stale and taken over).
  const releaseSync = () => releaseIfOurs(file);
  const onSignal = (signal: NodeJS.Signals) => {
    // Another part of this process handles the signal (repro waits for its stage command to
    // stop and restores outputs): let it finish; the lock is released when it does.
    if (process.listenerCount(signal) > 0) {
      process.once(signal, onSignal);
      return;
    }
    releaseSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', releaseSync);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn();
  } finally {
    process.removeListener('exit', releaseSync);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    releaseSync();
  }
}

async function acquire(file: string, info: LockInfo): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await fsp.writeFile(file, JSON.stringify(info), { flag: 'wx' });
      return;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    const holder = readHolder(file);
    if (!holder) {
      // Being written this instant, or an empty file from a crash between create and write.
      await sleep(25);
      if (attempt >= 4 && !readHolder(file)) await takeOver(file, undefined);
      continue;
    }
    if (holder.host === info.host && !isProcessAlive(holder.pid)) {
      await takeOver(file, holder);
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
  throw new DataverError('REPO_BUSY', 'could not take the repository lock', {
    hint: 'run the command again',
  });
}

/**
 * Removes a stale lock, with one contender at a time: without this, two processes could both
 * see the same dead holder, and the second would delete the lock the first just created.
 */
async function takeOver(file: string, stale: LockInfo | undefined): Promise<void> {
  const gate = `${file}.takeover`;
  try {
    await fsp.writeFile(gate, JSON.stringify({ pid: process.pid, host: hostname() }), { flag: 'wx' });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    // Someone else is taking over. A gate left by a process killed in this very step is stale
    // at once, like the lock; one that cannot be read (killed between create and write) after
    // a while — sooner than acquire() gives up.
    const keeper = readHolder(gate);
    const stat = await fsp.stat(gate).catch(() => undefined);
    const dead = keeper !== undefined && keeper.host === hostname() && !isProcessAlive(keeper.pid);
    if (dead || (keeper === undefined && stat && Date.now() - stat.mtimeMs > 250))
      await fsp.rm(gate, { force: true });
    await sleep(25);
    return;
  }
  try {
    const now = readHolder(file);
    const same = stale === undefined ? now === undefined : now?.pid === stale.pid && now.host === stale.host;
    if (same) await fsp.rm(file, { force: true });
  } finally {
    await fsp.rm(gate, { force: true });
  }
}

function releaseIfOurs(file: string): void {
  const holder = readHolder(file);
  if (holder && holder.pid === process.pid && holder.host === hostname()) {
    try {
      rmSync(file, { force: true });
    } catch {
      // best effort on exit
    }
  }
}

function readHolder(file: string): LockInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
