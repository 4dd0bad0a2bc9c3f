// Test helpers: temporary git repositories and a runner for the real, built CLI.
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../bin/dataver.js');
const DIST = path.resolve(__dirname, '../../dist/cli/main.js');

export function assertBuilt(): void {
  if (!existsSync(DIST))
    throw new Error('dataver is not built: run `npm run build` (npm test does it first)');
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dataver args…` synchronously in `cwd`. */
export function dv(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  assertBuilt();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, CI: '', ...env },
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `dataver args…` and throws, with its output, unless it exits 0. */
export function dvOk(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const r = dv(cwd, args, env);
  if (r.code !== 0) throw new Error(`dataver ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Runs `dataver` asynchronously (for kill tests); returns the child. */
export function dvSpawn(cwd: string, args: string[], options: SpawnOptions = {}) {
  assertBuilt();
  return spawn(process.execPath, [CLI, ...args], { cwd, stdio: 'ignore', ...options });
}

/** Runs git in `cwd`, throwing on failure. */
export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * A dataver repository with a folder remote `origin` (the default) and a bare git remote
 * `origin`, both empty: what a team shares, for tests of push, clone and pull.
 */
export function sharedRepo(): { repo: string; remote: string; bare: string } {
  const repo = tempRepo();
  const remote = path.join(tempDir(), 'remote');
  mkdirSync(remote);
  const bare = path.join(tempDir(), 'bare.git');
  git(repo, 'init', '-q', '--bare', '-b', 'main', bare);
  git(repo, 'remote', 'add', 'origin', bare);
  dvOk(repo, ['remote', 'add', 'origin', remote, '--default', '-q']);
  return { repo, remote, bare };
}

/** Writes files under a sharedRepo, adds `data`, commits, and pushes the data and the commit. */
export function publishData(repo: string, files: Record<string, string | Buffer>): void {
  writeFiles(repo, files);
  dvOk(repo, ['add', 'data', '-q']);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'data');
  dvOk(repo, ['push', '-q']);
  git(repo, 'push', '-q', 'origin', 'main');
}

/** A git clone of `bare` in a fresh temporary folder, with a committer identity. */
export function cloneOf(bare: string): string {
  const dir = path.join(tempDir(), 'clone');
  git(path.dirname(dir), 'clone', '-q', bare, dir);
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'user.name', 'Test');
  return dir;
}

/** Stages everything in the repository and commits it. */
export function commitAll(dir: string, message = 'data'): void {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', message);
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. */
export function tempDir(prefix = 'dataver-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A temporary git repository with a committer identity, optionally with dataver initialized. */
export function tempRepo(options: { init?: boolean } = {}): string {
  const dir = tempDir();
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'user.name', 'Test');
  if (options.init !== false) {
    const r = dv(dir, ['init', '-q']);
    if (r.code !== 0) throw new Error(`dataver init failed: ${r.stderr}`);
  }
  return dir;
}

/** Writes files (path → content) below `root`, creating folders. */
export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const target = path.join(root, rel);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}

/** Asserts that an error output is the documented one-liner: no stack trace. */
export function expectCleanError(r: RunResult, code: number, pattern?: RegExp): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code, stderr: expect.stringMatching(/^error: /) });
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  if (pattern) expect(r.stderr).toMatch(pattern);
}
