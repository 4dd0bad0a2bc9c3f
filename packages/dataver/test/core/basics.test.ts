// The everyday commands through the real CLI in temporary git repositories.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dv, expectCleanError, git, tempDir, tempRepo, writeFiles } from '../helpers/cli';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('init', () => {
  it('creates config, ignore rules and an empty lock, and refuses to run twice', () => {
    const dir = tempRepo({ init: false });
    const r = dv(dir, ['init']);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, '.dataver/config.json'), 'utf8')).version).toBe(1);
    expect(readFileSync(path.join(dir, '.dataver/.gitignore'), 'utf8')).toContain('/cache/');
    expect(JSON.parse(readFileSync(path.join(dir, 'data.lock.json'), 'utf8'))).toEqual({
      outputs: {},
      stages: {},
      version: 1,
    });
    expectCleanError(dv(dir, ['init']), 2, /already a dataver repository/);
  });

  it('works outside git but warns', () => {
    const dir = tempDir();
    const r = dv(dir, ['init']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/not inside a git repository/);
  });

  it('commands outside a repository say how to start one', () => {
    expectCleanError(dv(tempDir(), ['status']), 2, /not inside a dataver repository/);
  });
});

describe('add / status / checkout', () => {
  it('tracks files and directories, records the lock and .gitignore, and re-adding rewrites nothing', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'data/a.txt': 'alpha', 'data/sub/b.txt': 'beta', 'model.bin': Buffer.from([0, 1, 2]) });
    const r = dv(dir, ['add', 'data', 'model.bin', '--json']);
    expect(r.code).toBe(0);
    const lock = JSON.parse(readFileSync(path.join(dir, 'data.lock.json'), 'utf8'));
    expect(lock.outputs['model.bin']).toEqual({ hash: sha(Buffer.from([0, 1, 2])), kind: 'file', size: 3 });
    expect(lock.outputs.data).toMatchObject({ kind: 'dir', files: 2, size: 9 });
    // The directory hash is the hash of its manifest, which lists the files sorted by path.
    const manifest = `[\n${JSON.stringify({ path: 'a.txt', hash: sha('alpha'), size: 5 })},\n${JSON.stringify({ path: 'sub/b.txt', hash: sha('beta'), size: 4 })}\n]\n`;
    expect(lock.outputs.data.hash).toBe(sha(manifest));
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8').split('\n')).toEqual(
      expect.arrayContaining(['/data', '/model.bin']),
    );
    // Objects are in the cache, read-only.
    const object = path.join(dir, '.dataver/cache/sha256', sha('alpha').slice(0, 2), sha('alpha').slice(2));
    expect(readFileSync(object, 'utf8')).toBe('alpha');
    expect(statSync(object).mode & 0o222).toBe(0);
    // Re-adding unchanged data leaves the lock file untouched.
    const before = statSync(path.join(dir, 'data.lock.json')).mtimeMs;
    const again = dv(dir, ['add', 'data', '--json']);
    expect(JSON.parse(again.stdout).added[0].changed).toBe(false);
    expect(statSync(path.join(dir, 'data.lock.json')).mtimeMs).toBe(before);
  });

  it('status reports new, modified, deleted and not-in-cache, with --exit-code and --json', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': '1', 'd/b': '2', 'f.txt': 'file' });
    dv(dir, ['add', 'd', 'f.txt']);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
    writeFiles(dir, { 'd/a': 'changed', 'd/c': 'new' });
    unlinkSync(path.join(dir, 'd/b'));
    unlinkSync(path.join(dir, 'f.txt'));
    const r = dv(dir, ['status', '--exit-code', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.clean).toBe(false);
    const d = report.outputs.find((o: { path: string }) => o.path === 'd');
    expect(d.changes).toEqual([
      { path: 'a', state: 'modified' },
      { path: 'b', state: 'deleted' },
      { path: 'c', state: 'new' },
    ]);
    expect(report.outputs.find((o: { path: string }) => o.path === 'f.txt').workspace).toBe('deleted');
    const text = dv(dir, ['status']).stdout;
    expect(text).toMatch(/modified\s+d\//);
    expect(text).toMatch(/new\s+d\/c/);
    // Limit to one path.
    expect(JSON.parse(dv(dir, ['status', 'f.txt', '--json']).stdout).outputs).toHaveLength(1);
    expectCleanError(dv(dir, ['status', 'nope']), 2, /not tracked/);
  });

  it('status notices a cache object that is gone', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'f.txt': 'file' });
    dv(dir, ['add', 'f.txt']);
    const h = sha('file');
    unlinkSync(path.join(dir, '.dataver/cache/sha256', h.slice(0, 2), h.slice(2)));
    const r = dv(dir, ['status', '--exit-code']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/not in cache\s+f\.txt/);
  });

  it('checkout restores files, refuses to overwrite unsaved changes, and --force does', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a': '1', 'd/b': '2', 'f.txt': 'file' });
    dv(dir, ['add', 'd', 'f.txt']);
    unlinkSync(path.join(dir, 'd/a'));
    writeFiles(dir, { 'd/b': 'unsaved edit', 'd/extra': 'x' });
    const refused = dv(dir, ['checkout']);
    expectCleanError(refused, 2, /unsaved changes/);
    expect(readFileSync(path.join(dir, 'd/b'), 'utf8')).toBe('unsaved edit'); // nothing was touched
    expect(existsSync(path.join(dir, 'd/a'))).toBe(false);
    // Deleted files alone are restored without --force.
    expect(dv(dir, ['checkout', 'f.txt']).code).toBe(0);
    const forced = dv(dir, ['checkout', '--force', '--json']);
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(dir, 'd/a'), 'utf8')).toBe('1');
    expect(readFileSync(path.join(dir, 'd/b'), 'utf8')).toBe('2');
    expect(existsSync(path.join(dir, 'd/extra'))).toBe(false);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
    // Workspace copies are writable even though cache objects are not.
    expect(statSync(path.join(dir, 'd/a')).mode & 0o200).toBe(0o200);
  });

  it('remove stops tracking but keeps the files', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'f.txt': 'file' });
    dv(dir, ['add', 'f.txt']);
    expect(dv(dir, ['remove', 'f.txt']).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, 'data.lock.json'), 'utf8')).outputs).toEqual({});
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).not.toContain('/f.txt');
    expect(readFileSync(path.join(dir, 'f.txt'), 'utf8')).toBe('file');
    expectCleanError(dv(dir, ['remove', 'f.txt']), 2, /not a tracked output/);
  });
});

