// What a hostile new user broke, each through the real CLI: a clone that could not pull, a
// `verify -r` that trusted the index, a read-only cache, folder remotes created silently, crash
// leftovers, an unchecked lock, a merge driver that needed a local install, all-or-nothing pulls
// and an edit that kept size and mtime.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import {
  CLI,
  commitAll,
  dv,
  dvOk,
  expectCleanError,
  git,
  tempDir,
  tempRepo,
  writeFiles,
} from '../helpers/cli';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const looseFile = (remote: string, hash: string) =>
  path.join(remote, 'objects', 'sha256', hash.slice(0, 2), hash.slice(2));

function cloneOf(dir: string): string {
  const clone = path.join(tempDir(), 'clone');
  git(path.dirname(clone), 'clone', '-q', dir, clone);
  return clone;
}

/** A repository with a folder remote that stores every object loose (packThreshold 0). */
function repoWithLooseRemote(files: Record<string, Buffer | string>): { dir: string; remote: string } {
  const dir = tempRepo();
  writeFiles(dir, files);
  dvOk(dir, ['add', 'data']);
  const remote = path.join(tempDir(), 'remote');
  mkdirSync(remote);
  dvOk(dir, ['remote', 'add', 'origin', remote, '--default']);
  dvOk(dir, ['config', 'set', 'remote.origin.packThreshold', '0']);
  dvOk(dir, ['push']);
  commitAll(dir);
  return { dir, remote };
}

/** The pid of a process that has exited (for temp names of a "crashed" command). */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid ?? 999_999;
}

describe('1. a fresh clone can pull: remotes live in the committed config', () => {
  it('remote add says what to commit; --git-add stages it; a clone then pulls', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'data/a.txt': 'a' });
    dvOk(dir, ['add', 'data']);
    commitAll(dir, 'track');
    const remote = path.join(tempDir(), 'remote');
    mkdirSync(remote);
    const added = dvOk(dir, ['remote', 'add', 'origin', remote, '--default']);
    expect(added.stdout).toMatch(/commit \.dataver\/config\.json/);
    expect(git(dir, 'diff', '--cached', '--name-only')).toBe('');
    dvOk(dir, ['remote', 'remove', 'origin']);
    const staged = dvOk(dir, ['remote', 'add', 'origin', remote, '--default', '--git-add']);
    expect(staged.stdout).toMatch(/staged \.dataver\/config\.json/);
    expect(git(dir, 'diff', '--cached', '--name-only').trim()).toBe('.dataver/config.json');
    git(dir, 'commit', '-qm', 'remote');
    dvOk(dir, ['push']);
    const clone = cloneOf(dir);
    dvOk(clone, ['pull']);
    expect(readFileSync(path.join(clone, 'data/a.txt'), 'utf8')).toBe('a');
  });

  it('doctor names an uncommitted remote configuration', () => {
    const dir = tempRepo();
    commitAll(dir, 'init');
    const remote = path.join(tempDir(), 'remote');
    mkdirSync(remote);
    dvOk(dir, ['remote', 'add', 'origin', remote, '--default']);
    const r = dv(dir, ['doctor']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\.dataver\/config\.json .*not committed/);
  });
});

