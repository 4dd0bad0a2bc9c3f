// Bad input and faults: each gets a one-line error, a documented exit code,
// and leaves tracked data intact.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dv, expectCleanError, tempDir, tempRepo, writeFiles } from '../helpers/cli';

function lockOf(dir: string) {
  return JSON.parse(readFileSync(path.join(dir, 'data.lock.json'), 'utf8'));
}

describe('paths', () => {
  it('refuses unknown paths, paths outside the repository and repository internals', () => {
    const dir = tempRepo();
    expectCleanError(dv(dir, ['add', 'missing.txt']), 2, /missing\.txt does not exist/);
    expectCleanError(dv(dir, ['add', '../elsewhere']), 2, /outside the repository/);
    expectCleanError(dv(dir, ['add', '/etc/hostname']), 2, /outside the repository/);
    expectCleanError(dv(dir, ['add', '.dataver/config.json']), 2, /managed by (dataver|git) itself/);
    expectCleanError(dv(dir, ['add', '.git']), 2, /managed by (dataver|git) itself/);
  });

  it('refuses symlinks that escape the repository, at the top and inside directories', () => {
    const dir = tempRepo();
    const outside = tempDir();
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'link.txt'));
    expectCleanError(dv(dir, ['add', 'link.txt']), 2, /leads outside the repository/);
    writeFiles(dir, { 'd/ok.txt': 'ok' });
    symlinkSync(outside, path.join(dir, 'd/escape'));
    expectCleanError(dv(dir, ['add', 'd']), 2, /leads outside the repository/);
    expect(lockOf(dir).outputs).toEqual({});
  });

  it('refuses overlapping outputs', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': '1', 'd/sub/b': '2' });
    expect(dv(dir, ['add', 'd']).code).toBe(0);
    expectCleanError(dv(dir, ['add', 'd/sub']), 2, /overlaps the tracked output d/);
  });
});

describe('hand-edited or hostile lock files', () => {
  const cases: Array<[string, (lock: Record<string, unknown>) => unknown, RegExp]> = [
    [
      'a .. path',
      (l) => ({ ...l, outputs: { '../../etc/passwd': { hash: 'a'.repeat(64), size: 1, kind: 'file' } } }),
      /must be a relative path inside the repository/,
    ],
    [
      'an absolute path',
      (l) => ({ ...l, outputs: { '/etc/passwd': { hash: 'a'.repeat(64), size: 1, kind: 'file' } } }),
      /must be a relative path/,
    ],
    [
      'a bad hash',
      (l) => ({ ...l, outputs: { f: { hash: 'xyz', size: 1, kind: 'file' } } }),
      /lowercase hex sha256/,
    ],
    ['an unknown version', (l) => ({ ...l, version: 99 }), /version/],
  ];
  it.each(cases)('rejects %s with exit 2 and touches nothing', (_name, edit, message) => {
    const dir = tempRepo();
    writeFiles(dir, { f: 'data' });
    dv(dir, ['add', 'f']);
    writeFileSync(path.join(dir, 'data.lock.json'), JSON.stringify(edit(lockOf(dir))));
    for (const command of [['status'], ['checkout', '--force'], ['pull']]) {
      expectCleanError(dv(dir, command), 2, message);
    }
    expect(readFileSync(path.join(dir, 'f'), 'utf8')).toBe('data');
  });

  it('rejects malformed JSON and points at conflict markers', () => {
    const dir = tempRepo();
    writeFileSync(path.join(dir, 'data.lock.json'), '{"version": 1, "outputs": {');
    expectCleanError(dv(dir, ['status']), 2, /not valid JSON/);
    writeFileSync(path.join(dir, 'data.lock.json'), '<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other\n');
    expectCleanError(dv(dir, ['status']), 1, /merge conflict markers/);
  });

  it('rejects a malformed config', () => {
    const dir = tempRepo();
    writeFileSync(path.join(dir, '.dataver/config.json'), '{"version": 1, "cache": {"link": "teleport"}}');
    expectCleanError(dv(dir, ['status']), 2, /config\.json: cache\.link/);
  });
});