describe('hash', () => {
  it('prints exactly what sha256sum prints, for many files at once', () => {
    const dir = tempDir();
    const names: string[] = [];
    for (let i = 0; i < 40; i++) {
      const name = `f${i}.bin`;
      writeFileSync(path.join(dir, name), Buffer.alloc(i * 9973 + 1, i));
      names.push(name);
    }
    writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(3 << 20, 7));
    names.push('big.bin');
    const ours = dv(dir, ['hash', ...names]);
    const theirs = spawnSync('sha256sum', names, { cwd: dir, encoding: 'utf8' });
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe(theirs.stdout);
    expectCleanError(dv(dir, ['hash', 'missing.bin']), 2, /no such file/);
  });
});

describe('remote and config', () => {
  it('adds, lists, defaults and removes remotes; config get/set validates keys and values', () => {
    const dir = tempRepo();
    expect(dv(dir, ['remote', 'add', 'origin', '../store']).code).toBe(0);
    expect(dv(dir, ['remote', 'add', 'backup', 'gs://bucket/prefix', '--default']).code).toBe(0);
    const list = JSON.parse(dv(dir, ['remote', 'list', '--json']).stdout);
    expect(list).toEqual([
      { name: 'backup', url: 'gs://bucket/prefix', default: true },
      { name: 'origin', url: '../store', default: false },
    ]);
    expect(dv(dir, ['config', 'set', 'remote.backup.endpoint', 'http://127.0.0.1:9199']).code).toBe(0);
    expect(dv(dir, ['config', 'get', 'remote.backup.endpoint']).stdout.trim()).toBe('http://127.0.0.1:9199');
    expect(dv(dir, ['config', 'set', 'remote.backup.jobs', '4']).code).toBe(0);
    expect(dv(dir, ['config', 'get', 'remote.backup.jobs']).stdout.trim()).toBe('4');
    expectCleanError(
      dv(dir, ['config', 'set', 'cache.link', 'teleport']),
      2,
      /invalid value for cache\.link/,
    );
    expectCleanError(dv(dir, ['config', 'set', 'nope.key', '1']), 2, /unknown config key/);
    expectCleanError(dv(dir, ['remote', 'add', 'x', 'ftp://host/path']), 2, /unsupported remote URL/);
    expectCleanError(dv(dir, ['remote', 'add', 'origin', '../other']), 2, /already exists/);
    expect(dv(dir, ['remote', 'remove', 'backup']).code).toBe(0);
    expect(dv(dir, ['config', 'get', 'core.remote']).code).toBe(2);
    expectCleanError(dv(dir, ['push']), 2, /no remote given/);
  });
});

