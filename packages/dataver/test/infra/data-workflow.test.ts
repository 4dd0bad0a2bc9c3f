// .github/workflows/data.yml, run here: its job's steps in order (tools/gha-local/run-job.mjs,
// with GitHub's own expression evaluator) on a fresh clone of a small dataver project, against
// the GCS emulator behind an authenticating proxy. google-github-actions/auth gets a generated
// service-account key (as the secret GCP_SA_KEY) whose token requests go to the local token
// server, so the pull and the push only work with a real signed assertion and its token.
// Sequence: checkout → npm ci (offline, the packed dataver) → auth → cache → pull → status
// clean → repro no-op → metrics diff in the summary → push (main only). A pull request from a
// fork has no secrets: the summary says so and nothing touches the bucket.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packAll, writeProject } from '../../../../test/helpers/packed-install';
import {
  makeServiceAccount,
  type ServiceAccount,
  startAuthProxy,
  startTokenServer,
} from '../gcs/auth-servers';
import { dv, git, tempDir, tempRepo, writeFiles } from '../helpers/cli';
import { REPO_ROOT, useGcsEmulator } from '../helpers/gcs-emulator';

const RUNNER = path.join(REPO_ROOT, 'tools', 'gha-local', 'run-job.mjs');
const WORKFLOW = path.join(REPO_ROOT, '.github', 'workflows', 'data.yml');

// The job's steps are bash scripts for ubuntu-latest; Windows has no such runner to imitate.
const posix = process.platform !== 'win32';
if (!posix)
  console.log('data.yml steps not run: the job runs on ubuntu-latest with bash steps (skipped on Windows)');
const describePosix = posix ? describe : describe.skip;

interface StepReport {
  name: string;
  uses?: string;
  outcome: 'success' | 'failure' | 'skipped';
  exitCode?: number;
  outputs: Record<string, string>;
  log: string;
}
interface JobReport {
  result: 'success' | 'failure';
  steps: StepReport[];
  summary: string;
}

const emulator = useGcsEmulator();
let tokens: Awaited<ReturnType<typeof startTokenServer>>;
let proxy: Awaited<ReturnType<typeof startAuthProxy>>;
let account: ServiceAccount;
let origin: string;
const bucketUrl = `gs://data-workflow/${randomBytes(4).toString('hex')}`;

/** The origin repository: a packed dataver as its dev dependency, a one-stage pipeline, two commits. */
function makeOrigin(): string {
  const dir = tempRepo({ init: false });
  const vendor = path.join(dir, 'vendor');
  fs.mkdirSync(vendor);
  writeProject(dir, packAll(vendor, ['@dataver/foundation', '@dataver/tensor', 'dataver']), 'data-project');
  writeFiles(dir, {
    '.gitignore': 'node_modules/\ngha-creds-*.json\n',
    'data/raw/a.bin': randomBytes(4096),
    'data/raw/b.txt': '3\n',
    'dataver.yaml': [
      'stages:',
      '  count:',
      '    cmd: node scripts/count.js',
      '    deps: [data/raw, scripts/count.js]',
      '    outs: [out]',
      '    metrics: [metrics.json]',
      '',
    ].join('\n'),
    'scripts/count.js': [
      "const fs = require('node:fs');",
      "const n = Number(fs.readFileSync('data/raw/b.txt', 'utf8'));",
      "fs.mkdirSync('out', { recursive: true });",
      "fs.writeFileSync('out/count.txt', String(n * 2));",
      "fs.writeFileSync('metrics.json', JSON.stringify({ count: n * 2 }));",
      '',
    ].join('\n'),
  });
  const steps: string[][] = [
    ['init', '-q'],
    ['remote', 'add', 'gcs', bucketUrl],
    ['add', 'data/raw', '-q'],
    ['repro', '-q'],
  ];
  for (const args of steps) expect(dv(dir, args).code).toBe(0);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first version of the data');
  fs.writeFileSync(path.join(dir, 'data/raw/b.txt'), '5\n');
  for (const args of [
    ['add', 'data/raw', '-q'],
    ['repro', '-q'],
  ])
    expect(dv(dir, args).code).toBe(0);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'more data');
  // The objects reach the bucket straight through the emulator (no credentials needed there).
  const pushed = dv(dir, ['push', '--remote', 'gcs'], { STORAGE_EMULATOR_HOST: emulator().endpoint });
  expect(pushed.stderr).toBe('');
  expect(pushed.code).toBe(0);
  return dir;
}

beforeAll(async () => {
  if (!posix) return;
  tokens = await startTokenServer();
  proxy = await startAuthProxy(emulator().endpoint, (t) => tokens.issued.includes(t));
  account = makeServiceAccount(tokens.url);
  tokens.trust(account);
  origin = makeOrigin();
}, 300_000);

afterAll(async () => {
  await proxy?.close();
  await tokens?.close();
});

