// The GitHub Actions workflows (.github/workflows/) parse and have their steps: ci.yml lints,
// builds and tests without secrets; data.yml restores .dataver/cache keyed on data.lock.json,
// pulls, checks that the pipeline reproduces and writes a job summary, and hands the GCS key
// (see docs/gcs.md, "GitHub Actions") only to the environment of the steps that need it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..', '..', '..');
// The exact expression GitHub Actions expands; built by concatenation to keep it a plain string.
const SECRET_EXPRESSION = '$' + '{{ secrets.GCP_SA_KEY }}';

type Step = {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
};
type Job = { 'runs-on': string; steps: Step[] };
type Workflow = {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
};

function loadWorkflow(file: string): { text: string; workflow: Workflow } {
  const text = readFileSync(join(root, '.github', 'workflows', file), 'utf8');
  return { text, workflow: parse(text) as Workflow };
}

function allSteps(workflow: Workflow): Step[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps);
}

/** Every string in the document, with the key path that leads to it. */
function stringsWithPaths(value: unknown, at: string[] = []): Array<{ at: string[]; value: string }> {
  if (typeof value === 'string') return [{ at, value }];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringsWithPaths(item, [...at, String(i)]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => stringsWithPaths(item, [...at, key]));
  }
  return [];
}

const stepIndex = (steps: Step[], match: (step: Step) => boolean): number => {
  const index = steps.findIndex(match);
  expect(index).toBeGreaterThanOrEqual(0);
  return index;
};
const runs = (pattern: RegExp) => (step: Step) => typeof step.run === 'string' && pattern.test(step.run);
const uses = (action: string) => (step: Step) =>
  typeof step.uses === 'string' && step.uses.startsWith(`${action}@`);

describe.each(['ci.yml', 'data.yml'])('%s', (file) => {
  const { workflow } = loadWorkflow(file);

  test('has a name, triggers and jobs with steps on ubuntu', () => {
    expect(typeof workflow.name).toBe('string');
    expect(workflow.on).toEqual(expect.objectContaining({ push: expect.anything(), pull_request: null }));
    expect(Object.keys(workflow.jobs).length).toBeGreaterThan(0);
    for (const job of Object.values(workflow.jobs)) {
      expect(job['runs-on']).toMatch(/^ubuntu-/);
      expect(Array.isArray(job.steps)).toBe(true);
    }
  });

  test('grants read-only repository access', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  test('checks out, then sets up Node 20 with the npm cache, then installs with npm ci', () => {
    for (const job of Object.values(workflow.jobs)) {
      const checkout = stepIndex(job.steps, uses('actions/checkout'));
      const node = stepIndex(job.steps, uses('actions/setup-node'));
      const install = stepIndex(job.steps, runs(/^npm ci\b/));
      expect(checkout).toBeLessThan(node);
      expect(node).toBeLessThan(install);
      expect(job.steps[node].with).toEqual(expect.objectContaining({ 'node-version': 20, cache: 'npm' }));
    }
  });
});

describe('ci.yml', () => {
  const { workflow } = loadWorkflow('ci.yml');
  const steps = allSteps(workflow);

  test('lints, installs the apt packages, builds and tests', () => {
    expect(steps.some(runs(/biome (ci|check)/))).toBe(true);
    expect(steps.some(runs(/scripts\/setup-tools\.sh/))).toBe(true);
    // npm ci builds through `prepare`; npm test builds, lints, runs jest and the docs build.
    expect(steps.some(runs(/^npm test\b/))).toBe(true);
  });

  test('uses no secrets', () => {
    expect(loadWorkflow('ci.yml').text).not.toMatch(/secrets\./);
  });
});

describe('data.yml', () => {
  const { text, workflow } = loadWorkflow('data.yml');
  const steps = allSteps(workflow);

  test('references the secret only as the expression in env.DATAVER_GCS_CREDENTIALS', () => {
    const references = stringsWithPaths(workflow).filter((s) => s.value.includes('secrets.'));
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) {
      expect(reference.value).toBe(SECRET_EXPRESSION);
      expect(reference.at.slice(-2)).toEqual(['env', 'DATAVER_GCS_CREDENTIALS']);
    }
    // The raw text agrees with the parsed document (nothing hidden in anchors or comments).
    expect(text.match(/secrets\./g)?.length).toBe(references.length);
  });

  test('never prints or writes the key', () => {
    for (const step of steps) {
      if (typeof step.run !== 'string') continue;
      for (const line of step.run.split('\n')) {
        if (!line.includes('DATAVER_GCS_CREDENTIALS')) continue;
        expect(line).not.toMatch(/\b(echo|printf|cat|tee)\b[^|;&]*DATAVER_GCS_CREDENTIALS/);
        expect(line).not.toMatch(/GITHUB_(ENV|OUTPUT)|>/);
      }
      expect(step.run).not.toMatch(/set -x|set -o xtrace/);
    }
  });

  test('the steps that talk to GCS get the key', () => {
    for (const step of steps.filter(runs(/dataver (pull|repro|status)/))) {
      expect(step.env?.DATAVER_GCS_CREDENTIALS).toBe(SECRET_EXPRESSION);
    }
  });

  test('caches .dataver/cache keyed on data.lock.json, before pulling', () => {
    const cache = stepIndex(steps, uses('actions/cache'));
    const options = steps[cache].with ?? {};
    expect(options.path).toBe('.dataver/cache');
    expect(String(options.key)).toContain("hashFiles('data.lock.json')");
    expect(cache).toBeGreaterThan(stepIndex(steps, runs(/^npm ci\b/)));
    expect(cache).toBeLessThan(stepIndex(steps, runs(/dataver pull/)));
  });

  test('pulls, then checks that the pipeline reproduces, then writes a job summary', () => {
    const pull = stepIndex(steps, runs(/npx dataver pull/));
    const repro = stepIndex(steps, runs(/npx dataver repro --dry-run/));
    const status = stepIndex(steps, runs(/npx dataver status --exit-code/));
    const summary = stepIndex(steps, runs(/npx dataver metrics show --md[\s\S]*GITHUB_STEP_SUMMARY/));
    expect(pull).toBeLessThan(repro);
    expect(pull).toBeLessThan(status);
    expect(Math.max(repro, status)).toBeLessThan(summary);
    expect(steps[summary].if).toMatch(/always\(\)/);
  });
});
