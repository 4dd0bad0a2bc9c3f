// dataver gc [--force] [--workspace] [--all-branches] [--all-commits]
// Keeps what the workspace lock, the run cache and (with the scopes) the locks
// of branch tips or of every commit reference; the rest goes with --force.
import { spawn } from 'node:child_process';
import { DataverError, formatBytes, type Output } from '@dataver/foundation';
import { collectGarbage } from '../../core/gc.js';
import { Repo } from '../../core/repo.js';
import { withWriteLock } from '../../core/write-lock.js';
import { LOCK_FILE, parseLock, readLock } from '../../lock/lock-file.js';
import type { Lock } from '../../lock/schema.js';

export async function run(
  output: Output,
  _args: unknown[],
  options: {
    force?: boolean;
    workspace?: boolean;
    allBranches?: boolean;
    allCommits?: boolean;
    /** False with --no-run-cache. */
    runCache?: boolean;
  },
): Promise<number> {
  const repo = await Repo.find(process.cwd());
  const result = await withWriteLock(repo, 'gc', async () => {
    const locks: Lock[] = [await readLock(repo.root)];
    let revisions = 0;
    if (options.allCommits) {
      const history = await locksOfAllCommits(repo.root, (m) => output.warn(m));
      revisions = history.commits;
      locks.push(...history.locks);
    } else if (options.allBranches) {
      const { listRevisions, readLockAtRevision } = await import('../../git/revisions.js');
      const revs = await listRevisions(repo.root, { allBranches: true });
      revisions = revs.length;
      // Branches often share one lock: keep each distinct lock once.
      const seen = new Set<string>();
      for (const rev of revs) {
        const lock = await readLockAtRevision(repo.root, rev);
        const key = JSON.stringify(lock);
        if (seen.has(key)) continue;
        seen.add(key);
        locks.push(lock);
      }
    }
    const { runCacheLocks, clearRunCache } = await import('../../pipeline/run-cache.js');
    const runs = options.runCache === false ? [] : await runCacheLocks(repo);
    locks.push(...runs);
    // Records whose outputs are about to go would only be skipped later: forget them too.
    if (options.runCache === false && options.force) await clearRunCache(repo);
    const { neededObjects } = await import('../../core/objects.js');
    const unknown = new Set<string>();
    for (const lock of locks) {
      for (const m of (await neededObjects(repo, lock)).missingManifests) unknown.add(m.path);
    }
    if (unknown.size > 0) {
      output.warn(
        `${unknown.size} directory manifest(s) of kept versions are not in the cache (${[...unknown].slice(0, 3).join(', ')}${unknown.size > 3 ? ', …' : ''}); their files cannot be kept and are skipped`,
      );
    }
    const gc = await collectGarbage(repo, locks, { force: options.force === true });
    return { ...gc, revisions, runRecords: runs.length };
  });
  const scope = options.allCommits
    ? 'all commits'
    : options.allBranches
      ? 'all branches and tags'
      : 'the workspace';
  output.result(result, () =>
    result.objects === 0
      ? `Nothing to remove (kept ${result.kept} object(s) referenced by ${scope}).`
      : result.removed
        ? `removed ${result.objects} object(s), ${formatBytes(result.bytes)}; kept ${result.kept} referenced by ${scope}`
        : `would remove ${result.objects} object(s), ${formatBytes(result.bytes)}; keeping ${result.kept} referenced by ${scope} (dry run: add --force to delete)`,
  );
  return 0;
}

/**
 * Every distinct data.lock.json in the history, with two git processes whatever
 * the number of commits: `git log --all -m --raw` lists the lock's blob in each
 * commit that changed it (merges against each parent, so a merge driver's result
 * is there too), and one `git cat-file --batch` reads them all.
 */
async function locksOfAllCommits(
  root: string,
  warn: (message: string) => void,
): Promise<{ locks: Lock[]; commits: number }> {
  const { listRevisions } = await import('../../git/revisions.js');
  const commits = (await listRevisions(root, { allCommits: true })).length;
  const log = await gitOutput(root, [
    'log',
    '--all',
    '-m',
    '--raw',
    '--no-abbrev',
    '--format=',
    '--',
    LOCK_FILE,
  ]);
  const blobs = new Set<string>();
  for (const line of log.toString('utf8').split('\n')) {
    const m = /^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) /.exec(line);
    if (!m) continue;
    for (const id of [m[1], m[2]]) if (!/^0+$/.test(id)) blobs.add(id);
  }
  if (blobs.size === 0) return { locks: [], commits };
  const batch = await gitOutput(root, ['cat-file', '--batch'], `${[...blobs].join('\n')}\n`);
  const locks: Lock[] = [];
  let at = 0;
  while (at < batch.length) {
    const eol = batch.indexOf(10, at);
    const header = batch.subarray(at, eol).toString('utf8').split(' ');
    if (header[1] !== 'blob') {
      at = eol + 1;
      continue;
    }
    const size = Number(header[2]);
    const text = batch.subarray(eol + 1, eol + 1 + size).toString('utf8');
    at = eol + 1 + size + 1;
    try {
      locks.push(parseLock(text, `${LOCK_FILE} (blob ${header[0].slice(0, 12)})`));
    } catch (error) {
      warn(`skipping an unreadable ${LOCK_FILE} in the history: ${(error as Error).message}`);
    }
  }
  return { locks, commits };
}

function gitOutput(cwd: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    child.stderr?.on('data', (c: Buffer) => {
      stderr += String(c);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(chunks));
      else
        reject(
          new DataverError('USAGE', `git ${args[0]} failed: ${stderr.trim().split('\n')[0]}`, {
            hint: 'is this a git repository?',
          }),
        );
    });
    if (input !== undefined && child.stdin) {
      // git exits early on an error: that is reported by its status, not as EPIPE here.
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}