describe('the file system fights back', () => {
  // Real file-system failures: a read-only tmpfs and a full one. Mounting needs root,
  // which the test machines and CI have.
  function mountTmpfs(target: string, size: string): () => void {
    mkdirSync(target, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', target], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this test mounts a tmpfs and needs root (mount failed: ${(error as Error).message})`);
    }
    return () => execFileSync('umount', ['-l', target]);
  }

  it('a read-only cache gives exit 3 with a hint and no partial lock', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'f.txt': 'data' });
    const cache = path.join(dir, '.dataver/cache');
    const unmount = mountTmpfs(cache, '4m');
    try {
      execFileSync('mount', ['-o', 'remount,ro', cache]);
      const r = dv(dir, ['add', 'f.txt']);
      expectCleanError(r, 3);
      expect(r.stderr).toMatch(/read-only|permission denied/);
      expect(lockOf(dir).outputs).toEqual({});
    } finally {
      unmount();
    }
  });

  it('a full disk gives exit 3 with a hint; the lock keeps its old content', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'small.txt': 'small' });
    expect(dv(dir, ['add', 'small.txt']).code).toBe(0);
    const before = readFileSync(path.join(dir, 'data.lock.json'), 'utf8');
    const cache = path.join(dir, '.dataver/cache');
    const unmount = mountTmpfs(cache, '1m');
    try {
      writeFiles(dir, { 'big.bin': Buffer.alloc(3 << 20, 1) });
      const r = dv(dir, ['add', 'big.bin']);
      expectCleanError(r, 3, /no space left on device/);
      expect(readFileSync(path.join(dir, 'data.lock.json'), 'utf8')).toBe(before);
    } finally {
      unmount();
    }
  });
});

describe('concurrency', () => {
  it('a second writer gets exit 5 naming the holder; a stale lock from a dead process is taken over', async () => {
    const dir = tempRepo();
    writeFiles(dir, { 'f.txt': 'data' });
    // A live process holds the lock.
    const holder = spawn('sleep', ['30']);
    mkdirSync(path.join(dir, '.dataver/tmp'), { recursive: true });
    try {
      writeFileSync(
        path.join(dir, '.dataver/tmp/lock'),
        JSON.stringify({
          pid: holder.pid,
          host: require('node:os').hostname(),
          command: 'add',
          started: 'now',
        }),
      );
      expectCleanError(dv(dir, ['add', 'f.txt']), 5, new RegExp(`busy: dataver add \\(pid ${holder.pid}`));
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((r) => holder.once('exit', r));
    // Its process is gone: the lock is stale and is taken over.
    expect(dv(dir, ['add', 'f.txt']).code).toBe(0);
    // A lock from another host is never taken over silently.
    writeFileSync(
      path.join(dir, '.dataver/tmp/lock'),
      JSON.stringify({ pid: 1, host: 'another-host', command: 'push', started: 'now' }),
    );
    const r = dv(dir, ['checkout']);
    expectCleanError(r, 5, /another-host/);
    expect(r.stderr).toMatch(/hint: if no dataver runs on another-host, delete/);
  });

  it('two adds at the same time: one wins or both succeed in turn; the repository stays consistent', async () => {
    const dir = tempRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`a/${i}`] = `a${i}`;
    for (let i = 0; i < 300; i++) files[`b/${i}`] = `b${i}`;
    writeFiles(dir, files);
    const run = (p: string) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [path.resolve(__dirname, '../../bin/dataver.js'), 'add', p], {
          cwd: dir,
        });
        child.on('exit', (code) => resolve(code ?? -1));
      });
    const codes = await Promise.all([run('a'), run('b')]);
    for (const c of codes) expect([0, 5]).toContain(c);
    expect(dv(dir, ['verify']).code).toBe(0);
    const lock = lockOf(dir);
    for (const [p, c] of [
      ['a', codes[0]],
      ['b', codes[1]],
    ] as const) {
      if (c === 0) expect(lock.outputs[p]).toBeDefined();
    }
    expect(dv(dir, ['status']).code).toBe(0);
  });
});
