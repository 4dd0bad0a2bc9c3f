// The commands a DVC user reaches for, with DVC's names, through the real CLI: commit, move,
// ls / get / import / update (data registries: another real git repository with a folder
// remote), remote modify / rename / default, dag, status --porcelain, doctor and version.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  commitAll,
  dv,
  expectCleanError,
  git,
  type RunResult,
  tempDir,
  tempRepo,
  writeFiles,
} from '../helpers/cli';

function ok(cwd: string, args: string[]): RunResult {
  const r = dv(cwd, args);
  if (r.code !== 0) throw new Error(`dataver ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

function lockOf(dir: string) {
  return JSON.parse(readFileSync(path.join(dir, 'data.lock.json'), 'utf8')) as {
    outputs: Record<string, { hash: string; size: number; files?: number; import?: Record<string, string> }>;
    stages: Record<string, { outs: Record<string, string> }>;
  };
}

/** A data registry: a git repository tracking data/raw and model.bin, pushed to a folder remote. */
function registry(): { dir: string; remote: string } {
  const dir = tempRepo();
  writeFiles(dir, { 'data/raw/a.txt': 'aaa', 'data/raw/sub/b.txt': 'bb', 'model.bin': 'model-v1' });
  ok(dir, ['add', 'data/raw', 'model.bin']);
  const remote = path.join(tempDir(), 'remote');
  mkdirSync(remote);
  ok(dir, ['remote', 'add', 'origin', remote, '--default']);
  ok(dir, ['push']);
  commitAll(dir, 'v1');
  git(dir, 'tag', 'v1');
  return { dir, remote };
}

/** A two-stage pipeline, reproduced. */
function pipeline(): string {
  const dir = tempRepo();
  writeFiles(dir, {
    'in.txt': 'hello\n',
    'dataver.yaml': [
      'stages:',
      '  upper:',
      '    cmd: tr a-z A-Z < in.txt > up.txt',
      '    deps: [in.txt]',
      '    outs: [up.txt]',
      '  count:',
      '    cmd: wc -c < up.txt > count.txt',
      '    deps: [up.txt]',
      '    outs: [count.txt]',
      '',
    ].join('\n'),
  });
  ok(dir, ['repro']);
  return dir;
}

describe('dataver commit', () => {
  it('records a stage as its outputs are now, without running it; and re-adds tracked outputs', () => {
    const dir = pipeline();
    writeFileSync(path.join(dir, 'up.txt'), 'EDITED BY HAND\n');
    expect(dv(dir, ['status', '--exit-code']).code).toBe(1);
    const r = JSON.parse(ok(dir, ['commit', 'upper', '--json']).stdout) as {
      stages: Array<{ stage: string; changed: boolean }>;
    };
    expect(r.stages).toEqual([{ stage: 'upper', changed: true }]);
    const lock = lockOf(dir);
    expect(lock.stages.upper.outs['up.txt']).toBe(lock.outputs['up.txt'].hash);
    expect(readFileSync(path.join(dir, 'up.txt'), 'utf8')).toBe('EDITED BY HAND\n'); // nothing ran
    // `count` now sees a changed dependency; committing it too leaves nothing stale.
    expect(ok(dir, ['status']).stdout).toMatch(/count +dep up\.txt modified/);
    ok(dir, ['commit']);
    ok(dir, ['status', '--exit-code']);
    writeFiles(dir, { 'plain.txt': 'v1' });
    ok(dir, ['add', 'plain.txt']);
    writeFileSync(path.join(dir, 'plain.txt'), 'v2');
    expect(ok(dir, ['commit', 'plain.txt']).stdout).toMatch(/committed +plain\.txt/);
    ok(dir, ['status', '--exit-code']);
  });

  it('refuses a stage output given as a path, and a stage that has not run', () => {
    const dir = pipeline();
    expectCleanError(dv(dir, ['commit', 'up.txt']), 2, /output of stage 'upper'/);
    writeFiles(dir, {
      'dataver.yaml': `${readFileSync(path.join(dir, 'dataver.yaml'), 'utf8')}  never:\n    cmd: echo > never.txt\n    deps: [in.txt]\n    outs: [never.txt]\n`,
    });
    expectCleanError(dv(dir, ['commit', 'never']), 2, /has not written never\.txt/);
  });
});

describe('dataver move', () => {
  it('moves files, the lock entry and the .gitignore line; into an existing folder too', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'data/raw/a.txt': 'a', 'one.bin': '1' });
    ok(dir, ['add', 'data/raw', 'one.bin']);
    const hash = lockOf(dir).outputs['data/raw'].hash;
    ok(dir, ['move', 'data/raw', 'data/source']);
    expect(readFileSync(path.join(dir, 'data/source/a.txt'), 'utf8')).toBe('a');
    expect(lockOf(dir).outputs['data/source'].hash).toBe(hash);
    expect(lockOf(dir).outputs['data/raw']).toBeUndefined();
    const ignore = readFileSync(path.join(dir, '.gitignore'), 'utf8');
    expect(ignore).toMatch(/^\/data\/source$/m);
    expect(ignore).not.toMatch(/^\/data\/raw$/m);
    mkdirSync(path.join(dir, 'models'));
    ok(dir, ['move', 'one.bin', 'models']);
    expect(lockOf(dir).outputs['models/one.bin']).toBeDefined();
    ok(dir, ['status', '--exit-code']);
    expectCleanError(dv(dir, ['move', 'nope', 'x']), 2, /not a tracked output/);
  });
});

describe('data registries: ls, get, import, update', () => {
  it('ls lists tracked data here (also --rev and -R) and in another repository', () => {
    const { dir } = registry();
    const here = ok(dir, ['ls']).stdout;
    expect(here).toMatch(/2 files +data\/raw\//);
    expect(here).toMatch(/model\.bin/);
    expect(ok(dir, ['ls', '.', 'data', '-R']).stdout).toMatch(/data\/raw\/sub\/b\.txt/);
    const elsewhere = tempDir();
    const rows = JSON.parse(ok(elsewhere, ['ls', dir, '-R', '--json']).stdout) as Array<{ path: string }>;
    expect(rows.map((r) => r.path)).toEqual([
      'data/raw',
      'data/raw/a.txt',
      'data/raw/sub/b.txt',
      'model.bin',
    ]);
    writeFiles(dir, { 'model.bin': 'model-v2' });
    ok(dir, ['add', 'model.bin']);
    commitAll(dir, 'v2');
    const old = JSON.parse(ok(dir, ['ls', '--rev', 'v1', '--json']).stdout) as Array<{
      path: string;
      size: number;
    }>;
    expect(old.find((r) => r.path === 'model.bin')?.size).toBe(8);
  });

  it('get copies a tracked file or folder of another repository, outside any dataver repository', () => {
    const { dir } = registry();
    const out = tempDir();
    ok(out, ['get', dir, 'data/raw']);
    expect(readFileSync(path.join(out, 'raw/sub/b.txt'), 'utf8')).toBe('bb');
    ok(out, ['get', dir, 'data/raw/a.txt', '-o', 'copy.txt']);
    expect(readFileSync(path.join(out, 'copy.txt'), 'utf8')).toBe('aaa');
    expectCleanError(dv(out, ['get', dir, 'data/raw/a.txt', '-o', 'copy.txt']), 2, /exists already/);
    ok(out, ['get', dir, 'model.bin', '--rev', 'v1', '-o', 'copy.txt', '--force']);
    expect(readFileSync(path.join(out, 'copy.txt'), 'utf8')).toBe('model-v1');
    expectCleanError(dv(out, ['get', dir, 'data/nothing']), 2, /not tracked by dataver/);
  });

  it('import tracks the data with its source; a clone pulls it from this repository’s remote; update follows the registry', () => {
    const reg = registry();
    const dir = tempRepo();
    ok(dir, ['import', reg.dir, 'data/raw', '-o', 'inputs/raw']);
    expect(readFileSync(path.join(dir, 'inputs/raw/a.txt'), 'utf8')).toBe('aaa');
    const entry = lockOf(dir).outputs['inputs/raw'];
    expect(entry.import).toMatchObject({
      url: reg.dir,
      path: 'data/raw',
      commit: git(reg.dir, 'rev-parse', 'HEAD').trim(),
    });
    expect(entry.hash).toBe(lockOf(reg.dir).outputs['data/raw'].hash);
    ok(dir, ['status', '--exit-code']);
    // Imported data is this repository's data now: pushed to its remote, pulled by its clones.
    const own = tempDir();
    ok(dir, ['remote', 'add', 'origin', own, '--default']);
    ok(dir, ['push']);
    commitAll(dir, 'import');
    const clone = path.join(tempDir(), 'clone');
    git(path.dirname(clone), 'clone', '-q', dir, clone);
    ok(clone, ['pull']);
    expect(readFileSync(path.join(clone, 'inputs/raw/sub/b.txt'), 'utf8')).toBe('bb');
    // The registry moves on; update brings the new version.
    writeFiles(reg.dir, { 'data/raw/c.txt': 'new' });
    ok(reg.dir, ['add', 'data/raw']);
    ok(reg.dir, ['push']);
    commitAll(reg.dir, 'v2');
    expect(ok(dir, ['update', '--json']).stdout).toMatch(/"changed": true/);
    expect(readFileSync(path.join(dir, 'inputs/raw/c.txt'), 'utf8')).toBe('new');
    expect(ok(dir, ['update']).stdout).toMatch(/up to date +inputs\/raw/);
    // Pinned to a tag, update stays there.
    ok(dir, ['import', reg.dir, 'model.bin', '--rev', 'v1']);
    expect(ok(dir, ['update', 'model.bin']).stdout).toMatch(/up to date +model\.bin/);
    expectCleanError(dv(dir, ['import', reg.dir, 'model.bin']), 2, /tracked already/);
    ok(dir, ['status', '--exit-code']);
  });
});

describe('dataver remote modify / rename / default', () => {
  it('changes options, renames (the default follows) and sets the default', () => {
    const dir = tempRepo();
    const a = tempDir();
    const b = tempDir();
    ok(dir, ['remote', 'add', 'origin', a]);
    ok(dir, ['remote', 'add', 'backup', b]);
    ok(dir, ['remote', 'modify', 'origin', 'jobs', '4']);
    expect(ok(dir, ['config', 'get', 'remote.origin.jobs']).stdout.trim()).toBe('4');
    ok(dir, ['remote', 'modify', 'origin', 'jobs', '--unset']);
    expectCleanError(dv(dir, ['config', 'get', 'remote.origin.jobs']), 2);
    expectCleanError(dv(dir, ['remote', 'modify', 'origin', 'colour', 'red']), 2);
    ok(dir, ['remote', 'rename', 'origin', 'storage']);
    expect(JSON.parse(ok(dir, ['remote', 'default', '--json']).stdout)).toEqual({ default: 'storage' });
    ok(dir, ['remote', 'default', 'backup']);
    expect(ok(dir, ['remote', 'list']).stdout).toMatch(/^\* backup/m);
    expectCleanError(dv(dir, ['remote', 'default', 'nope']), 2, /no remote named 'nope'/);
    ok(dir, ['remote', 'default', '--unset']);
    expect(ok(dir, ['remote', 'default']).stdout).toMatch(/No default remote/);
  });
});

describe('dataver dag', () => {
  it('prints the stages as text, Mermaid and JSON; of one target; of the data with --outs', () => {
    const dir = pipeline();
    expect(ok(dir, ['dag']).stdout).toBe('upper\ncount  ← upper\n');
    expect(ok(dir, ['dag', '--mermaid']).stdout).toBe(
      'flowchart TD\n  n0["upper"]\n  n1["count"]\n  n0 --> n1\n',
    );
    expect(ok(dir, ['dag', '--md']).stdout).toMatch(/^```mermaid\nflowchart TD\n[\s\S]*```\n$/);
    expect(JSON.parse(ok(dir, ['dag', 'upper', '--json']).stdout)).toEqual({ nodes: ['upper'], edges: [] });
    expect(ok(dir, ['dag', '--outs']).stdout).toMatch(/count\.txt +← up\.txt \(count\)/);
    expectCleanError(dv(dir, ['dag', 'nope']), 2, /no stage named 'nope'/);
  });
});

describe('dataver status --porcelain', () => {
  it('one stable line per difference', () => {
    const dir = tempRepo();
    writeFiles(dir, { 'd/a.txt': 'a', 'd/b.txt': 'b', 'f.txt': 'f', 'g.txt': 'g' });
    ok(dir, ['add', 'd', 'f.txt', 'g.txt']);
    expect(ok(dir, ['status', '--porcelain']).stdout).toBe('');
    writeFiles(dir, { 'd/a.txt': 'A', 'd/new.txt': 'n', 'f.txt': 'F' });
    require('node:fs').rmSync(path.join(dir, 'd/b.txt'));
    require('node:fs').rmSync(path.join(dir, 'g.txt'));
    const r = dv(dir, ['status', '--porcelain', '--exit-code']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('M d/a.txt\nD d/b.txt\nA d/new.txt\nM f.txt\nD g.txt\n');
  });
});

describe('dataver doctor and version', () => {
  it('a healthy repository: exit 0, every check ok; version names dataver, node and git', () => {
    const dir = tempRepo();
    const remote = tempDir();
    ok(dir, ['remote', 'add', 'origin', remote, '--default']);
    writeFiles(dir, { 'a.txt': 'a' });
    ok(dir, ['add', 'a.txt']);
    commitAll(dir, 'init');
    const report = JSON.parse(ok(dir, ['doctor', '--json']).stdout) as {
      ok: boolean;
      checks: Array<{ name: string; level: string }>;
    };
    expect(report.ok).toBe(true);
    expect(report.checks.filter((c) => c.level !== 'ok')).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual([
      'git',
      'remote config',
      'lock',
      'merge driver',
      'remote',
      'cache',
      'leftovers',
    ]);
    const version = JSON.parse(ok(dir, ['version', '--json']).stdout) as Record<string, unknown>;
    expect(version).toMatchObject({
      dataver: expect.stringMatching(/^\d+\.\d+\.\d+/),
      node: process.versions.node,
    });
    expect(version.git).toMatch(/^\d+\.\d+/);
    expect(version.repository).toMatchObject({ root: dir, cacheLink: 'reflink', defaultRemote: 'origin' });
  });

  it('an unreachable remote and a missing merge driver are problems (exit 1)', () => {
    const dir = tempRepo();
    ok(dir, ['remote', 'add', 'origin', path.join(tempDir(), 'gone'), '--default']);
    git(dir, 'config', '--unset', 'merge.dataver.driver');
    commitAll(dir, 'init');
    const r = dv(dir, ['doctor']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL +remote +default remote origin: .*does not exist/);
    expect(r.stdout).toMatch(/FAIL +merge driver +the merge driver is not configured/);
    expect(r.stdout).toMatch(/dataver init --git-hooks/);
    expect(dv(dir, ['doctor', '--no-remote']).stdout).not.toMatch(/FAIL +remote/);
  });
});