describe('2. verify -r reads what is really on the remote', () => {
  it('finds a corrupted and a deleted object, names the files, exits 3; push repairs them', () => {
    const files = { 'data/a.bin': randomBytes(3000), 'data/b.bin': randomBytes(4000), 'data/c.bin': 'c' };
    const { dir, remote } = repoWithLooseRemote(files);
    const corrupted = looseFile(remote, sha(files['data/a.bin']));
    const bytes = readFileSync(corrupted);
    bytes[10] ^= 0xff;
    bytes[11] ^= 0xff;
    writeFileSync(corrupted, bytes);
    // A clone's pull catches it (and drops it from the remote index)…
    const clone = cloneOf(dir);
    expect(dv(clone, ['pull']).code).toBe(3);
    unlinkSync(looseFile(remote, sha(files['data/b.bin'])));
    // …and verify -r must still see both, though the index no longer lists the first.
    const r = dv(clone, ['verify', '-r', 'origin', '--json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as {
      error: { corrupt: string[]; missing: string[]; paths: string[] };
    };
    expect(report.error.corrupt).toEqual([sha(files['data/a.bin'])]);
    expect(report.error.missing).toEqual([sha(files['data/b.bin'])]);
    expect(report.error.paths).toEqual(['data/a.bin', 'data/b.bin']);
    const text = dv(clone, ['verify', '-r', 'origin']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/corrupt\s+data\/a\.bin/);
    expect(text.stdout).toMatch(/missing\s+data\/b\.bin/);
    // A clone that has the data re-uploads what is bad.
    const pushed = JSON.parse(dvOk(dir, ['push', '--repair', '--json']).stdout) as { uploaded: number };
    expect(pushed.uploaded).toBe(2);
    dvOk(clone, ['verify', '-r', 'origin']);
    dvOk(clone, ['pull']);
    expect(readFileSync(path.join(clone, 'data/a.bin')).equals(files['data/a.bin'])).toBe(true);
  });

  it('--sample N hashes N objects (and still lists what is missing)', () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 12; i++) files[`data/${i}.bin`] = randomBytes(100 + i);
    const { dir } = repoWithLooseRemote(files);
    const r = JSON.parse(dvOk(dir, ['verify', '-r', 'origin', '--sample', '4', '--json']).stdout) as {
      hashed: number;
      listed: number;
    };
    expect(r.hashed).toBe(4);
    expect(r.listed).toBeGreaterThanOrEqual(13); // 12 files and the directory manifest
  });
});

describe('3. a read-only cache', () => {
  it('status, diff and checkout still work; add names the cache, not the workspace file', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'data/a.txt': 'a', 'data/b.txt': 'b' });
    dvOk(dir, ['add', 'data']);
    commitAll(dir);
    const cache = path.join(dir, '.dataver/cache');
    const state = path.join(dir, '.dataver/state');
    const ro = tempDir();
    // A read-only bind mount of the cache and state folders (chmod does not stop root).
    for (const folder of [cache, state]) {
      const copy = path.join(ro, path.basename(folder));
      execFileSync('cp', ['-a', folder, copy]);
      execFileSync('mount', ['--bind', copy, folder]);
      execFileSync('mount', ['-o', 'remount,bind,ro', folder]);
    }
    try {
      expect(dv(dir, ['status', '--exit-code'])).toMatchObject({ code: 0, stderr: '' });
      expect(dv(dir, ['diff'])).toMatchObject({ code: 0 });
      // checkout only reads the cache: the files come back, the unsaved stat cache is a warning.
      unlinkSync(path.join(dir, 'data/a.txt'));
      const restored = dv(dir, ['checkout']);
      expect(restored.code).toBe(0);
      expect(restored.stderr).toMatch(/^warning: cannot save the stat cache .*the files are checked out/);
      expect(readFileSync(path.join(dir, 'data/a.txt'), 'utf8')).toBe('a');
      expect(dv(dir, ['doctor', '--no-remote']).stdout).toMatch(/FAIL +cache +cannot write \.dataver\/cache/);
      writeFiles(dir, { 'new.txt': 'new' });
      const r = dv(dir, ['add', 'new.txt']);
      expectCleanError(r, 3, /\.dataver\/cache/);
      expect(r.stderr).not.toMatch(/new\.txt/);
    } finally {
      for (const folder of [cache, state]) execFileSync('umount', ['-l', folder]);
    }
  });
});