describe('gc and verify', () => {
  it('gc is a dry run by default and removes only unreferenced objects with --force', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'f.txt': 'v1' });
    dv(dir, ['add', 'f.txt']);
    writeFiles(dir, { 'f.txt': 'v2 longer' });
    dv(dir, ['add', 'f.txt']);
    const dry = JSON.parse(dv(dir, ['gc', '--json']).stdout);
    expect(dry).toMatchObject({ objects: 1, bytes: 2, removed: false });
    const objectV1 = path.join(dir, '.dataver/cache/sha256', sha('v1').slice(0, 2), sha('v1').slice(2));
    expect(existsSync(objectV1)).toBe(true);
    expect(JSON.parse(dv(dir, ['gc', '--force', '--json']).stdout)).toMatchObject({
      objects: 1,
      removed: true,
    });
    expect(existsSync(objectV1)).toBe(false);
    expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
  });

  it('verify finds a corrupt cache object (exit 3) and --fix removes it', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'f.txt': 'precious' });
    dv(dir, ['add', 'f.txt']);
    expect(dv(dir, ['verify']).code).toBe(0);
    const object = path.join(
      dir,
      '.dataver/cache/sha256',
      sha('precious').slice(0, 2),
      sha('precious').slice(2),
    );
    chmodSync(object, 0o644);
    writeFileSync(object, 'rotten');
    const r = dv(dir, ['verify', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'OBJECT_CORRUPT', corrupt: [sha('precious')] });
    expect(dv(dir, ['verify', '--fix']).code).toBe(3);
    expect(existsSync(object)).toBe(false);
    expect(dv(dir, ['verify']).code).toBe(0);
  });
});

describe('linked cache modes', () => {
  it.each(['hardlink', 'symlink'])(
    '%s: workspace shares bytes with the cache and an in-place edit is detected',
    (mode) => {
      const dir = tempRepo();
      expect(dv(dir, ['config', 'set', 'cache.link', mode]).code).toBe(0);
      writeFiles(dir, { 'd/a.txt': 'shared', 'd/b.txt': 'other' });
      expect(dv(dir, ['add', 'd']).code).toBe(0);
      const object = path.join(
        dir,
        '.dataver/cache/sha256',
        sha('shared').slice(0, 2),
        sha('shared').slice(2),
      );
      if (mode === 'hardlink') expect(statSync(path.join(dir, 'd/a.txt')).ino).toBe(statSync(object).ino);
      expect(dv(dir, ['status', '--exit-code']).code).toBe(0);
      // An in-place edit through the link (a tool that chmods and writes) must not go unnoticed.
      chmodSync(object, 0o644);
      writeFileSync(path.join(dir, 'd/a.txt'), 'edited in place');
      const status = dv(dir, ['status', '--exit-code']);
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/modified\s+d\/a\.txt/);
      if (mode === 'hardlink') expect(status.stdout).toMatch(/cache object is damaged/);
      expect(dv(dir, ['verify']).code).toBe(3);
    },
  );
});

describe('git round trip on a local remote', () => {
  it('a fresh clone pulls byte-identical data', () => {
    const dir = tempRepo();
    const payload: Record<string, Buffer> = {};
    for (let i = 0; i < 50; i++) payload[`data/raw/${i % 5}/s${i}.bin`] = Buffer.alloc(100 + i * 37, i);
    payload['data/big.bin'] = Buffer.alloc(2 << 20, 3);
    writeFiles(dir, payload);
    expect(dv(dir, ['add', 'data/raw', 'data/big.bin']).code).toBe(0);
    const remote = path.join(path.dirname(dir), `${path.basename(dir)}-remote`);
    mkdirSync(remote); // a folder remote must exist: dataver never creates one
    expect(dv(dir, ['remote', 'add', 'origin', remote, '--default']).code).toBe(0);
    const pushed = JSON.parse(dv(dir, ['push', '--json']).stdout);
    expect(pushed.uploaded).toBe(52); // 51 files + 1 manifest
    expect(JSON.parse(dv(dir, ['push', '--json']).stdout).uploaded).toBe(0);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'data');
    const clone = tempDir();
    git(clone, 'clone', '-q', dir, '.');
    expect(dv(clone, ['status', '--exit-code']).code).toBe(1); // nothing there yet
    const pulled = dv(clone, ['pull', '--json']);
    expect(pulled.code).toBe(0);
    for (const [rel, content] of Object.entries(payload))
      expect(readFileSync(path.join(clone, rel)).equals(content)).toBe(true);
    expect(dv(clone, ['status', '--exit-code']).code).toBe(0);
  });
});
