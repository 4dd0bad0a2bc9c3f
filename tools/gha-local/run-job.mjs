#!/usr/bin/env node
// Runs one job of a GitHub Actions workflow on this machine, the way a runner would: every
// `run:` step in order with bash, `if:`, `env:` and `with:` evaluated by GitHub's own expression
// library (@actions/expressions), GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY
// honoured, and the few actions our workflows use played locally (checkout from a folder,
// setup-node, google-github-actions/auth with a key, actions/cache in a folder). An action it
// does not know fails the job: nothing is silently skipped. POSIX only (bash steps).
//
//   node tools/gha-local/run-job.mjs CONFIG.json
//
// CONFIG: { workflow, job, repository (folder that actions/checkout clones), workspace,
//   runnerTemp, cacheDir, report (file for the JSON result), event: { name, ref, baseRef?,
//   headRef?, before?, payload? }, secrets?, vars?, env? (the runner machine's extra env) }.
// The report: { result, steps: [{ name, uses?, outcome, exitCode?, outputs, log, seconds }], summary }.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import { truthy } from '@actions/expressions/result';
import { parse as parseYaml } from 'yaml';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const workflow = parseYaml(fs.readFileSync(config.workflow, 'utf8'));
const job = workflow.jobs?.[config.job];
if (!job) throw new Error(`no job ${config.job} in ${config.workflow}`);

const workspace = path.resolve(config.workspace);
const runnerTemp = path.resolve(config.runnerTemp);
fs.mkdirSync(workspace, { recursive: true });
fs.mkdirSync(runnerTemp, { recursive: true });
const files = {
  output: path.join(runnerTemp, '_output'),
  env: path.join(runnerTemp, '_env'),
  path: path.join(runnerTemp, '_path'),
  summary: path.join(runnerTemp, '_step_summary'),
  event: path.join(runnerTemp, '_event.json'),
};
fs.writeFileSync(files.summary, '');
fs.writeFileSync(files.event, JSON.stringify(config.event.payload ?? {}));

const RUNNER_OS = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' }[process.platform];
const event = config.event;
const github = {
  event_name: event.name,
  event: event.payload ?? {},
  ref: event.ref,
  ref_name: event.ref.replace(/^refs\/(heads|tags)\//, ''),
  base_ref: event.baseRef ?? '',
  head_ref: event.headRef ?? '',
  sha: '',
  repository: 'local/repository',
  server_url: 'https://github.com',
  workspace,
  run_id: '1',
  run_attempt: '1',
  actor: 'local',
};

// ---- expressions -----------------------------------------------------------------------------

const exported = {}; // GITHUB_ENV and actions' exportVariable
const stepsContext = {};
let jobFailed = false;

const statusFunctions = [
  { name: 'success', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(!jobFailed) },
  { name: 'failure', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(jobFailed) },
  { name: 'always', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(true) },
  { name: 'cancelled', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(false) },
  {
    name: 'hashFiles',
    minArgs: 1,
    maxArgs: 255,
    call: (...patterns) => new data.StringData(hashFiles(patterns.map((p) => p.coerceString()))),
  },
];

/** GitHub's hashFiles: the sha256 of the sha256 of each matched file; '' when none match. */
function hashFiles(patterns) {
  const outer = createHash('sha256');
  let matched = 0;
  for (const pattern of patterns) {
    if (/[*?[\]!]/.test(pattern)) throw new Error(`hashFiles: globs are not supported locally (${pattern})`);
    const file = path.join(workspace, pattern);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) continue;
    outer.update(createHash('sha256').update(fs.readFileSync(file)).digest());
    matched++;
  }
  return matched ? outer.digest('hex') : '';
}

function contexts(env) {
  const plain = {
    github,
    env,
    secrets: config.secrets ?? {},
    vars: config.vars ?? {},
    runner: { os: RUNNER_OS, temp: runnerTemp, arch: process.arch === 'arm64' ? 'ARM64' : 'X64' },
    steps: stepsContext,
    job: { status: jobFailed ? 'failure' : 'success' },
    matrix: {},
    strategy: {},
    inputs: {},
    needs: {},
  };
  return JSON.parse(JSON.stringify(plain), data.reviver);
}

function evaluate(expression, env) {
  const lexed = new Lexer(expression).lex();
  const parsed = new Parser(
    lexed.tokens,
    ['github', 'env', 'secrets', 'vars', 'runner', 'steps', 'job', 'matrix', 'strategy', 'inputs', 'needs'],
    statusFunctions,
  ).parse();
  return new Evaluator(
    parsed,
    contexts(env),
    new Map(statusFunctions.map((f) => [f.name.toLowerCase(), f])),
  ).evaluate();
}