describe('4. a folder remote that does not exist is an error, not created', () => {
  it('push and remote test refuse it with exit 4 and create nothing', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'data/a.txt': 'a' });
    dvOk(dir, ['add', 'data']);
    const remote = path.join(tempDir(), 'typo', 'remote');
    const added = dvOk(dir, ['remote', 'add', 'origin', remote, '--default']);
    expect(added.stderr).toMatch(/does not exist/);
    expectCleanError(dv(dir, ['push']), 4, /does not exist/);
    expectCleanError(dv(dir, ['remote', 'test']), 4, /does not exist/);
    expect(existsSync(path.dirname(remote))).toBe(false);
  });

  it('a gs:// URL without a valid bucket is refused when written, not at the first push', () => {
    const dir = tempRepo();
    const configPath = path.join(dir, '.dataver/config.json');
    const before = readFileSync(configPath, 'utf8');
    for (const url of ['gs://', 'gs:///data', 'gs://My_Bucket!/data', 'gs://ab']) {
      expectCleanError(dv(dir, ['remote', 'add', 'origin', url]), 2, /not a valid GCS URL/);
    }
    expectCleanError(dv(dir, ['remote', 'add', 'origin', 's3://bucket/data']), 2, /unsupported remote URL/);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    dvOk(dir, ['remote', 'add', 'origin', 'gs://my-bucket.example_1/data/v1']);
    expectCleanError(
      dv(dir, ['remote', 'modify', 'origin', 'url', 'gs://UPPER/x']),
      2,
      /not a valid GCS URL/,
    );
    expectCleanError(dv(dir, ['config', 'set', 'remote.origin.url', 'gs://']), 2, /not a valid GCS URL/);
    expect(JSON.parse(readFileSync(configPath, 'utf8')).remotes.origin.url).toBe(
      'gs://my-bucket.example_1/data/v1',
    );
  });

  it('remote test prints no undefined field', () => {
    const dir = tempRepo();
    const remote = tempDir();
    dvOk(dir, ['remote', 'add', 'origin', remote, '--default']);
    const r = dvOk(dir, ['remote', 'test']);
    expect(r.stdout).not.toMatch(/undefined/);
    expect(r.stdout).toMatch(/writable\s+true/);
  });
});

