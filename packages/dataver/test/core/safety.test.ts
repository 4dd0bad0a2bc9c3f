// Safety rules: hostile locks never write outside the data, checkout never
// destroys work it did not write, and odd names and kinds get clear errors.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { CLI, dv, expectCleanError, git, tempDir, tempRepo, writeFiles } from '../helpers/cli';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const lockText = (outputs: Record<string, unknown>) => JSON.stringify({ outputs, stages: {}, version: 1 });

/** Puts `content` in the cache of `dir` (through add + remove) and returns its hash. */
function cacheObject(dir: string, content: string): string {
  writeFileSync(path.join(dir, 'tmp-object'), content);
  expect(dv(dir, ['add', 'tmp-object']).code).toBe(0);
  expect(dv(dir, ['remove', 'tmp-object']).code).toBe(0);
  unlinkSync(path.join(dir, 'tmp-object'));
  return sha(content);
}

describe('hostile lock files', () => {
  it('never write through a symlinked folder to outside the repository', () => {
    const dir = tempRepo();
    const outside = tempDir();
    const h = cacheObject(dir, 'malicious');
    symlinkSync(outside, path.join(dir, 'escape'));
    writeFileSync(
      path.join(dir, 'data.lock.json'),
      lockText({ 'escape/pwned.sh': { hash: h, kind: 'file', size: 9 } }),
    );
    expectCleanError(dv(dir, ['checkout', '--force']), 2, /escape is a symlink/);
    expect(existsSync(path.join(outside, 'pwned.sh'))).toBe(false);
  });

  it('refuse outputs in .git/, .dataver/ or on the repository files', () => {
    const dir = tempRepo();
    const h = cacheObject(dir, '[core]\n');
    for (const target of [
      '.git/config',
      '.dataver/config.json',
      'data.lock.json',
      'a/.git/hooks/pre-commit',
    ]) {
      writeFileSync(
        path.join(dir, 'data.lock.json'),
        lockText({ [target]: { hash: h, kind: 'file', size: 7 } }),
      );
      expectCleanError(dv(dir, ['checkout', '--force']), 2, /outside \.git\/ and \.dataver\//);
    }
    expect(readFileSync(path.join(dir, '.git/config'), 'utf8')).not.toBe('[core]\n');
  });

  it('refuse overlapping outputs with a message naming both', () => {
    const dir = tempRepo();
    const h = cacheObject(dir, 'x');
    writeFileSync(
      path.join(dir, 'data.lock.json'),
      lockText({ d: { hash: h, kind: 'dir', size: 1, files: 1 }, 'd/a': { hash: h, kind: 'file', size: 1 } }),
    );
    expectCleanError(dv(dir, ['status']), 2, /d\/a: overlaps the output d/);
  });
});

describe('checkout keeps work it did not write', () => {
  it('leaves untracked files in tracked folders alone without --force, even when their bytes are cached', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': 'v1' });
    dv(dir, ['add', 'd']);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'v1');
    writeFiles(dir, { 'd/a': 'v2' });
    dv(dir, ['add', 'd']);
    writeFiles(dir, { 'd/a.v1-backup': 'v1' }); // the user's own copy, same bytes as a cached object
    expectCleanError(dv(dir, ['checkout', '--rev', 'HEAD']), 2, /unsaved changes.*d\/a\.v1-backup/);
    expect(readFileSync(path.join(dir, 'd/a.v1-backup'), 'utf8')).toBe('v1');
  });

  it('replaces files it wrote itself when the lock moves (git checkout of another commit)', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': 'v1', 'd/old': 'gone in v2' });
    dv(dir, ['add', 'd']);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'v1');
    rmSync(path.join(dir, 'd/old'));
    writeFiles(dir, { 'd/a': 'v2', 'd/new': 'new in v2' });
    dv(dir, ['add', 'd']);
    git(dir, 'commit', '-qam', 'v2');
    git(dir, 'checkout', '-q', 'HEAD~1');
    const r = dv(dir, ['checkout', '--json']);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dir, 'd/a'), 'utf8')).toBe('v1');
    expect(readFileSync(path.join(dir, 'd/old'), 'utf8')).toBe('gone in v2');
    expect(existsSync(path.join(dir, 'd/new'))).toBe(false);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
  });

  it('checkout of one file inside a folder touches only that file', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': '1', 'd/sub/b': '2' });
    dv(dir, ['add', 'd']);
    writeFiles(dir, { 'd/a': 'precious work', 'd/sub/b': 'mod', 'd/notes.txt': 'notes' });
    expect(dv(dir, ['checkout', '--force', 'd/sub/b']).code).toBe(0);
    expect(readFileSync(path.join(dir, 'd/sub/b'), 'utf8')).toBe('2');
    expect(readFileSync(path.join(dir, 'd/a'), 'utf8')).toBe('precious work');
    expect(readFileSync(path.join(dir, 'd/notes.txt'), 'utf8')).toBe('notes');
  });

  it('a folder that became a file between commits is replaced without --force', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'out/a': '1', 'out/b': '2' });
    dv(dir, ['add', 'out']);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'dir');
    dv(dir, ['remove', 'out']);
    rmSync(path.join(dir, 'out'), { recursive: true });
    writeFiles(dir, { out: 'now a file' });
    dv(dir, ['add', 'out']);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'file');
    git(dir, 'checkout', '-q', 'HEAD~1');
    expect(dv(dir, ['checkout']).code).toBe(0);
    expect(readFileSync(path.join(dir, 'out/a'), 'utf8')).toBe('1');
    git(dir, 'checkout', '-q', 'main');
    expect(dv(dir, ['checkout']).code).toBe(0);
    expect(readFileSync(path.join(dir, 'out'), 'utf8')).toBe('now a file');
  });

  it('restores a tracked empty folder', () => {
    const dir = tempRepo();
    mkdirSync(path.join(dir, 'emptyd'));
    dv(dir, ['add', 'emptyd']);
    rmSync(path.join(dir, 'emptyd'), { recursive: true });
    expect(dv(dir, ['checkout']).code).toBe(0);
    expect(lstatSync(path.join(dir, 'emptyd')).isDirectory()).toBe(true);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
  });
});