/** A string with `${{ … }}` parts replaced by their values (what GitHub does to with/env/run). */
function interpolate(value, env) {
  if (typeof value !== 'string') return value === undefined || value === null ? '' : String(value);
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr) => evaluate(expr.trim(), env).coerceString());
}

/** A step's `if:`: without a status function it means `success() && (…)`, as on GitHub. */
function condition(text, env) {
  if (text === undefined || text === null || text === '') return !jobFailed;
  if (typeof text === 'boolean') return text && !jobFailed;
  let expr = String(text).trim();
  const wrapped = /^\$\{\{([\s\S]*)\}\}$/.exec(expr);
  if (wrapped) expr = wrapped[1].trim();
  if (!/\b(success|failure|always|cancelled)\s*\(/.test(expr)) expr = `success() && (${expr})`;
  return truthy(evaluate(expr, env));
}

function evaluateEnv(block, env) {
  const out = {};
  for (const [key, value] of Object.entries(block ?? {})) out[key] = interpolate(value, { ...env, ...out });
  return out;
}

// ---- files the steps write ---------------------------------------------------------------------

/** `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks, as GITHUB_OUTPUT and GITHUB_ENV hold. */
function readKeyValueFile(file) {
  const result = {};
  if (!fs.existsSync(file)) return result;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const body = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i]);
      result[name] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) result[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return result;
}

// ---- actions played locally -----------------------------------------------------------------

const postSteps = [];

function git(cwd, ...args) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function copyTree(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
}

const actions = {
  'actions/checkout': () => {
    if (fs.readdirSync(workspace).length > 0)
      throw new Error(`checkout: the workspace ${workspace} is not empty`);
    git(
      path.dirname(workspace),
      'clone',
      '--quiet',
      '--no-hardlinks',
      path.resolve(config.repository),
      workspace,
    );
    github.sha = git(workspace, 'rev-parse', 'HEAD');
    return {};
  },
  'actions/setup-node': (inputs) => ({
    'node-version': `v${process.versions.node}`,
    wanted: inputs['node-version'],
  }),
  'google-github-actions/auth': (inputs) => {
    if (inputs.workload_identity_provider)
      throw new Error(
        'auth: workload identity federation needs the OIDC token of a GitHub runner; not available locally',
      );
    if (!inputs.credentials_json)
      throw new Error(
        'auth: the GitHub Action workflow must specify exactly one of "workload_identity_provider" or "credentials_json"',
      );
    const key = JSON.parse(inputs.credentials_json);
    const file = path.join(workspace, `gha-creds-${randomBytes(8).toString('hex')}.json`);
    fs.writeFileSync(file, inputs.credentials_json, { mode: 0o600 });
    Object.assign(exported, {
      CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file,
      GOOGLE_APPLICATION_CREDENTIALS: file,
      GOOGLE_GHA_CREDS_PATH: file,
    });
    if (key.project_id) {
      for (const name of [
        'CLOUDSDK_CORE_PROJECT',
        'CLOUDSDK_PROJECT',
        'GCLOUD_PROJECT',
        'GCP_PROJECT',
        'GOOGLE_CLOUD_PROJECT',
      ])
        exported[name] = key.project_id;
    }
    // Like the action's post step: the key file does not outlive the job.
    postSteps.push({
      name: 'Post auth: remove the credentials file',
      always: true,
      run: () => fs.rmSync(file, { force: true }),
    });
    return { credentials_file_path: file, project_id: key.project_id ?? '' };
  },
  'actions/cache': (inputs) => {
    const target = path.join(workspace, inputs.path);
    const entries = path.join(config.cacheDir, 'entries');
    fs.mkdirSync(entries, { recursive: true });
    const stored = fs
      .readdirSync(entries)
      .map((dir) => ({
        dir: path.join(entries, dir),
        ...JSON.parse(fs.readFileSync(path.join(entries, dir, 'meta.json'), 'utf8')),
      }))
      .sort((a, b) => b.time - a.time);
    const prefixes = String(inputs['restore-keys'] ?? '')
      .split('\n')
      .map((k) => k.trim())
      .filter(Boolean);
    const exact = stored.find((e) => e.key === inputs.key);
    const hit = exact ?? prefixes.map((p) => stored.find((e) => e.key.startsWith(p))).find(Boolean);
    if (hit) copyTree(path.join(hit.dir, 'data'), target);
    if (!exact) {
      postSteps.push({
        name: 'Post cache: save',
        always: false,
        run: () => {
          if (!fs.existsSync(target)) return;
          const dir = path.join(entries, createHash('sha256').update(inputs.key).digest('hex'));
          copyTree(target, path.join(dir, 'data'));
          fs.writeFileSync(
            path.join(dir, 'meta.json'),
            JSON.stringify({ key: inputs.key, time: Date.now() }),
          );
        },
      });
    }
    return { 'cache-hit': exact ? 'true' : 'false', 'cache-matched-key': hit?.key ?? '' };
  },
};

