// Reading data.lock.json (and other committed files) at git revisions, and every version of a
// committed file across the history (what gc keeps with --all-branches / --all-commits).
// All through ./git.js, the one module that runs git.
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { emptyLock } from '../lock/accept.js';
import { LOCK_FILE, parseLock } from '../lock/lock-file.js';
import type { Lock } from '../lock/schema.js';
import { catFileBatch, complaint, gitOutput, runGit } from './git.js';

/** A `rev:path` name for git, with `file` relative to `root` (which may be a subfolder of the work tree). */
function atRevision(rev: string, file: string): string {
  return `${rev}:./${file.split(path.sep).join('/')}`;
}

/**
 * The text of a repository file at a revision, or undefined when the file does not exist there.
 * `file` is relative to the dataver root (which may be a subfolder of the git work tree).
 *
 * @example
 * const text = await readFileAtRevision(repo.root, 'HEAD~1', 'params.yaml');
 */
export async function readFileAtRevision(
  root: string,
  rev: string,
  file: string,
): Promise<string | undefined> {
  const commit = await resolveRevision(root, rev);
  const run = await runGit(root, ['show', atRevision(commit, file)]);
  if (run.code === 0) return run.stdout.toString('utf8');
  if (/does not exist|exists on disk, but not in/.test(run.stderr)) return undefined;
  throw new DataverError('USAGE', `cannot read ${file} at ${rev}: ${complaint(run.stderr)}`);
}

/**
 * Full commit id of a revision; a clear USAGE error for an unknown one.
 *
 * @example
 * const commit = await resolveRevision(repo.root, 'main~2'); // '4b825dc6…'
 */
export async function resolveRevision(root: string, rev: string): Promise<string> {
  if (rev.startsWith('-'))
    throw new DataverError('USAGE', `invalid revision '${rev}'`, { hint: 'give a commit, branch or tag' });
  let commit = '';
  let cause: unknown;
  try {
    // With --quiet, git prints nothing for an unknown revision.
    const run = await runGit(root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
    commit = run.stdout.toString('utf8').trim();
    if (run.code !== 0 && run.stderr.trim() !== '') cause = new Error(complaint(run.stderr));
  } catch (error) {
    cause = error;
  }
  if (!/^[0-9a-f]{40,64}$/.test(commit)) {
    throw new DataverError('USAGE', `unknown git revision '${rev}'`, {
      hint: 'give a commit, branch or tag of this repository (see `git log`)',
      cause,
    });
  }
  return commit;
}

/**
 * The lock at a revision (an empty lock when that commit has none).
 *
 * @example
 * const old = await readLockAtRevision(repo.root, 'main~3');
 */
export async function readLockAtRevision(root: string, rev: string): Promise<Lock> {
  const text = await readFileAtRevision(root, rev, LOCK_FILE);
  return text === undefined ? emptyLock() : parseLock(text, `${LOCK_FILE} at ${rev}`);
}

/** One committed version of a file. */
export interface FileVersion {
  /** The blob id. */
  blob: string;
  text: string;
}

/** Reads blobs (or `rev:path` names) through one `git cat-file --batch`; each distinct blob once. */
async function readVersions(root: string, names: readonly string[]): Promise<FileVersion[]> {
  const versions = new Map<string, FileVersion>();
  for await (const o of catFileBatch(root, names)) {
    if ('missing' in o || o.type !== 'blob' || versions.has(o.id)) continue;
    versions.set(o.id, { blob: o.id, text: o.data.toString('utf8') });
  }
  return [...versions.values()];
}

/**
 * Every distinct version of `file` (relative to `root`) committed anywhere in the history, with
 * two git processes whatever the number of commits: `git log --all -m --raw` lists the file's blob
 * in each commit that changed it (merges against each parent, so a merge driver's result is there
 * too), and one `git cat-file --batch` reads them all. `commits` counts the commits of all refs.
 *
 * @example
 * const { versions, commits } = await fileVersionsInHistory(repo.root, 'data.lock.json');
 */
export async function fileVersionsInHistory(
  root: string,
  file: string,
): Promise<{ versions: FileVersion[]; commits: number }> {
  const commits = Number((await gitOutput(root, ['rev-list', '--all', '--count'])).trim());
  const log = await gitOutput(root, ['log', '--all', '-m', '--raw', '--no-abbrev', '--format=', '--', file]);
  const blobs = new Set<string>();
  for (const line of log.split('\n')) {
    const m = /^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) /.exec(line);
    for (const id of m ? [m[1], m[2]] : []) if (id !== undefined && !/^0+$/.test(id)) blobs.add(id);
  }
  return { versions: await readVersions(root, [...blobs]), commits };
}

/**
 * The distinct versions of `file` (relative to `root`) at the tips of all branches and tags;
 * `tips` counts the distinct commits (or tags) named.
 *
 * @example
 * const { versions, tips } = await fileVersionsAtTips(repo.root, 'data.lock.json');
 */
export async function fileVersionsAtTips(
  root: string,
  file: string,
): Promise<{ versions: FileVersion[]; tips: number }> {
  const out = await gitOutput(root, ['for-each-ref', '--format=%(objectname)', 'refs/heads', 'refs/tags']);
  const tips = [...new Set(out.split('\n').filter(Boolean))];
  return {
    versions: await readVersions(
      root,
      tips.map((tip) => atRevision(tip, file)),
    ),
    tips: tips.length,
  };
}