describe('the cache is never vouched for blindly', () => {
  it('a corrupt cache object restored by checkout shows up in status', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': 'correct bytes' });
    dv(dir, ['add', 'd']);
    const object = path.join(
      dir,
      '.dataver/cache/sha256',
      sha('correct bytes').slice(0, 2),
      sha('correct bytes').slice(2),
    );
    chmodSync(object, 0o644);
    writeFileSync(object, 'CORRUPT bytes');
    unlinkSync(path.join(dir, 'd/a'));
    dv(dir, ['checkout']);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(1);
  });

  it('a deleted cache is noticed for folders too', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': '1' });
    dv(dir, ['add', 'd']);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
    rmSync(path.join(dir, '.dataver/cache'), { recursive: true });
    expect(dv(dir, ['status']).stdout).toMatch(/not in cache\s+d\//);
  });

  it('symlink mode: remove gives back real files that survive gc', () => {
    const dir = tempRepo();
    dv(dir, ['config', 'set', 'cache.link', 'symlink']);
    writeFiles(dir, { 'd/a': 'important' });
    dv(dir, ['add', 'd']);
    expect(lstatSync(path.join(dir, 'd/a')).isSymbolicLink()).toBe(true);
    dv(dir, ['remove', 'd']);
    dv(dir, ['gc', '--force']);
    expect(lstatSync(path.join(dir, 'd/a')).isSymbolicLink()).toBe(false);
    expect(readFileSync(path.join(dir, 'd/a'), 'utf8')).toBe('important');
  });

  it('switching from hardlink to copy mode turns links into copies on checkout', () => {
    const dir = tempRepo();
    dv(dir, ['config', 'set', 'cache.link', 'hardlink']);
    writeFiles(dir, { 'd/a': '1' });
    dv(dir, ['add', 'd']);
    expect(lstatSync(path.join(dir, 'd/a')).nlink).toBe(2);
    dv(dir, ['config', 'set', 'cache.link', 'copy']);
    expect(dv(dir, ['checkout']).code).toBe(0);
    expect(lstatSync(path.join(dir, 'd/a')).nlink).toBe(1);
  });
});

describe('names and kinds', () => {
  it('escapes .gitignore patterns so git ignores exactly the tracked paths', () => {
    const dir = tempRepo();
    // (A trailing space would need escaping too, but add refuses it: Windows drops it.)
    writeFiles(dir, { 'data[1].bin': 'x', '#hash.bin': 'y', '!bang.bin': 'z', 'data1.bin': 'not tracked' });
    expect(dv(dir, ['add', 'data[1].bin', '#hash.bin', '!bang.bin']).code).toBe(0);
    const untracked = git(dir, 'status', '--porcelain', '--untracked-files=all');
    expect(untracked).not.toMatch(/data\[1\]\.bin|#hash|!bang/);
    expect(untracked).toMatch(/data1\.bin/);
  });

  it('refuses names it cannot represent, the repository files, and git-tracked files', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a\\b': '1', 'tracked.txt': 't', 'e/f': 'f' });
    expectCleanError(dv(dir, ['add', 'd']), 2, /cannot track this name/);
    expectCleanError(dv(dir, ['add', 'data.lock.json']), 2, /versioned by git/);
    git(dir, 'add', 'tracked.txt');
    expectCleanError(dv(dir, ['add', 'tracked.txt']), 2, /tracked by git/);
    // Paths are taken relative to the current folder, and `.` at the root means everything.
    expect(dv(path.join(dir, 'e'), ['add', 'f']).code).toBe(0);
    expect(dv(dir, ['status', '.', '--exit-code']).code).toBe(0);
  });

  it('names as long as the file system allows round-trip through checkout', () => {
    const dir = tempRepo();
    const long = 'x'.repeat(250);
    writeFiles(dir, { [`d/${long}`]: 'long' });
    expect(dv(dir, ['add', 'd']).code).toBe(0);
    unlinkSync(path.join(dir, 'd', long));
    expect(dv(dir, ['checkout']).code).toBe(0);
    expect(readFileSync(path.join(dir, 'd', long), 'utf8')).toBe('long');
  });

  it('skips a symlink to a fifo instead of hanging, and adds a path given twice once', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': '1' });
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    symlinkSync('../pipe', path.join(dir, 'd/p'));
    const r = dv(dir, ['add', 'd', 'd', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).added).toHaveLength(1);
    expect(JSON.parse(r.stdout).added[0].files).toBe(1);
  });
});

