// `dataver doctor`: what is misconfigured in a repository, each finding with what to do — an
// uncommitted remote configuration (clones would not know the remote), a merge driver that is
// missing or does not run, an unreachable remote, a cache or state folder that cannot be
// written, a conflicted or inconsistent lock, and what crashed commands left behind.
import { constants as fsConstants, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatBytes, isDataverError } from '@dataver/foundation';
import { isUnmerged } from '../git/conflicts.js';
import { runDriverCommand, runGit } from '../git/git.js';
import { configuredMergeDriver, MERGE_ATTRIBUTE } from '../git/merge-driver-setup.js';
import { commitState } from '../git/staging.js';
import { emptyLock } from '../lock/accept.js';
import { LOCK_FILE, readLock, serializeLock } from '../lock/lock-file.js';
import { toPosix } from '../util/fs.js';
import { CONFIG_FILE } from './config.js';
import { findLeftovers } from './leftovers.js';
import { openConfiguredRemote } from './remotes.js';
import type { Repo } from './repo.js';
import { lockEntryProblems } from './status.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

/** One finding of `doctor`. */
export interface DoctorCheck {
  name: string;
  level: CheckLevel;
  /** Kept for scripts: true unless the level is `fail`. */
  ok: boolean;
  message: string;
  hint?: string;
}

const check = (name: string, level: CheckLevel, message: string, hint?: string): DoctorCheck => ({
  name,
  level,
  ok: level !== 'fail',
  message,
  ...(hint ? { hint } : {}),
});

/**
 * Runs every check; `remote: false` leaves the network alone.
 *
 * @example
 * const checks = await diagnose(repo, { remote: true });
 * const healthy = checks.every((c) => c.ok);
 */
export async function diagnose(repo: Repo, options: { remote?: boolean } = {}): Promise<DoctorCheck[]> {
  const inGit = (await commitState(repo.root, LOCK_FILE)) !== 'not-in-git';
  const checks: DoctorCheck[] = [];
  checks.push(
    inGit
      ? check('git', 'ok', `dataver repository at ${repo.root}, inside a git work tree`)
      : check(
          'git',
          'warn',
          `${repo.root} is not inside a git repository: data.lock.json is not versioned`,
          'run `git init`, then commit data.lock.json, .gitignore and .dataver/',
        ),
  );
  if (inGit) checks.push(await configCommitted(repo));
  checks.push(...(await lockChecks(repo, inGit)));
  if (inGit) checks.push(await mergeDriverCheck(repo));
  checks.push(await remoteCheck(repo, options.remote !== false));
  checks.push(await writableCheck(repo));
  checks.push(...(await leftoverChecks(repo)));
  return checks;
}

async function configCommitted(repo: Repo): Promise<DoctorCheck> {
  const file = toPosix(CONFIG_FILE);
  const state = await commitState(repo.root, file);
  if (state === 'committed')
    return check('remote config', 'ok', `${file} is committed: clones know the remotes`);
  return check(
    'remote config',
    'fail',
    `${file} ${state === 'untracked' ? 'is not committed' : 'has changes that are not committed'}: a fresh clone will not know ${state === 'untracked' ? 'that this is a dataver repository' : 'these remotes'}`,
    `git add ${file} && git commit`,
  );
}

async function lockChecks(repo: Repo, inGit: boolean): Promise<DoctorCheck[]> {
  if (inGit && (await isUnmerged(repo.root, LOCK_FILE))) {
    return [
      check(
        'lock',
        'fail',
        `${LOCK_FILE} is unmerged in git: a merge stopped on it (did the merge driver run?)`,
        `fix the merge driver (below), then merge it again and mark it resolved: \`git checkout -m ${LOCK_FILE} && git add ${LOCK_FILE}\``,
      ),
    ];
  }
  try {
    const lock = await readLock(repo.root);
    const wrong = await lockEntryProblems(repo, lock);
    if (wrong.length > 0) {
      return [
        check(
          'lock',
          'fail',
          `${wrong.length} entr${wrong.length === 1 ? 'y' : 'ies'} of ${LOCK_FILE} contradict their objects: ${wrong
            .slice(0, 3)
            .map((o) => `${o.path} (${o.problems[0]})`)
            .join('; ')}`,
          `rewrite them from the data: dataver commit ${wrong.map((o) => o.path).join(' ')}`,
        ),
      ];
    }
    return [check('lock', 'ok', `${LOCK_FILE}: ${Object.keys(lock.outputs).length} output(s), consistent`)];
  } catch (error) {
    if (!isDataverError(error)) throw error;
    return [check('lock', 'fail', error.message, error.hint)];
  }
}

