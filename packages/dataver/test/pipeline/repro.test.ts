// dataver repro end to end: the real CLI in temp git repositories.
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StatTable } from '../../src/core/stat-table';
import { CLI } from '../helpers/cli';
import { counted, dv, git, lockOf, ok, pipelineRepo, q, read, runs, tempRepo, writeFiles } from './helpers';

describe('dataver repro', () => {
  test('runs every stage once, then is a no-op that says so', () => {
    const root = pipelineRepo();
    const first = ok(root, ['repro']);
    expect(first.stdout).toMatch(/Running stage 'prepare'/);
    expect(runs(root, 'prepare')).toBe(1);
    expect(runs(root, 'train')).toBe(1);
    expect(runs(root, 'evaluate')).toBe(1);
    expect(read(root, 'data/prepared/all.txt')).toBe('ONE\nTWO\nTHREE\n');
    const lock = lockOf(root);
    expect(Object.keys(lock.stages).sort()).toEqual(['evaluate', 'prepare', 'train']);
    expect(lock.outputs['data/prepared'].stage).toBe('prepare');
    expect(lock.outputs['metrics.json']).toBeUndefined(); // metrics are not cached
    expect(lock.stages.train.params).toEqual({ 'train.lr': 0.1, 'train.epochs': 2 });
    expect(read(root, '.gitignore')).toMatch(/\/model\.txt/);

    // Dependencies that are not tracked outputs are remembered in the stat cache too,
    // so the next check reads their metadata only.
    expect([...StatTable.read(path.join(root, '.dataver/state/stat-cache.bin')).paths()]).toContain(
      'data/raw.txt',
    );

    const before = read(root, 'data.lock.json');
    const second = ok(root, ['repro']);
    expect(second.stdout).toMatch(/up to date: nothing to reproduce/);
    expect(runs(root, 'prepare') + runs(root, 'train') + runs(root, 'evaluate')).toBe(3);
    expect(read(root, 'data.lock.json')).toBe(before);
    expect(ok(root, ['status', '--exit-code']).stdout).toMatch(/Everything is up to date/);
  });

  test('a changed param re-runs only the stages downstream of it; the run cache restores the old state', () => {
    const root = pipelineRepo();
    ok(root, ['repro']);
    writeFiles(root, { 'params.yaml': read(root, 'params.yaml').replace('lr: 0.1', 'lr: 0.2') });

    const status = dv(root, ['status', '--exit-code', '--json']);
    expect(status.code).toBe(1);
    const stages = JSON.parse(status.stdout).stages as Array<{
      stage: string;
      stale: boolean;
      summary: string;
    }>;
    expect(stages.filter((s) => s.stale).map((s) => s.stage)).toEqual(['train']);
    expect(stages.find((s) => s.stage === 'train')?.summary).toBe('param train.lr 0.1 → 0.2');

    expect(dv(root, ['status']).stdout).toMatch(
      /^Stages:\n {4}train {2}param train\.lr 0\.1 → 0\.2\n {2}\(run `dataver repro` to update it\)\n$/,
    );

    const r = ok(root, ['repro']);
    expect(r.stdout).toMatch(/Stage 'prepare' is up to date/);
    expect([runs(root, 'prepare'), runs(root, 'train'), runs(root, 'evaluate')]).toEqual([1, 2, 2]);
    expect(read(root, 'model.txt')).toMatch(/lr: 0.2/);

    // Back to 0.1: that input state was seen, so its outputs come from the cache.
    writeFiles(root, { 'params.yaml': read(root, 'params.yaml').replace('lr: 0.2', 'lr: 0.1') });
    const back = ok(root, ['repro']);
    expect(back.stdout).toMatch(/Restored the outputs of stage 'train' from the run cache/);
    expect(back.stdout).toMatch(/its command did not run/);
    expect([runs(root, 'prepare'), runs(root, 'train'), runs(root, 'evaluate')]).toEqual([1, 2, 2]);
    expect(read(root, 'model.txt')).toMatch(/lr: 0.1/);
    expect(lockOf(root).stages.train.params['train.lr']).toBe(0.1);
    expect(ok(root, ['repro']).stdout).toMatch(/nothing to reproduce/);
  });

  test('a deleted output comes back from the cache without running; --force runs anyway', () => {
    const root = pipelineRepo();
    ok(root, ['repro']);
    rmSync(path.join(root, 'data/prepared'), { recursive: true });
    expect(dv(root, ['status', '--exit-code']).code).toBe(1);
    const r = ok(root, ['repro']);
    expect(r.stdout).toMatch(/Restored the outputs of stage 'prepare'/);
    expect(runs(root, 'prepare')).toBe(1);
    expect(read(root, 'data/prepared/all.txt')).toBe('ONE\nTWO\nTHREE\n');
    ok(root, ['repro', '--force', 'prepare']);
    expect(runs(root, 'prepare')).toBe(2);

    // An edited metrics file (committed to git, not cached) comes back from the run record.
    const metrics = read(root, 'metrics.json');
    writeFiles(root, { 'metrics.json': '{"accuracy": 1}' });
    expect(ok(root, ['repro']).stdout).toMatch(/Restored the outputs of stage 'evaluate' from the run cache/);
    expect(read(root, 'metrics.json')).toBe(metrics);
    expect(runs(root, 'evaluate')).toBe(1);
  });

  test('targets pull in what they need; --downstream what depends on them; --dry-run changes nothing', () => {
    const root = pipelineRepo();
    ok(root, ['repro', 'train']);
    expect([runs(root, 'prepare'), runs(root, 'train'), runs(root, 'evaluate')]).toEqual([1, 1, 0]);
    writeFiles(root, { 'data/raw.txt': 'four\n' });
    const before = read(root, 'data.lock.json');
    const dry = ok(root, ['repro', '--dry-run']);
    expect(dry.stdout).toMatch(/Would run stage 'prepare' \(dep data\/raw.txt modified\)/);
    expect(dry.stdout).toMatch(/Would run stage 'train' \(upstream stage prepare would run\)/);
    expect(dry.stdout).toMatch(/Would run stage 'evaluate'/);
    expect(read(root, 'data.lock.json')).toBe(before);
    expect(runs(root, 'prepare')).toBe(1);
    ok(root, ['repro', '--downstream', 'train']);
    // train's own dep did not change (prepare did not run), so only evaluate (never run) runs.
    expect([runs(root, 'prepare'), runs(root, 'train'), runs(root, 'evaluate')]).toEqual([1, 1, 1]);
  });

  test('a failing command exits with its status and leaves outputs and lock untouched', () => {
    const root = pipelineRepo();
    ok(root, ['repro']);
    const lock = read(root, 'data.lock.json');
    const model = read(root, 'model.txt');
    const yaml = read(root, 'dataver.yaml').replace(
      /cmd: "(mkdir -p counts && echo run >> counts\/train) && .*/,
      'cmd: "$1 && echo partial > model.txt && exit 3"',
    );
    writeFiles(root, { 'dataver.yaml': yaml });
    const r = dv(root, ['repro']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error: stage 'train' failed with exit status 3/);
    expect(r.stderr).toMatch(/hint: its previous outputs and the lock are unchanged/);
    expect(read(root, 'data.lock.json')).toBe(lock);
    expect(read(root, 'model.txt')).toBe(model);
  });

  test('progress survives a later failure: the lock is written after each successful stage', () => {
    const root = pipelineRepo();
    ok(root, ['repro']);
    writeFiles(root, {
      'data/raw.txt': 'changed\n',
      'dataver.yaml': read(root, 'dataver.yaml').replace(
        /cmd: "(mkdir -p counts && echo run >> counts\/train) && .*/,
        'cmd: "$1 && false"',
      ),
    });
    expect(dv(root, ['repro']).code).toBe(1);
    const lock = lockOf(root);
    expect(read(root, 'data/prepared/all.txt')).toBe('CHANGED\n');
    expect(Object.values(lock.stages.prepare.deps)[0]).not.toBe(undefined);
    expect(dv(root, ['status', '--json']).stdout).toMatch(/"stage": "train"/);
    const st = JSON.parse(dv(root, ['status', '--json']).stdout).stages as Array<{
      stage: string;
      stale: boolean;
    }>;
    expect(st.find((s) => s.stage === 'prepare')?.stale).toBe(false);
    expect(st.find((s) => s.stage === 'train')?.stale).toBe(true);
  });

  test('a dependency edited while its stage runs: the lock keeps what the command read, so the stage stays stale', () => {
    const root = tempRepo();
    // The command reads its input, then the input changes before the command ends (an editor, a
    // sync, a second terminal): the output was made from the old input.
    writeFiles(root, {
      'in.txt': 'old\n',
      'dataver.yaml': [
        'stages:',
        '  copy:',
        `    cmd: ${q(counted('copy', 'cp in.txt out.txt && echo new > in.txt'))}`,
        '    deps: [in.txt]',
        '    outs: [out.txt]',
        '',
      ].join('\n'),
    });
    const first = ok(root, ['repro']);
    expect(first.stderr).toMatch(
      /^warning: in\.txt changed while stage 'copy' ran: the lock keeps what it started from, so the stage runs again next time$/m,
    );
    expect(read(root, 'out.txt')).toBe('old\n');
    // The lock names the input the output was made from, not the one there now.
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    expect(lockOf(root).stages.copy.deps['in.txt']).toBe(createHash('sha256').update('old\n').digest('hex'));
    expect(dv(root, ['status', '--exit-code']).code).toBe(1);
    // Nothing was remembered in the run cache for those inputs: the next repro really runs.
    const second = ok(root, ['repro']);
    expect(second.stdout).toMatch(/Running stage 'copy' \(dep in\.txt modified\)/);
    expect(runs(root, 'copy')).toBe(2);
    expect(read(root, 'out.txt')).toBe('new\n');
  });

  test('a command that is not found says so with a hint (exit 127)', () => {
    const root = pipelineRepo();
    writeFiles(root, {
      'dataver.yaml': 'stages:\n  broken:\n    cmd: no-such-program-xyz --flag\n    outs: [out.txt]\n',
    });
    const r = dv(root, ['repro']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/error: stage 'broken': command not found \(exit 127\): no-such-program-xyz/);
    expect(r.stderr).toMatch(/hint: check the cmd of 'broken' in dataver.yaml \(line 2\)/);
    expect(lockOf(root).stages).toEqual({});
  });

  test('a stage that does not write its declared output fails without touching the lock', () => {
    const root = pipelineRepo();
    writeFiles(root, { 'dataver.yaml': 'stages:\n  lazy:\n    cmd: "true"\n    outs: [out.txt]\n' });
    const r = dv(root, ['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/did not write out.txt/);
    expect(lockOf(root).stages).toEqual({});
  });

  test('repro while another repro runs: exit 5 (repository busy)', async () => {
    const root = pipelineRepo();
    writeFiles(root, {
      'dataver.yaml':
        'stages:\n  slow:\n    cmd: touch started && sleep 2 && echo x > out.txt\n    outs: [out.txt]\n',
    });
    const child = spawn(process.execPath, [CLI, 'repro'], { cwd: root, stdio: 'ignore' });
    const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 100 && !existsSync(path.join(root, 'started')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const busy = dv(root, ['repro']);
    expect(busy.code).toBe(5);
    expect(busy.stderr).toMatch(/error: the repository is busy: dataver repro/);
    expect(busy.stderr).toMatch(/hint: wait for it to finish/);
    expect(await done).toBe(0);
    expect(ok(root, ['repro']).stdout).toMatch(/nothing to reproduce/);
  });

  test('Ctrl-C during a stage: the command stops, the previous outputs come back, the lock is untouched', async () => {
    const root = pipelineRepo();
    writeFiles(root, {
      'dataver.yaml':
        'stages:\n  slow:\n    cmd: echo new > out.txt && touch started && sleep 5\n    outs: [out.txt]\n',
      'out.txt': 'old\n',
    });
    const lock = read(root, 'data.lock.json');
    // Its own process group, as a terminal would make it: the signal reaches dataver and the command.
    const child = spawn(process.execPath, [CLI, 'repro'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 100 && !existsSync(path.join(root, 'started')); i++)
      await new Promise((r) => setTimeout(r, 50));
    process.kill(-child.pid!, 'SIGINT');
    expect(await done).toBe(130);
    expect(stderr).toMatch(/error: stage 'slow' was interrupted \(exit status 130\)/);
    expect(read(root, 'out.txt')).toBe('old\n');
    expect(read(root, 'data.lock.json')).toBe(lock);
    expect(existsSync(path.join(root, '.dataver/tmp/lock'))).toBe(false);
  });

  test("--json: a machine-readable result on stdout, the commands' output on stderr", () => {
    const root = pipelineRepo();
    writeFiles(root, {
      'dataver.yaml':
        'stages:\n  hello:\n    cmd: echo hello from the command && echo hi > out.txt\n    outs: [out.txt]\n',
    });
    const r = ok(root, ['repro', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({
      upToDate: false,
      stages: [{ stage: 'hello', action: 'ran' }],
    });
    expect(r.stderr).toMatch(/hello from the command/);
    expect(JSON.parse(ok(root, ['repro', '--json']).stdout)).toMatchObject({
      upToDate: true,
      stages: [{ stage: 'hello', action: 'up-to-date' }],
    });
  });

  test('stage add writes dataver.yaml, keeping the comments of the rest of the file', () => {
    const root = pipelineRepo();
    ok(root, [
      'stage',
      'add',
      'report',
      '--cmd',
      'cat metrics.json > report.txt',
      '--dep',
      'metrics.json',
      '--out',
      'report.txt',
      '--param',
      'train.lr',
    ]);
    const text = read(root, 'dataver.yaml');
    expect(text).toMatch(/^# The pipeline of this test project\./);
    expect(text).toMatch(
      / {2}report:\n {4}cmd: cat metrics.json > report.txt\n {4}deps:\n {6}- metrics.json/,
    );
    const again = dv(root, ['stage', 'add', 'report', '--cmd', 'true']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/stage 'report' already exists/);
    ok(root, ['repro']);
    expect(read(root, 'report.txt')).toMatch(/accuracy/);
    expect(runs(root, 'evaluate')).toBe(1);
    git(root, 'add', '-A');
    git(root, 'commit', '-qm', 'pipeline');
    writeFileSync(path.join(root, 'report.txt'), 'edited');
    expect(dv(root, ['status', '--exit-code']).code).toBe(1);
  });
});
