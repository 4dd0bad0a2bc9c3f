// Lineage through dataver's library API, end to end with the real CLIs in a temp git + dataver repo:
// clean data is recorded with its lock hash, modified data is refused unless --allow-dirty, --rev
// trains on the data of another commit without touching the workspace, all of it also where the dataver
// root is a subfolder of the git repository; and dataver's own failures keep their exit code.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeProcessed, REPO_ROOT, TRAINER_BIN, tmpDir } from './helpers/fixtures';

const DATAVER_BIN = path.join(REPO_ROOT, 'packages/dataver/bin/dataver.js');

/** Upper bound of one test on a loaded machine (each trains for seconds on a free one). */
const LONG = 600_000;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const git = (args: string[], cwd: string) => {
  const r = run('git', args, cwd);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
function gitInit(dir: string) {
  git(['init', '-q'], dir);
  git(['config', 'user.email', 'test@example.com'], dir);
  git(['config', 'user.name', 'test'], dir);
}
const lockedHash = (root: string) =>
  JSON.parse(fs.readFileSync(path.join(root, 'data.lock.json'), 'utf8')).outputs['data/processed']
    .hash as string;
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
  gitInit(repo);
  expect(dataver(['init'], repo).code).toBe(0);
  await makeProcessed(path.join(repo, 'data/processed'), 1000, 200);
  expect(dataver(['add', 'data/processed'], repo).code).toBe(0);
  git(['add', '-A'], repo);
  git(['commit', '-qm', 'data v1'], repo);
  firstCommit = git(['rev-parse', 'HEAD'], repo);
  firstHash = lockedHash(repo);
}, LONG);

const runInfo = (cwd: string, out: string) =>
  JSON.parse(fs.readFileSync(path.join(cwd, out, 'logs/run.json'), 'utf8'));

test(
  'clean data: metadata records the locked hash; the run log records the commit',
  () => {
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
  },
  LONG,
);

test(
  'modified data is refused (exit 3) unless --allow-dirty, which metadata records',
  () => {
    const stats = path.join(repo, 'data/processed/stats.json');
    const original = fs.readFileSync(stats);
    fs.writeFileSync(stats, `${original.toString().trim()} \n`);
    try {
      const refused = trainer(['--out', 'models/dirty'], repo);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(
        /error: data differs from data\.lock\.json: data\/processed \(modified\)/,
      );
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
  },
  LONG,
);

test(
  '--rev trains on the data of another commit and leaves the workspace alone',
  async () => {
    // Commit a second version of the data with fewer training images.
    await makeProcessed(path.join(repo, 'data/processed'), 700, 200);
    expect(dataver(['add', 'data/processed'], repo).code).toBe(0);
    git(['commit', '-qam', 'data v2'], repo);
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
  },
  LONG,
);

test(
  'lineage where the dataver root is a subfolder of the git repository: hashes, commit, --rev',
  async () => {
    const top = tmpDir('trainer-lineage-sub-');
    gitInit(top);
    const project = path.join(top, 'project');
    fs.mkdirSync(project);
    expect(dataver(['init'], project).code).toBe(0);
    await makeProcessed(path.join(project, 'data/processed'), 500, 100);
    expect(dataver(['add', 'data/processed'], project).code).toBe(0);
    git(['add', '-A'], top);
    git(['commit', '-qm', 'data v1'], top);
    const v1 = { commit: git(['rev-parse', 'HEAD'], top), hash: lockedHash(project) };
    await makeProcessed(path.join(project, 'data/processed'), 300, 100);
    expect(dataver(['add', 'data/processed'], project).code).toBe(0);
    git(['commit', '-qam', 'data v2'], top);
    const v2 = { commit: git(['rev-parse', 'HEAD'], top), hash: lockedHash(project) };

    const clean = trainer(['--out', 'models/clean'], project);
    expect(clean.code).toBe(0);
    expect(meta(project, 'models/clean').data.lineage).toEqual(
      expect.objectContaining({ status: 'clean', outputs: [{ path: 'data/processed', hash: v2.hash }] }),
    );
    expect(runInfo(project, 'models/clean').commit).toBe(v2.commit);
    expect(runInfo(project, 'models/clean').repoRoot).toBe(fs.realpathSync(project));

    const rev = trainer(['--out', 'models/rev', '--rev', 'HEAD~1'], project);
    expect(rev.code).toBe(0);
    const m = meta(project, 'models/rev');
    expect(m.data.lineage).toEqual(
      expect.objectContaining({
        status: 'revision',
        rev: 'HEAD~1',
        outputs: [{ path: 'data/processed', hash: v1.hash }],
      }),
    );
    expect(runInfo(project, 'models/rev').commit).toBe(v1.commit);
    // 500 images at the first commit (450 train + 50 validation), not the 300 of the workspace.
    expect(m.data.train + m.data.validation).toBe(500);
  },
  LONG,
);

test(
  '--rev whose objects are missing and whose remote fails exits as dataver does (4), with context',
  async () => {
    const dir = tmpDir('trainer-lineage-remote-');
    gitInit(dir);
    expect(dataver(['init'], dir).code).toBe(0);
    await makeProcessed(path.join(dir, 'data/processed'), 100, 20);
    expect(dataver(['add', 'data/processed'], dir).code).toBe(0);
    git(['add', '-A'], dir);
    git(['commit', '-qm', 'data v1'], dir);
    // The objects are gone from the cache and the default remote is a folder that does not exist.
    fs.rmSync(path.join(dir, '.dataver/cache'), { recursive: true, force: true });
    const missing = path.join(dir, 'no-such-remote');
    expect(dataver(['remote', 'add', 'origin', missing, '--default'], dir).code).toBe(0);
    const own = dataver(['pull', '--rev', 'HEAD'], dir);
    expect(own.code).toBe(4);
    const r = trainer(['--out', 'models/remote', '--rev', 'HEAD'], dir);
    expect(r.code).toBe(own.code);
    expect(r.stderr).toMatch(/error: data of revision HEAD: .*no-such-remote/);
    expect(fs.existsSync(path.join(dir, 'models/remote'))).toBe(false);
  },
  LONG,
);