describe('5. crashes leak neither disk nor work', () => {
  it('every command removes the temp files of dead processes, never those of live ones', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'data/a.txt': 'a' });
    dvOk(dir, ['add', 'data']);
    const dead = deadPid();
    const places = [
      '.dataver/cache/sha256',
      '.dataver/tmp',
      '.dataver/tmp/fetch',
      '.dataver/tmp/fetch/partial',
      '.dataver/state',
      '.',
    ];
    const live = process.pid; // this test process
    for (const place of places) {
      mkdirSync(path.join(dir, place), { recursive: true });
      writeFileSync(path.join(dir, place, `.dv-${dead}-aaaaaaaaaaaa.tmp`), 'x'.repeat(1000));
      writeFileSync(path.join(dir, place, `.dv-${live}-bbbbbbbbbbbb.tmp`), 'y');
    }
    writeFileSync(path.join(dir, 'data', `.dv-${dead}-cccccccccccc.tmp`), 'z');
    writeFileSync(path.join(dir, 'data', `.dv-${live}-dddddddddddd.tmp`), 'z');
    dvOk(dir, ['status']);
    for (const place of places) {
      expect(existsSync(path.join(dir, place, `.dv-${dead}-aaaaaaaaaaaa.tmp`))).toBe(false);
      expect(existsSync(path.join(dir, place, `.dv-${live}-bbbbbbbbbbbb.tmp`))).toBe(true);
    }
    dvOk(dir, ['checkout']);
    expect(existsSync(path.join(dir, 'data', `.dv-${dead}-cccccccccccc.tmp`))).toBe(false);
    expect(existsSync(path.join(dir, 'data', `.dv-${live}-dddddddddddd.tmp`))).toBe(true);
  });

  it('doctor reports an interrupted download; gc --force removes it', () => {
    const dir = tempRepo();
    const partial = path.join(dir, '.dataver/tmp/fetch/partial');
    mkdirSync(partial, { recursive: true });
    writeFileSync(path.join(partial, 'ab'.repeat(32)), Buffer.alloc(4096));
    expect(dv(dir, ['doctor', '--no-remote']).stdout).toMatch(
      /warn +partial downloads +1 interrupted download/,
    );
    dvOk(dir, ['gc', '--force']);
    expect(readdirSync(path.join(dir, '.dataver/tmp/fetch'))).toEqual([]);
  });

  it('a pull killed during a large object resumes from the verified prefix and leaves nothing behind', async () => {
    const big = randomBytes(160 << 20);
    const { dir } = repoWithLooseRemote({ 'data/big.bin': big });
    const clone = cloneOf(dir);
    const fetchDir = path.join(clone, '.dataver/tmp/fetch');
    const partialBytes = () => {
      let n = 0;
      for (const sub of [fetchDir, path.join(fetchDir, 'partial')]) {
        for (const name of existsSync(sub) ? readdirSync(sub) : []) {
          // The running pull renames its temporary files away: one may go between readdir and stat.
          const st = statSync(path.join(sub, name), { throwIfNoEntry: false });
          if (st?.isFile()) n += st.size;
        }
      }
      return n;
    };
    let seen = 0;
    for (let attempt = 0; attempt < 5 && seen === 0; attempt++) {
      const child = spawn(process.execPath, [CLI, 'pull', '-q'], { cwd: clone, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const started = Date.now();
      while (child.exitCode === null && Date.now() - started < 60_000) {
        const n = partialBytes();
        if (n > 16 << 20) {
          child.kill('SIGKILL');
          seen = n;
          break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await exited;
      if (seen === 0) {
        // It finished before it could be killed: start again from nothing.
        execFileSync('rm', ['-rf', path.join(clone, '.dataver/cache'), path.join(clone, 'data')]);
      }
    }
    expect(seen).toBeGreaterThan(0);
    const pulled = JSON.parse(dvOk(clone, ['pull', '--json']).stdout) as { resumedBytes: number };
    expect(pulled.resumedBytes).toBeGreaterThan(0);
    expect(sha(readFileSync(path.join(clone, 'data/big.bin')))).toBe(sha(big));
    expect(partialBytes()).toBe(0);
  }, 120_000);
});

describe('6. the lock is cross-checked', () => {
  it('a wrong size or file count is reported by status (exit 1) and corrected in diff totals', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'data/a.txt': 'aaaa', 'data/b.txt': 'bb', 'one.txt': 'x' });
    dvOk(dir, ['add', 'data', 'one.txt']);
    commitAll(dir);
    const lockPath = path.join(dir, 'data.lock.json');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
    lock.outputs.data.size = 999;
    lock.outputs.data.files = 7;
    lock.outputs['one.txt'].size = 5;
    writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
    const r = dv(dir, ['status', '--exit-code']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/data\/.*size 999 .*6 bytes/);
    expect(r.stdout).toMatch(/data\/.*7 files.*2/);
    expect(r.stdout).toMatch(/one\.txt.*size 5 .*1 byte/);
    const diff = JSON.parse(dvOk(dir, ['diff', '--json']).stdout) as { totals: { sizeAfter: number } };
    expect(diff.totals.sizeAfter).toBe(7);
    // checkout trusts the hash, not the figures, and says so; commit rewrites the entries.
    execFileSync('rm', ['-rf', path.join(dir, 'data')]);
    const checkout = dvOk(dir, ['checkout']);
    expect(checkout.stderr).toMatch(/warning: data\.lock\.json: data: size 999 in data\.lock\.json/);
    expect(readFileSync(path.join(dir, 'data/a.txt'), 'utf8')).toBe('aaaa');
    dvOk(dir, ['commit', 'data', 'one.txt']);
    dvOk(dir, ['status', '--exit-code']);
    expect(JSON.parse(readFileSync(lockPath, 'utf8')).outputs.data).toMatchObject({ size: 6, files: 2 });
  });

  it('a duplicated key in data.lock.json or config.json is refused', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'a.txt': 'a' });
    dvOk(dir, ['add', 'a.txt']);
    const lockPath = path.join(dir, 'data.lock.json');
    const good = readFileSync(lockPath, 'utf8');
    writeFileSync(lockPath, good.replace('"outputs": {', '"outputs": {}, "outputs": {'));
    expectCleanError(dv(dir, ['status']), 2, /duplicated key "outputs"/);
    writeFileSync(lockPath, good);
    const configPath = path.join(dir, '.dataver/config.json');
    writeFileSync(configPath, '{"version": 1, "version": 1}\n');
    expectCleanError(dv(dir, ['status']), 2, /config\.json.*duplicated key "version"/);
  });

  it('conflict markers in data.lock.json: exit 1 with a hint', () => {
    const dir = tempRepo();
    writeFileSync(path.join(dir, 'data.lock.json'), '<<<<<<< ours\n{}\n=======\n{}\n>>>>>>> theirs\n');
    const r = dv(dir, ['status']);
    expectCleanError(r, 1, /merge conflict/);
    expect(r.stderr).toMatch(/hint: /);
  });
});

