// The GitHub Actions workflows (.github/workflows/): every one passes actionlint and GitHub's own
// workflow parser (scripts/lint-workflows.mjs), and pins its actions by commit SHA with the
// version in a comment. ci.yml lints once and tests on three OSes × Node 20 and 22 without
// stopping at the first failure, uploading reports; data.yml authenticates with
// google-github-actions/auth, caches on data.lock.json and pushes only from main; release.yml
// publishes with provenance from a version tag after its checks. (data-workflow.test.ts runs
// data.yml's steps for real.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..', '..', '..');
const workflowDir = join(root, '.github', 'workflows');
const LINT = join(root, 'scripts', 'lint-workflows.mjs');
// The exact expression GitHub Actions expands; built by concatenation to keep it a plain string.
const secret = (name: string) => '$' + `{{ secrets.${name} }}`;

type Step = {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
};
type Job = {
  'runs-on': string;
  steps: Step[];
  strategy?: { 'fail-fast'?: boolean; matrix?: Record<string, unknown[]> };
  permissions?: Record<string, string>;
  env?: Record<string, string>;
};
type Workflow = {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
};

const files = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f));

function load(file: string): { text: string; workflow: Workflow } {
  const text = readFileSync(join(workflowDir, file), 'utf8');
  return { text, workflow: parse(text) as Workflow };
}

const allSteps = (w: Workflow): Step[] => Object.values(w.jobs).flatMap((job) => job.steps ?? []);
const uses = (action: string) => (step: Step) =>
  typeof step.uses === 'string' && step.uses.startsWith(`${action}@`);
const runs = (pattern: RegExp) => (step: Step) => typeof step.run === 'string' && pattern.test(step.run);
function indexOf(steps: Step[], match: (step: Step) => boolean): number {
  const index = steps.findIndex(match);
  expect(index).toBeGreaterThanOrEqual(0);
  return index;
}