/** Runs the job asynchronously: the token server and the proxy live in this process. */
function runJob(options: {
  event: Record<string, unknown>;
  secrets: Record<string, string>;
  cacheDir: string;
}): Promise<JobReport & { stderr: string }> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-gha-'));
  const config = {
    workflow: WORKFLOW,
    job: 'reproduce',
    repository: origin,
    workspace: path.join(base, 'workspace'),
    runnerTemp: path.join(base, 'temp'),
    cacheDir: options.cacheDir,
    report: path.join(base, 'report.json'),
    event: options.event,
    secrets: options.secrets,
    env: {
      // The runner's machine: no registry (npm ci takes the packed dataver and npm's cache),
      // and the bucket behind the proxy that wants a Bearer token from the token server.
      npm_config_offline: 'true',
      STORAGE_EMULATOR_HOST: proxy.endpoint,
      GOOGLE_APPLICATION_CREDENTIALS: '',
      DATAVER_GCS_CREDENTIALS: '',
    },
  };
  fs.writeFileSync(path.join(base, 'config.json'), JSON.stringify(config));
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [RUNNER, path.join(base, 'config.json')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      try {
        const report = JSON.parse(fs.readFileSync(config.report, 'utf8')) as JobReport;
        resolve({ ...report, stderr });
      } catch {
        reject(new Error(`the runner wrote no report:\n${stderr}`));
      } finally {
        fs.rmSync(base, { recursive: true, force: true });
      }
    });
  });
}

const outcomes = (report: JobReport) => Object.fromEntries(report.steps.map((s) => [s.name, s.outcome]));

function secretsOf(a: ServiceAccount): string[] {
  const key = JSON.parse(a.json) as { private_key: string; private_key_id: string };
  const pemLines = key.private_key.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [key.private_key_id, ...pemLines, ...tokens.issued];
}

describePosix('data.yml, run locally', () => {
  test('a push to main: fresh clone, npm ci, auth with the key, pull, status clean, repro no-op, metrics, push', async () => {
    const cacheDir = tempDir('dataver-gha-cache-');
    const head = git(origin, 'rev-parse', 'HEAD').trim();
    const before = git(origin, 'rev-parse', 'HEAD~1').trim();
    const report = await runJob({
      event: { name: 'push', ref: 'refs/heads/main', before, payload: { before, after: head } },
      secrets: { GCP_SA_KEY: account.json },
      cacheDir,
    });
    expect({ result: report.result, log: report.result === 'success' ? '' : report.stderr }).toEqual({
      result: 'success',
      log: '',
    });
    expect(outcomes(report)).toEqual({
      'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1': 'success',
      'actions/setup-node@820762786026740c76f36085b0efc47a31fe5020': 'success',
      'npm ci': 'success',
      'Which credentials this run has': 'success',
      'Authenticate to Google Cloud (service-account key)': 'success',
      'Authenticate to Google Cloud (workload identity federation)': 'skipped',
      'Restore the dataver cache': 'success',
      'Pull the data of this commit': 'success',
      'Check the workspace against the lock': 'success',
      'Check that the pipeline reproduces without running anything': 'success',
      'Metrics against the base': 'success',
      'Push the cache to the remote (main only)': 'success',
    });
    const byName = new Map(report.steps.map((s) => [s.name, s]));
    expect(byName.get('Which credentials this run has')?.outputs).toEqual({ method: 'key' });
    expect(byName.get('Restore the dataver cache')?.outputs['cache-hit']).toBe('false');
    // The repro check ran nothing: no stage output, the lock untouched (git diff --exit-code).
    expect(byName.get('Check that the pipeline reproduces without running anything')?.log).not.toMatch(
      /Running stage/,
    );
    // The summary compares the metrics of the pushed commit with the one before.
    expect(report.summary).toMatch(/\| metrics\.json \| count \| 6 \| 10 \| \+4 \|/);

    // The bucket saw only authenticated JSON-API calls, with tokens from a verified assertion.
    expect(tokens.assertions.some((a) => a.verified && a.iss === account.email)).toBe(true);
    expect(proxy.bearers.length).toBeGreaterThan(0);
    expect(proxy.bearers.every((b) => /^Bearer ya29\.test-/.test(b))).toBe(true);
    // No key material or token in any step's output.
    const logs = report.steps.map((s) => s.log).join('\n') + report.summary;
    for (const s of secretsOf(account)) expect(logs).not.toContain(s);
    // actions/cache saved the pulled objects under the key of this data.lock.json.
    const saved = fs
      .readdirSync(path.join(cacheDir, 'entries'))
      .map((dir) => JSON.parse(fs.readFileSync(path.join(cacheDir, 'entries', dir, 'meta.json'), 'utf8')));
    expect(saved.map((e: { key: string }) => e.key)).toEqual([
      expect.stringMatching(/^dataver-Linux-[0-9a-f]{64}$|^dataver-macOS-[0-9a-f]{64}$/),
    ]);
  }, 300_000);

  test('a pull request from a fork has no secrets: the summary says so and no data step runs', async () => {
    const bearersBefore = proxy.bearers.length;
    const report = await runJob({
      event: {
        name: 'pull_request',
        ref: 'refs/pull/7/merge',
        baseRef: 'main',
        headRef: 'feature',
        payload: { pull_request: { head: { repo: { fork: true } } } },
      },
      secrets: {},
      cacheDir: tempDir('dataver-gha-cache-'),
    });
    expect(report.result).toBe('success');
    const ran = report.steps.filter((s) => s.outcome !== 'skipped').map((s) => s.name);
    expect(ran).toEqual([
      'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1',
      'actions/setup-node@820762786026740c76f36085b0efc47a31fe5020',
      'npm ci',
      'Which credentials this run has',
    ]);
    expect(report.summary).toMatch(/## Data check skipped/);
    expect(report.summary).toMatch(/forks receive no\s+secrets/);
    expect(proxy.bearers.length).toBe(bearersBefore);
  }, 300_000);
});