describe('7. the merge driver works where dataver is not a local dependency', () => {
  /** Two branches that track different outputs, from a common base. */
  function branches(dir: string): void {
    writeFiles(dir, { 'base.txt': 'base' });
    dvOk(dir, ['add', 'base.txt']);
    commitAll(dir, 'base');
    git(dir, 'checkout', '-qb', 'other');
    writeFiles(dir, { 'theirs.txt': 'theirs' });
    dvOk(dir, ['add', 'theirs.txt']);
    commitAll(dir, 'theirs');
    git(dir, 'checkout', '-q', 'main');
    writeFiles(dir, { 'ours.txt': 'ours' });
    dvOk(dir, ['add', 'ours.txt']);
    commitAll(dir, 'ours');
  }

  it('init registers the running CLI by absolute path; a merge with no dataver on PATH merges the lock', () => {
    const dir = tempRepo();
    const driver = git(dir, 'config', 'merge.dataver.driver').trim();
    expect(driver).toContain(path.resolve(CLI));
    expect(driver).not.toMatch(/npx/);
    branches(dir);
    const r = spawnSync('git', ['merge', '-q', '--no-edit', 'other'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: '/usr/bin:/bin' },
    });
    expect(r.status).toBe(0);
    const lock = JSON.parse(readFileSync(path.join(dir, 'data.lock.json'), 'utf8'));
    expect(Object.keys(lock.outputs).sort()).toEqual(['base.txt', 'ours.txt', 'theirs.txt']);
    const doctor = dv(dir, ['doctor', '--json']);
    const checks = JSON.parse(doctor.stdout) as { checks: Array<{ name: string; ok: boolean }> };
    expect(checks.checks.find((c) => c.name === 'merge driver')?.ok).toBe(true);
  });

  it('a lock git left unmerged (a driver that failed) is a conflict for status: exit 1 and a hint', () => {
    const dir = tempRepo();
    git(dir, 'config', 'merge.dataver.driver', 'false');
    branches(dir);
    const r = spawnSync('git', ['merge', '-q', '--no-edit', 'other'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(git(dir, 'status', '--porcelain')).toMatch(/^UU data\.lock\.json/m);
    const status = dv(dir, ['status']);
    expectCleanError(status, 1, /data\.lock\.json .*unmerged/);
    expect(status.stderr).toMatch(/hint: .*doctor/);
    const doctor = dv(dir, ['doctor']);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/merge driver/);
  });

  it('an unmerged lock stops every command that would act on one side of it; re-merged, it resolves', () => {
    const dir = tempRepo();
    git(dir, 'config', 'merge.dataver.driver', 'false');
    branches(dir);
    expect(spawnSync('git', ['merge', '-q', '--no-edit', 'other'], { cwd: dir }).status).not.toBe(0);
    const lockPath = path.join(dir, 'data.lock.json');
    const oneSide = readFileSync(lockPath, 'utf8');
    const theirs = path.join(dir, '.dataver/cache/sha256', sha('theirs').slice(0, 2), sha('theirs').slice(2));
    expect(existsSync(theirs)).toBe(true);
    writeFiles(dir, { 'new.txt': 'new' });
    // gc by one side would delete the other side's objects; add/remove/move/commit would record
    // one side as the merge; ls would list one side as the truth.
    for (const args of [
      ['gc', '--force'],
      ['add', 'new.txt'],
      ['remove', 'ours.txt'],
      ['move', 'ours.txt', 'moved.txt'],
      ['commit'],
      ['repro'],
      ['checkout'],
      ['ls'],
    ]) {
      const r = dv(dir, args);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expectCleanError(r, 1, /data\.lock\.json is unmerged/);
      expect(r.stderr).toMatch(/hint: .*git checkout -m data\.lock\.json && git add data\.lock\.json/);
    }
    expect(readFileSync(lockPath, 'utf8')).toBe(oneSide);
    expect(existsSync(theirs)).toBe(true);
    expect(existsSync(path.join(dir, 'ours.txt'))).toBe(true);
    // What the hint says: register a driver that runs, merge the file again, mark it resolved.
    dvOk(dir, ['init', '--git-hooks', '-q']);
    spawnSync('git', ['checkout', '-m', 'data.lock.json'], { cwd: dir });
    git(dir, 'add', 'data.lock.json');
    dvOk(dir, ['status', '--exit-code']);
    const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
    expect(Object.keys(lock.outputs).sort()).toEqual(['base.txt', 'ours.txt', 'theirs.txt']);
  });
});