describe('the command line', () => {
  it('usage errors of subcommands exit 2 (1 is reserved for differences) and speak JSON with --json', () => {
    const dir = tempRepo();
    expect(dv(dir, ['status', '--bogus']).code).toBe(2);
    const r = dv(dir, ['add', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('USAGE');
    expectCleanError(dv(dir, ['config', 'set', 'plugins', '[foo]']), 2, /not a JSON list/);
  });

  it('a folder remote is stored relative to the root, and a missing one is exit 4', () => {
    const dir = tempRepo();
    // Beside the repository, named after it: never a folder another run left there.
    const store = `store-${path.basename(dir)}`;
    const nowhere = `nowhere-${path.basename(dir)}`;
    mkdirSync(path.join(dir, 'sub'));
    expect(dv(path.join(dir, 'sub'), ['remote', 'add', 'origin', `../../${store}`]).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, '.dataver/config.json'), 'utf8')).remotes.origin.url).toBe(
      `../${store}`,
    );
    writeFiles(dir, { f: 'data' });
    dv(dir, ['add', 'f']);
    // dataver never creates a remote folder: a typo or an unmounted share must not "succeed".
    expectCleanError(dv(dir, ['push']), 4, new RegExp(`${store} does not exist`));
    mkdirSync(path.join(path.dirname(dir), store));
    try {
      expect(dv(dir, ['push']).code).toBe(0);
      dv(dir, ['remote', 'add', 'typo', `../${nowhere}`]);
      expectCleanError(dv(dir, ['pull', '-r', 'typo']), 4, /does not exist/);
      expectCleanError(dv(dir, ['push', '-r', 'typo']), 4, /does not exist/);
      expect(existsSync(path.join(path.dirname(dir), nowhere))).toBe(false);
    } finally {
      rmSync(path.join(path.dirname(dir), store), { recursive: true, force: true });
    }
  });

  it('a lock and its takeover gate both left by processes killed with -9: the next command takes over', () => {
    const dir = tempRepo();
    writeFiles(dir, { f: 'data' });
    mkdirSync(path.join(dir, '.dataver/tmp'), { recursive: true });
    const dead = { pid: 999999, host: hostname() };
    writeFileSync(
      path.join(dir, '.dataver/tmp/lock'),
      JSON.stringify({ ...dead, command: 'push', started: 'x' }),
    );
    writeFileSync(path.join(dir, '.dataver/tmp/lock.takeover'), JSON.stringify(dead));
    expect(dv(dir, ['add', 'f']).code).toBe(0);
    expect(existsSync(path.join(dir, '.dataver/tmp/lock.takeover'))).toBe(false);
  });

  it('two contenders for a stale lock: never both inside, and no lost lock entries', async () => {
    const dir = tempRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) {
      files[`a/${i}`] = `a${i}`;
      files[`b/${i}`] = `b${i}`;
    }
    writeFiles(dir, files);
    const initialLock = readFileSync(path.join(dir, 'data.lock.json'), 'utf8');
    const run = (p: string) =>
      new Promise<number>((resolve) => {
        spawn(process.execPath, [CLI, 'add', p], { cwd: dir }).on('exit', (code) => resolve(code ?? -1));
      });
    for (let round = 0; round < 6; round++) {
      writeFileSync(path.join(dir, 'data.lock.json'), initialLock);
      mkdirSync(path.join(dir, '.dataver/tmp'), { recursive: true });
      writeFileSync(
        path.join(dir, '.dataver/tmp/lock'),
        JSON.stringify({ pid: 999999, host: hostname(), command: 'add', started: 'x' }),
      );
      const [ca, cb] = await Promise.all([run('a'), run('b')]);
      const outputs = JSON.parse(readFileSync(path.join(dir, 'data.lock.json'), 'utf8')).outputs;
      expect([ca, cb].every((c) => c === 0 || c === 5)).toBe(true);
      expect(Object.keys(outputs).length).toBe([ca, cb].filter((c) => c === 0).length);
    }
  });
});
