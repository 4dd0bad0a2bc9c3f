// The file-system monitor is a shortcut, never a source of truth: stopped, killed, overflowed or
// out of watches, status walks the tree again and still reports every edit (and says why with -v).
import * as fs from 'node:fs';
import path from 'node:path';
import { dv, tempRepo, writeFiles } from '../helpers/cli';

interface Info {
  running: boolean;
  pid?: number;
  trusted?: boolean;
  reason?: string;
}

function setUp(env: NodeJS.ProcessEnv = {}) {
  const repo = tempRepo();
  writeFiles(path.join(repo, 'data'), { 'a/1.bin': 'one', 'b/2.bin': 'two', 'c/3.bin': 'three' });
  expect(dv(repo, ['add', 'data']).code).toBe(0);
  expect(dv(repo, ['fsmonitor', 'start'], env).code).toBe(0);
  started.push(repo);
  expect(dv(repo, ['status', '--porcelain']).stdout).toBe('');
  return repo;
}
const started: string[] = [];
afterEach(() => {
  for (const repo of started.splice(0)) dv(repo, ['fsmonitor', 'stop']);
});
const info = (repo: string): Info => JSON.parse(dv(repo, ['fsmonitor', 'status', '--json']).stdout);
const status = (repo: string) => dv(repo, ['status', '--porcelain', '-v']);

test('start, vouch, see an edit, stop', () => {
  const repo = setUp();
  expect(info(repo)).toMatchObject({ running: true, trusted: true });
  expect(dv(repo, ['fsmonitor', 'start']).stdout).toMatch(/running/); // a second start finds it
  expect(status(repo).stderr).toMatch(/0 folder\(s\) walked/);
  fs.appendFileSync(path.join(repo, 'data/a/1.bin'), '!');
  const r = status(repo);
  expect(r.stdout).toBe('M data/a/1.bin\n');
  expect(r.stderr).toMatch(/0 folder\(s\) walked, 1 read at the changed paths only/); // not walked
  // The next one starts from that view: still modified, and nothing read.
  expect(status(repo)).toMatchObject({
    stdout: 'M data/a/1.bin\n',
    stderr: expect.stringMatching(/0 folder\(s\) walked, 0 read/),
  });
  expect(dv(repo, ['fsmonitor', 'stop']).stdout).toMatch(/stopped/);
  expect(info(repo)).toEqual({ running: false });
  expect(dv(repo, ['fsmonitor', 'stop']).stdout).toMatch(/not running/);
});

test('edits made while it is stopped are reported after it starts again', () => {
  const repo = setUp();
  dv(repo, ['fsmonitor', 'stop']);
  fs.writeFileSync(path.join(repo, 'data/b/2.bin'), 'TWO');
  expect(status(repo).stderr).toMatch(/not running; every tracked folder is walked/);
  expect(status(repo).stdout).toBe('M data/b/2.bin\n');
  expect(dv(repo, ['add', 'data']).code).toBe(0);
  fs.writeFileSync(path.join(repo, 'data/b/2.bin'), 'tWO'); // edited before the new daemon watches
  expect(dv(repo, ['fsmonitor', 'start']).code).toBe(0);
  const r = status(repo);
  expect(r.stdout).toBe('M data/b/2.bin\n');
  expect(r.stderr).toMatch(/1 folder\(s\) walked/); // a new run's tokens are not the old one's
});

test('killed with SIGKILL: status walks and reports the edit', () => {
  const repo = setUp();
  const { pid } = info(repo);
  process.kill(pid as number, 'SIGKILL');
  fs.rmSync(path.join(repo, 'data/c/3.bin'));
  const r = status(repo);
  expect(r.stdout).toBe('D data/c/3.bin\n');
  expect(r.stderr).toMatch(/not running/);
});

test('more changes than it keeps: it distrusts itself and status walks', () => {
  const repo = setUp({ DATAVER_FSMONITOR_MAX_CHANGES: '3' });
  for (let i = 0; i < 5; i++) writeFiles(path.join(repo, 'data'), { [`a/new${i}.bin`]: `${i}` });
  const r = status(repo);
  expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(5);
  expect(r.stderr).toMatch(/more than 3 changes \(events lost\)/);
  expect(info(repo)).toMatchObject({ running: true, trusted: false });
  expect(dv(repo, ['fsmonitor', 'status']).stdout).toMatch(/not trusted/);
});

test('a watch limit reached: it distrusts itself and status walks', () => {
  const repo = setUp({ DATAVER_FSMONITOR_MAX_WATCHES: '2' });
  fs.appendFileSync(path.join(repo, 'data/c/3.bin'), '!');
  const r = status(repo);
  expect(r.stdout).toBe('M data/c/3.bin\n');
  expect(r.stderr).toMatch(/limit of 2 watched folders/);
});

test('a tracked folder deleted and made again is watched anew', () => {
  const repo = setUp();
  fs.rmSync(path.join(repo, 'data'), { recursive: true });
  writeFiles(path.join(repo, 'data'), { 'a/1.bin': 'one', 'b/2.bin': 'two', 'c/3.bin': 'three' });
  expect(status(repo).stdout).toBe('');
  fs.appendFileSync(path.join(repo, 'data/a/1.bin'), '!'); // in the new folder
  expect(status(repo).stdout).toBe('M data/a/1.bin\n');
  fs.rmSync(path.join(repo, 'data/b'), { recursive: true });
  writeFiles(path.join(repo, 'data'), { 'b/2.bin': 'two' });
  expect(dv(repo, ['add', 'data']).code).toBe(0);
  expect(status(repo).stdout).toBe('');
  fs.appendFileSync(path.join(repo, 'data/b/2.bin'), '!'); // in a subfolder made again
  expect(status(repo).stdout).toBe('M data/b/2.bin\n');
});

test('a locked manifest damaged in the cache after status checked it: checked again, never trusted', () => {
  const repo = setUp();
  fs.appendFileSync(path.join(repo, 'data/a/1.bin'), '!');
  expect(status(repo).stderr).toMatch(/1 read at the changed paths only/); // manifest checked, its identity kept
  const lock = JSON.parse(fs.readFileSync(path.join(repo, 'data.lock.json'), 'utf8'));
  const hash: string = lock.outputs.data.hash;
  const object = path.join(repo, '.dataver/cache/sha256', hash.slice(0, 2), hash.slice(2));
  fs.chmodSync(object, 0o644);
  fs.writeFileSync(object, fs.readFileSync(object, 'utf8').replace('"b/2.bin"', '"b/9.bin"'));
  fs.appendFileSync(path.join(repo, 'data/c/3.bin'), '!');
  // The monitor's path gives up on it and the walk, which needs the manifest too, says what is wrong.
  expect(status(repo)).toMatchObject({ code: 3, stdout: '', stderr: expect.stringMatching(/is corrupt/) });
});