async function mergeDriverCheck(repo: Repo): Promise<DoctorCheck> {
  const attr = await runGit(repo.root, ['check-attr', 'merge', '--', LOCK_FILE]);
  const named = /: merge: dataver\s*$/.test(attr.stdout.toString('utf8'));
  const driver = await configuredMergeDriver(repo.root);
  const setUp = 'run `dataver init --git-hooks` here (it registers this dataver by absolute path)';
  if (!named) {
    return check(
      'merge driver',
      'fail',
      `.gitattributes does not name the merge driver for ${LOCK_FILE} (${MERGE_ATTRIBUTE})`,
      setUp,
    );
  }
  if (!driver) {
    return check(
      'merge driver',
      'fail',
      'the merge driver is not configured in this clone (.git/config is not cloned)',
      setUp,
    );
  }
  const trial = await tryMergeDriver(repo.root, driver);
  if (trial !== undefined) {
    return check('merge driver', 'fail', `the merge driver does not run (${trial}): ${driver}`, setUp);
  }
  return check('merge driver', 'ok', `runs: ${driver}`);
}

/** Runs the driver command as git would on three copies of an empty lock; undefined when it merges them. */
async function tryMergeDriver(root: string, driver: string): Promise<string | undefined> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dataver-doctor-'));
  try {
    const empty = serializeLock(emptyLock());
    const files = { O: path.join(dir, 'base'), A: path.join(dir, 'ours'), B: path.join(dir, 'theirs') };
    for (const file of Object.values(files)) await fsp.writeFile(file, empty);
    const command = driver
      .replace(/%O/g, files.O)
      .replace(/%A/g, files.A)
      .replace(/%B/g, files.B)
      .replace(/%P/g, LOCK_FILE);
    const code = await runDriverCommand(root, command);
    if (code !== 0) return code === 127 ? 'command not found' : `exit status ${code}`;
    return (await fsp.readFile(files.A, 'utf8')) === empty
      ? undefined
      : 'it wrote something other than the merge';
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function remoteCheck(repo: Repo, contact: boolean): Promise<DoctorCheck> {
  const names = Object.keys(repo.config.remotes);
  const chosen = repo.config.core.remote;
  if (names.length === 0)
    return check(
      'remote',
      'warn',
      'no remote configured: data lives only in this clone',
      'dataver remote add origin <gs://bucket/prefix | folder> --default',
    );
  if (!chosen)
    return check(
      'remote',
      'warn',
      `no default remote (configured: ${names.join(', ')}): push and pull need -r`,
      `dataver remote default ${names[0]}`,
    );
  if (!contact) return check('remote', 'ok', `default remote ${chosen} (not contacted: --no-remote)`);
  try {
    const { store } = openConfiguredRemote(repo, chosen);
    try {
      await store.index.load();
      return check(
        'remote',
        'ok',
        `default remote ${chosen} (${store.url}) answers: ${store.index.size} object(s) indexed`,
      );
    } finally {
      await store.close();
    }
  } catch (error) {
    if (!isDataverError(error)) throw error;
    return check('remote', 'fail', `default remote ${chosen}: ${error.message}`, error.hint);
  }
}

async function writableCheck(repo: Repo): Promise<DoctorCheck> {
  const refused: string[] = [];
  for (const dir of [repo.cache.root, repo.cache.objectsDir, repo.tmpDir, repo.stateDir]) {
    try {
      await fsp.access(dir, fsConstants.W_OK);
    } catch (error) {
      // A folder not made yet is made by the first command that needs it.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') refused.push(path.relative(repo.root, dir));
    }
  }
  if (refused.length === 0) return check('cache', 'ok', 'the cache, tmp and state folders can be written');
  return check(
    'cache',
    'fail',
    `cannot write ${refused.join(', ')}: add, checkout, pull and gc will fail (status and diff still work)`,
    'check the ownership and mount options of .dataver/ (read-only?)',
  );
}

async function leftoverChecks(repo: Repo): Promise<DoctorCheck[]> {
  const found = await findLeftovers(repo);
  const checks: DoctorCheck[] = [];
  checks.push(
    found.staleTemps === 0
      ? check('leftovers', 'ok', 'no temporary files of crashed commands')
      : check(
          'leftovers',
          'warn',
          `${found.staleTemps} temporary file(s) of crashed commands (${formatBytes(found.staleBytes)})`,
          'the next dataver command removes those it can see cheaply; `dataver gc --force` removes them all',
        ),
  );
  if (found.partials > 0) {
    checks.push(
      check(
        'partial downloads',
        'warn',
        `${found.partials} interrupted download(s) (${formatBytes(found.partialBytes)}): the next pull resumes them`,
        '`dataver gc --force` deletes them instead',
      ),
    );
  }
  return checks;
}
