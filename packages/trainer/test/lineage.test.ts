// Lineage through dataver's library API, end to end with the real CLIs in a temp git + dataver repo:
// clean data is recorded with its lock hash, modified data is refused unless --allow-dirty, and --rev
// trains on the data of another commit without touching the workspace.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeProcessed, REPO_ROOT, TRAINER_BIN, tmpDir } from './helpers/fixtures';

const DATAVER_BIN = path.join(REPO_ROOT, 'packages/dataver/bin/dataver.js');

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const dataver = (args: string[], cwd: string) => run(process.execPath, [DATAVER_BIN, ...args], cwd);
const trainer = (args: string[], cwd: string) =>
  run(
    process.execPath,
    [TRAINER_BIN, 'train', '--data', 'data/processed', '--limit', '600', '--epochs', '1', '-q', ...args],
    cwd,
  );
const meta = (cwd: string, out: string) =>
  JSON.parse(fs.readFileSync(path.join(cwd, out, 'metadata.json'), 'utf8'));

let repo: string;
let firstCommit: string;
let firstHash: string;

beforeAll(async () => {
  repo = tmpDir('trainer-lineage-');
  for (const args of [
    ['init', '-q'],
    ['config', 'user.email', 'test@example.com'],
    ['config', 'user.name', 'test'],
  ]) {
    run('git', args, repo);
  }
  expect(dataver(['init'], repo).code).toBe(0);
  await makeProcessed(path.join(repo, 'data/processed'), 1000, 200);
  expect(dataver(['add', 'data/processed'], repo).code).toBe(0);
  run('git', ['add', '-A'], repo);
  run('git', ['commit', '-qm', 'data v1'], repo);
  firstCommit = run('git', ['rev-parse', 'HEAD'], repo).stdout.trim();
  firstHash = JSON.parse(fs.readFileSync(path.join(repo, 'data.lock.json'), 'utf8')).outputs['data/processed']
    .hash;
}, 120_000);

const runInfo = (cwd: string, out: string) =>
  JSON.parse(fs.readFileSync(path.join(cwd, out, 'logs/run.json'), 'utf8'));

test('clean data: metadata records the locked hash; the run log records the commit', () => {
  const r = trainer(['--out', 'models/clean'], repo);
  expect(r.code).toBe(0);
  const lineage = meta(repo, 'models/clean').data.lineage;
  expect(lineage).toEqual(
    expect.objectContaining({
      status: 'clean',
      inRepository: true,
      outputs: [{ path: 'data/processed', hash: firstHash }],
      dirty: [],
    }),
  );
  expect(runInfo(repo, 'models/clean').commit).toBe(firstCommit);
});

test('modified data is refused (exit 3) unless --allow-dirty, which metadata records', () => {
  const stats = path.join(repo, 'data/processed/stats.json');
  const original = fs.readFileSync(stats);
  fs.writeFileSync(stats, `${original.toString().trim()} \n`);
  try {
    const refused = trainer(['--out', 'models/dirty'], repo);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/error: data differs from data\.lock\.json: data\/processed \(modified\)/);
    expect(fs.existsSync(path.join(repo, 'models/dirty'))).toBe(false);
    const allowed = trainer(['--out', 'models/dirty', '--allow-dirty'], repo);
    expect(allowed.code).toBe(0);
    const lineage = meta(repo, 'models/dirty').data.lineage;
    expect(lineage.status).toBe('dirty');
    expect(lineage.allowDirty).toBe(true);
    expect(lineage.dirty).toEqual([{ path: 'data/processed', state: 'modified' }]);
  } finally {
    fs.writeFileSync(stats, original);
  }
});

test('--rev trains on the data of another commit and leaves the workspace alone', async () => {
  // Commit a second version of the data with fewer training images.
  await makeProcessed(path.join(repo, 'data/processed'), 700, 200);
  expect(dataver(['add', 'data/processed'], repo).code).toBe(0);
  run('git', ['commit', '-qam', 'data v2'], repo);
  const before = fs.readFileSync(path.join(repo, 'data/processed/train_images.pt'));
  const r = trainer(['--out', 'models/rev', '--rev', 'HEAD~1', '--limit', '1000'], repo);
  expect(r.code).toBe(0);
  const m = meta(repo, 'models/rev');
  expect(m.data.lineage).toEqual(expect.objectContaining({ status: 'revision', rev: 'HEAD~1' }));
  expect(runInfo(repo, 'models/rev').commit).toBe(firstCommit);
  expect(m.data.lineage.outputs).toEqual([{ path: 'data/processed', hash: firstHash }]);
  // 1 000 images at the first commit (900 train + 100 validation), not the 700 of the workspace.
  expect(m.data.train + m.data.validation).toBe(1000);
  expect(fs.readFileSync(path.join(repo, 'data/processed/train_images.pt')).equals(before)).toBe(true);
});
