// The one way dataver runs git: every git command of this package goes through this module, and
// no other file spawns git. It spawns the git binary itself (node:child_process) rather than using
// simple-git, because the history reader must feed stdin and stream stdout (`git cat-file
// --batch`: every version of data.lock.json in two processes), which simple-git cannot do, and
// because importing simple-git cost ~45 ms of start-up for commands that may read a revision;
// one promise around `spawn` is all the other calls need. Messages are asked for in the C locale,
// since a few callers recognise git's answers by their words.
import { spawn } from 'node:child_process';
import { DataverError, errnoCode } from '@dataver/foundation';
import { ChunkReader } from '../util/chunk-reader.js';
import { firstLine } from '../util/text.js';

/** What one git command did. */
export interface GitRun {
  /** Exit status (a signal counts as -1). */
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Starts git with all three streams piped; `input` (or nothing) is written to its stdin, which is then closed. */
function start(cwd: string, args: readonly string[], input: string | undefined) {
  const child = spawn('git', args, { cwd, env: { ...process.env, LC_ALL: 'C' }, stdio: 'pipe' });
  // git exits early on an error: that is reported by its status, not as EPIPE here.
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return child;
}

/** A spawn failure as the user can act on it (ENOENT: no git binary, or the folder is gone). */
function notStarted(cwd: string, error: unknown): unknown {
  if (errnoCode(error) !== 'ENOENT') return error;
  return new DataverError('USAGE', `cannot run git in ${cwd}`, {
    hint: 'is git installed and on PATH?',
    cause: error,
  });
}

/**
 * Runs git in `cwd` and resolves with its status and output whatever the status; rejects only
 * when git cannot be started (a USAGE DataverError when git is not installed).
 *
 * @example
 * const { code, stdout } = await runGit(root, ['ls-files', '-z', '--', 'data']);
 */
export function runGit(
  cwd: string,
  args: readonly string[],
  options: { input?: string } = {},
): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = start(cwd, args, options.input);
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => {
      stderr += String(c);
    });
    child.on('error', (error) => reject(notStarted(cwd, error)));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(chunks), stderr }));
  });
}

/** The first line of git's complaint, for messages. */
export function complaint(stderr: string): string {
  return firstLine(stderr.trim());
}

/**
 * The standard output of a git command that must succeed; a failure is a USAGE DataverError that
 * names the command and git's own first line.
 *
 * @example
 * const commits = await gitOutput(root, ['rev-list', '--all', '--count']);
 */
export async function gitOutput(
  cwd: string,
  args: readonly string[],
  options: { input?: string } = {},
): Promise<string> {
  const run = await runGit(cwd, args, options);
  if (run.code !== 0) {
    throw new DataverError('USAGE', `git ${args[0] ?? ''} failed: ${complaint(run.stderr)}`, {
      hint: 'is this a git repository?',
    });
  }
  return run.stdout.toString('utf8');
}

/** One answer of `git cat-file --batch`: an object, or a name that names none. */
export type GitObject =
  | { name: string; id: string; type: string; data: Buffer }
  | { name: string; missing: true };

/**
 * Reads objects (`<blob id>`, `<rev>:<path>`, …) through one `git cat-file --batch`, streaming:
 * one object at a time is in memory, in the order of `names`. A name git cannot resolve comes back
 * `missing`.
 *
 * @example
 * for await (const o of catFileBatch(root, [`${commit}:./data.lock.json`])) if (!('missing' in o)) use(o.data);
 */
export async function* catFileBatch(cwd: string, names: readonly string[]): AsyncGenerator<GitObject> {
  if (names.length === 0) return;
  if (names.some((n) => n.includes('\n'))) throw new TypeError('a git object name cannot hold a newline');
  const child = start(cwd, ['cat-file', '--batch'], `${names.join('\n')}\n`);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += String(c);
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (error) => reject(notStarted(cwd, error)));
    child.on('close', (code) => resolve(code ?? -1));
  });
  exited.catch(() => undefined); // observed below; a consumer that stops early must not leave it unhandled
  const reader = new ChunkReader(child.stdout[Symbol.asyncIterator]());
  let finished = false;
  try {
    for (const name of names) {
      const header = await reader.line();
      if (header === undefined) break;
      // `<id> <type> <size>`, or `<name> missing` / `<name> ambiguous` (a name may hold spaces).
      const [, id, type, sizeText] = /^([0-9a-f]{40,64}) (\S+) (\d+)$/.exec(header) ?? [];
      if (id === undefined || type === undefined || sizeText === undefined) {
        yield { name, missing: true };
        continue;
      }
      const data = await reader.take(Number(sizeText));
      await reader.take(1); // the newline after the content
      yield { name, id, type, data };
    }
    finished = true;
  } finally {
    if (!finished) child.kill();
  }
  const code = await exited;
  if (code !== 0) {
    throw new DataverError('USAGE', `git cat-file failed: ${complaint(stderr)}`, {
      hint: 'is this a git repository?',
    });
  }
}

/**
 * Runs a merge driver's command line the way git does (`sh -c`, in the work tree, placeholders
 * already filled in); resolves with its exit status (127: it could not be started). For
 * `dataver doctor`, which tries the configured driver on scratch files.
 *
 * @example
 * const status = await runDriverCommand(root, '"/usr/bin/node" "/x/dataver.js" merge-driver a b c data.lock.json');
 */
export function runDriverCommand(cwd: string, command: string, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => resolve(127));
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve(status ?? 128);
    });
  });
}