interface LintResult {
  file: string;
  problems: { tool: string; line: number; column: number; message: string }[];
}
function lint(paths: string[] = []): LintResult[] {
  const r = spawnSync(process.execPath, [LINT, '--json', ...paths], { encoding: 'utf8', timeout: 120_000 });
  if (!r.stdout) throw new Error(`lint-workflows printed nothing (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as LintResult[];
}

test('ci, data and release are there', () => {
  expect(files).toEqual(expect.arrayContaining(['ci.yml', 'data.yml', 'release.yml']));
});

describe('lint', () => {
  // One run of the linters (loading the wasm build takes seconds): the workflows and a broken one.
  let results: LintResult[];
  let broken: LintResult | undefined;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'workflow-lint-'));
    try {
      const bad = join(dir, 'bad.yml');
      writeFileSync(
        bad,
        [
          'on: push',
          'jobs:',
          '  a:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          `      - run: echo $${'{{'} github.no_such_field }}`,
          '  b:',
          '    runs-on: ubuntu-latest',
          '    needs: missing',
          '    steps: 3',
          '',
        ].join('\n'),
      );
      const all = lint([...files.map((f) => join(workflowDir, f)), bad]);
      broken = all.pop();
      results = all;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('every workflow passes actionlint and GitHub’s workflow parser', () => {
    expect(results.map((r) => r.file).sort()).toEqual(files.map((f) => `.github/workflows/${f}`).sort());
    expect(results.filter((r) => r.problems.length > 0)).toEqual([]);
  });

  test('the linters catch a broken workflow (an unknown context, a missing job, steps that are not a list)', () => {
    expect(new Set(broken?.problems.map((p) => p.tool))).toEqual(new Set(['actionlint', 'workflow-parser']));
    expect(broken?.problems.map((p) => p.message).join('\n')).toMatch(/no_such_field[\s\S]*missing/);
  });
});

describe.each(files)('%s', (file) => {
  const { text, workflow } = load(file);

  test('pins every action by a full commit SHA, with its version in a comment', () => {
    const lines = text.split('\n').filter((l) => /^\s*(-\s+)?uses:/.test(l));
    for (const line of lines) {
      if (/uses:\s*\.\//.test(line)) continue; // a local action
      expect(line).toMatch(/uses:\s*[\w.-]+\/[\w./-]+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+)*\s*$/);
    }
  });

  test('grants read-only repository access at the top', () => {
    expect(workflow.permissions?.contents).toBe('read');
    expect(Object.values(workflow.permissions ?? {}).filter((v) => v === 'write').length).toBeLessThanOrEqual(
      1,
    );
  });
});

describe('ci.yml', () => {
  const { text, workflow } = load('ci.yml');

  test('lints once, on one machine', () => {
    const lintJobs = Object.values(workflow.jobs).filter((job) => job.steps.some(runs(/biome ci/)));
    expect(lintJobs).toHaveLength(1);
    expect(lintJobs[0]?.strategy).toBeUndefined();
    expect(lintJobs[0]?.steps.some(runs(/lint:workflows/))).toBe(true);
  });

  test('tests on ubuntu, macOS and Windows × Node 20 and 22, and one failure does not cancel the others', () => {
    const test = workflow.jobs.test as Job;
    expect(test.strategy?.['fail-fast']).toBe(false);
    expect(test.strategy?.matrix?.os).toEqual(['ubuntu-latest', 'macos-latest', 'windows-latest']);
    expect(test.strategy?.matrix?.node).toEqual([20, 22]);
    expect(test['runs-on']).toBe('$' + '{{ matrix.os }}');
    const node = test.steps.find(uses('actions/setup-node'));
    expect(node?.with?.['node-version']).toBe('$' + '{{ matrix.node }}');
  });

  test('installs with npm ci, checks the tools, runs npm test and uploads the reports even when it failed', () => {
    const steps = (workflow.jobs.test as Job).steps;
    const tools = indexOf(steps, runs(/node scripts\/setup-tools\.js/));
    const install = indexOf(steps, runs(/^npm ci$/));
    const npmTest = indexOf(steps, runs(/^npm test$/));
    const upload = indexOf(steps, uses('actions/upload-artifact'));
    expect(tools).toBeLessThan(npmTest);
    expect(install).toBeLessThan(npmTest);
    expect(npmTest).toBeLessThan(upload);
    expect(steps[upload]?.if).toBe('always()');
    expect(String(steps[upload]?.with?.path)).toMatch(/^test-reports\/?$/);
    expect(String(steps[upload]?.with?.name)).toContain('matrix.os');
  });

  test('uses no secrets', () => {
    expect(text).not.toMatch(/secrets\./);
  });
});

describe('data.yml', () => {
  const { text, workflow } = load('data.yml');
  const steps = allSteps(workflow);

  test('authenticates with google-github-actions/auth and the GCP_SA_KEY secret (or workload identity)', () => {
    const auth = steps.filter(uses('google-github-actions/auth'));
    expect(auth.map((s) => s.with)).toEqual([
      { credentials_json: secret('GCP_SA_KEY') },
      {
        workload_identity_provider: secret('GCP_WORKLOAD_IDENTITY_PROVIDER'),
        service_account: secret('GCP_SERVICE_ACCOUNT'),
      },
    ]);
    expect(workflow.permissions?.['id-token']).toBe('write');
  });

  test('hands the key to nothing but the auth action (no step env, never printed)', () => {
    const keyUses = text.split('\n').filter((l) => l.includes('secrets.GCP_SA_KEY'));
    // The auth input, and the job env's "is there a key" flag, which yields only true/false.
    expect(keyUses.map((l) => l.trim())).toEqual([
      `HAS_GCP_KEY: $` + `{{ secrets.GCP_SA_KEY != '' }}`,
      `credentials_json: ${secret('GCP_SA_KEY')}`,
    ]);
    for (const step of steps) {
      expect(JSON.stringify(step.env ?? {})).not.toMatch(/secrets\./);
      expect(step.run ?? '').not.toMatch(/set -x|set -o xtrace|GOOGLE_APPLICATION_CREDENTIALS/);
    }
  });

  test('restores .dataver/cache keyed on data.lock.json after authenticating and before pulling', () => {
    const cache = indexOf(steps, uses('actions/cache'));
    expect(steps[cache]?.with?.path).toBe('.dataver/cache');
    expect(String(steps[cache]?.with?.key)).toContain("hashFiles('data.lock.json')");
    expect(cache).toBeGreaterThan(indexOf(steps, uses('google-github-actions/auth')));
    expect(cache).toBeLessThan(indexOf(steps, runs(/dataver pull/)));
  });

  test('pull → status → reproduction check → metrics in the summary → push, the push on main only', () => {
    const order = [
      indexOf(steps, runs(/npx dataver pull/)),
      indexOf(steps, runs(/npx dataver status --exit-code/)),
      indexOf(
        steps,
        runs(/npx dataver repro --dry-run --json[\s\S]*git diff --exit-code -- data\.lock\.json/),
      ),
      indexOf(steps, runs(/npx dataver metrics diff --md[\s\S]*GITHUB_STEP_SUMMARY/)),
      indexOf(steps, runs(/npx dataver push/)),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const push = steps[order[4] as number];
    expect(push?.if).toMatch(/github\.event_name == 'push' && github\.ref == 'refs\/heads\/main'/);
  });

  test('says in the job summary when a run has no credentials (a pull request from a fork)', () => {
    const check = steps.find((s) => s.id === 'credentials');
    expect(check?.run).toMatch(/GITHUB_STEP_SUMMARY/);
    expect(check?.run).toMatch(
      /::notice title=Data check skipped::.*a pull request from a fork receives no secrets/,
    );
  });
});

describe('release.yml', () => {
  const { workflow } = load('release.yml');
  const steps = allSteps(workflow);

  test('runs on a version tag only', () => {
    expect(Object.keys(workflow.on)).toEqual(['push']);
    expect(workflow.on.push).toEqual({ tags: [expect.stringMatching(/^v/)] });
  });

  test('checks the tag and the tarballs, then publishes with provenance (OIDC) through changesets', () => {
    const job = Object.values(workflow.jobs)[0] as Job;
    expect(job.permissions?.['id-token']).toBe('write');
    const check = indexOf(steps, runs(/node scripts\/release-check\.js/));
    const packed = indexOf(steps, runs(/packages-install\.test\.ts/));
    const publish = indexOf(steps, runs(/changeset publish/));
    expect(check).toBeLessThan(publish);
    expect(packed).toBeLessThan(publish);
    expect(steps[publish]?.env).toEqual({
      NODE_AUTH_TOKEN: secret('NPM_TOKEN'),
      NPM_CONFIG_PROVENANCE: true,
    });
  });
});