// ---- the job ------------------------------------------------------------------------------------

const machineEnv = { ...process.env, ...(config.env ?? {}) };
for (const key of Object.keys(machineEnv)) if (/^(GITHUB|RUNNER)_/.test(key)) delete machineEnv[key];
const defaultEnv = () => ({
  CI: 'true',
  GITHUB_ACTIONS: 'true',
  GITHUB_WORKSPACE: workspace,
  GITHUB_EVENT_NAME: github.event_name,
  GITHUB_EVENT_PATH: files.event,
  GITHUB_REF: github.ref,
  GITHUB_REF_NAME: github.ref_name,
  GITHUB_BASE_REF: github.base_ref,
  GITHUB_HEAD_REF: github.head_ref,
  GITHUB_SHA: github.sha,
  GITHUB_REPOSITORY: github.repository,
  GITHUB_OUTPUT: files.output,
  GITHUB_ENV: files.env,
  GITHUB_PATH: files.path,
  GITHUB_STEP_SUMMARY: files.summary,
  RUNNER_OS,
  RUNNER_TEMP: runnerTemp,
});
const workflowEnv = evaluateEnv(workflow.env, {});
const jobEnv = evaluateEnv(job.env, workflowEnv);
const extraPath = [];
const report = { result: 'success', steps: [], summary: '' };
const shell = job.defaults?.run?.shell ?? workflow.defaults?.run?.shell ?? 'bash';
if (shell !== 'bash') throw new Error(`only bash steps run locally (this job's shell: ${shell})`);

for (const [index, step] of (job.steps ?? []).entries()) {
  const name = step.name ?? step.uses ?? String(step.run).split('\n')[0];
  const envContext = { ...workflowEnv, ...jobEnv, ...exported };
  const stepEnv = evaluateEnv(step.env, envContext);
  const record = {
    name,
    ...(step.uses ? { uses: step.uses } : {}),
    outcome: 'skipped',
    outputs: {},
    log: '',
  };
  report.steps.push(record);
  if (!condition(step.if, { ...envContext, ...stepEnv })) {
    process.stderr.write(`== skipped: ${name}\n`);
    continue;
  }
  process.stderr.write(`== ${name}\n`);
  const started = process.hrtime.bigint();
  for (const f of [files.output, files.env, files.path]) fs.writeFileSync(f, '');
  try {
    if (step.uses) {
      const action = step.uses.replace(/@.*$/, '');
      const play = actions[action];
      if (!play) throw new Error(`${step.uses}: this action is not played locally`);
      const inputs = Object.fromEntries(
        Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolate(v, { ...envContext, ...stepEnv })]),
      );
      record.outputs = play(inputs);
      record.outcome = 'success';
    } else {
      const script = path.join(runnerTemp, `step-${index}.sh`);
      fs.writeFileSync(script, interpolate(step.run, { ...envContext, ...stepEnv }));
      const env = {
        ...machineEnv,
        ...defaultEnv(),
        ...exported,
        ...workflowEnv,
        ...jobEnv,
        ...stepEnv,
        PATH: [...extraPath, machineEnv.PATH].join(path.delimiter),
      };
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
        cwd: workspace,
        env,
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      record.log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
      process.stderr.write(record.log);
      record.exitCode = r.status ?? -1;
      record.outputs = readKeyValueFile(files.output);
      Object.assign(exported, readKeyValueFile(files.env));
      if (fs.existsSync(files.path))
        extraPath.unshift(...fs.readFileSync(files.path, 'utf8').split('\n').filter(Boolean).reverse());
      record.outcome = r.status === 0 ? 'success' : 'failure';
    }
  } catch (error) {
    record.log += `${error instanceof Error ? error.message : String(error)}\n`;
    process.stderr.write(record.log);
    record.outcome = 'failure';
  }
  record.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (step.id)
    stepsContext[step.id] = { outputs: record.outputs, outcome: record.outcome, conclusion: record.outcome };
  if (record.outcome === 'failure' && !step['continue-on-error']) jobFailed = true;
}

for (const post of postSteps.reverse()) {
  if (!post.always && jobFailed) continue;
  process.stderr.write(`== ${post.name}\n`);
  post.run();
}

report.result = jobFailed ? 'failure' : 'success';
report.summary = fs.readFileSync(files.summary, 'utf8');
fs.writeFileSync(config.report, JSON.stringify(report, null, 2));
process.exitCode = jobFailed ? 1 : 0;