describe('8. pull checks out what it can', () => {
  it('one object missing from the remote: the other files are checked out, the missing one named, exit 3', () => {
    const files = { 'data/a.txt': 'aaa', 'data/b.txt': 'bbb', 'data/c.txt': 'ccc' };
    const { dir, remote } = repoWithLooseRemote(files);
    unlinkSync(looseFile(remote, sha('bbb')));
    const clone = cloneOf(dir);
    const r = dv(clone, ['pull']);
    expectCleanError(r, 3, /data\/b\.txt/);
    expect(readFileSync(path.join(clone, 'data/a.txt'), 'utf8')).toBe('aaa');
    expect(readFileSync(path.join(clone, 'data/c.txt'), 'utf8')).toBe('ccc');
    expect(existsSync(path.join(clone, 'data/b.txt'))).toBe(false);
    // fetch, too, gets everything else before it reports what it could not.
    const other = cloneOf(dir);
    const fetched = dv(other, ['fetch', '--json']);
    expect(fetched.code).toBe(3);
    const error = JSON.parse(fetched.stdout) as { error: { paths: string[]; summary: { fetched: number } } };
    expect(error.error.paths).toEqual(['data/b.txt']);
    expect(error.error.summary.fetched).toBe(3); // two files and the directory manifest
  });
});

describe('9. an edit that keeps size and mtime is seen', () => {
  it('status re-hashes a file whose change time moved', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'data/a.txt': 'hello' });
    dvOk(dir, ['add', 'data']);
    dvOk(dir, ['status', '--exit-code']);
    const file = path.join(dir, 'data/a.txt');
    const ns = statSync(file, { bigint: true }).mtimeNs;
    writeFileSync(file, 'HELLO');
    // Back to the very nanosecond: size, mtime and inode are as they were; only ctime moved.
    const stamp = `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
    execFileSync('touch', ['-m', '-d', stamp, file]);
    expect(statSync(file, { bigint: true }).mtimeNs).toBe(ns);
    const r = dv(dir, ['status', '--exit-code']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/modified\s+data\/a\.txt/);
  });
});
