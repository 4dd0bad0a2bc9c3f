#!/usr/bin/env node
// Pipeline benchmarks of the dataver CLI:
//  - a no-op `dataver repro` on an up-to-date pipeline of 50 stages with 10 000
//    tracked files (target: under 1 s);
//  - `dataver diff` between two commits of a 100 000-file dataset (target: under 2 s).
// Anchors measured in the same run: node start-up (`node -e 0`, the floor of any
// CLI call) and `git diff --stat` between the same two commits.
//
//   node bench/pipeline.js [--quick] [--keep] [--only=repro,diff]
//   DATAVER_CLI=path/to/dataver.js node bench/pipeline.js
//
// Prints times and ratios (target ÷ time: above 1 means the target is met) and
// writes them as JSON to bench/out/pipeline.json. A missed target is reported,
// never an error.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { benchEnv } = require('./lib/env.js');

const root = path.resolve(__dirname, '..');
const cli = path.resolve(
  process.env.DATAVER_CLI ?? path.join(root, 'packages', 'dataver', 'bin', 'dataver.js'),
);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const keep = args.includes('--keep');
const onlyArg = args.find((a) => a.startsWith('--only='));
const sections = onlyArg ? onlyArg.slice('--only='.length).split(',') : ['repro', 'diff'];
const sizes = quick
  ? { stages: 50, rawFiles: 2_000, filesPerStage: 40, diffFiles: 20_000 }
  : { stages: 50, rawFiles: 5_000, filesPerStage: 100, diffFiles: 100_000 };
const REPEAT = 5;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-bench-pipeline-'));
const env = benchEnv(path.join(tmp, 'home'), { CI: '1' });
fs.mkdirSync(env.HOME, { recursive: true });

const rows = [];
const problems = [];

function run(cwd, cmd, cmdArgs, { check = true } = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, cmdArgs, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (check && r.status !== 0) {
    throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { seconds, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const dataver = (cwd, ...a) => run(cwd, process.execPath, [cli, ...a]);
const git = (cwd, ...a) => run(cwd, 'git', a);

/** Median of `REPEAT` timed runs of `fn` (after one warm-up). */
function median(fn) {
  fn();
  const times = [];
  for (let i = 0; i < REPEAT; i++) times.push(fn().seconds);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function writeMany(dir, count, content) {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, String(i % 100).padStart(2, '0'));
    if (i < 100) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}.txt`), content(i));
  }
}

function newRepo(name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  dataver(dir, 'init', '-q');
  return dir;
}

const nodeStart = median(() => run(tmp, process.execPath, ['-e', '0']));

// ---------------------------------------------------------------- repro no-op
if (sections.includes('repro')) {
  const dir = newRepo('repro');
  writeMany(path.join(dir, 'data', 'raw'), sizes.rawFiles, (i) => `raw ${i}\n`);
  dataver(dir, 'add', 'data/raw');
  // Stage i reads the raw data and stage i-1's output, and writes filesPerStage files.
  const script = path.join(dir, 'stage.js');
  fs.writeFileSync(
    script,
    `const fs=require('fs');const [out,n]=process.argv.slice(2);fs.mkdirSync(out,{recursive:true});` +
      `for(let i=0;i<Number(n);i++)fs.writeFileSync(out+'/p'+i+'.txt',out+' '+i+'\\n');\n`,
  );
  const lines = ['stages:'];
  for (let s = 0; s < sizes.stages; s++) {
    const deps = ['data/raw', 'stage.js', ...(s > 0 ? [`out/s${s - 1}`] : [])];
    lines.push(
      `  s${s}:`,
      `    cmd: node stage.js out/s${s} ${sizes.filesPerStage}`,
      `    deps: [${deps.join(', ')}]`,
      `    outs: [out/s${s}]`,
    );
  }
  fs.writeFileSync(path.join(dir, 'dataver.yaml'), `${lines.join('\n')}\n`);
  const first = dataver(dir, 'repro', '-q');
  const tracked = sizes.rawFiles + sizes.stages * sizes.filesPerStage;
  const noop = dataver(dir, 'repro');
  if (!/nothing to reproduce/.test(noop.stdout)) problems.push(`repro was not a no-op:\n${noop.stdout}`);
  const t = median(() => dataver(dir, 'repro', '-q'));
  const status = median(() => dataver(dir, 'status', '-q'));
  rows.push({
    name: `repro no-op, ${sizes.stages} stages, ${tracked} tracked files`,
    seconds: t,
    target: quick ? undefined : 1,
    anchors: { 'node -e 0': nodeStart, 'dataver status': status },
    notes: `first run (all stages) ${first.seconds.toFixed(1)} s`,
  });
}

// ---------------------------------------------------------------- diff of two commits
if (sections.includes('diff')) {
  const dir = newRepo('diff');
  const data = path.join(dir, 'dataset');
  writeMany(data, sizes.diffFiles, (i) => `sample ${i}\n`);
  dataver(dir, 'add', 'dataset');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'v1');
  // v2: 1% of the files modified, 100 added, 100 deleted.
  const touched = new Set();
  for (let i = 0; i < sizes.diffFiles; i += 100) {
    fs.writeFileSync(path.join(data, String(i % 100).padStart(2, '0'), `f${i}.txt`), `changed ${i}\n`);
    touched.add(i);
  }
  for (let i = 0; i < 100; i++) {
    const gone = i * 7 + 1;
    fs.rmSync(path.join(data, String(gone % 100).padStart(2, '0'), `f${gone}.txt`), { force: true });
    touched.add(gone);
    fs.writeFileSync(path.join(data, `new${i}.txt`), `new ${i}\n`);
  }
  dataver(dir, 'add', 'dataset');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'v2');
  const check = dataver(dir, 'diff', 'HEAD~1', 'HEAD', '--json');
  const files = JSON.parse(check.stdout).outputs[0].files.length;
  const expected = touched.size + 100;
  if (files !== expected) problems.push(`diff found ${files} changed files, expected ${expected}`);
  const t = median(() => dataver(dir, 'diff', 'HEAD~1', 'HEAD'));
  const gitDiff = median(() => git(dir, 'diff', '--stat', 'HEAD~1', 'HEAD'));
  rows.push({
    name: `diff of two commits, ${sizes.diffFiles} files (${files} changed)`,
    seconds: t,
    target: quick ? undefined : 2,
    anchors: { 'node -e 0': nodeStart, 'git diff --stat': gitDiff },
  });
}

// ---------------------------------------------------------------- report
console.log(`\ndataver pipeline benchmarks${quick ? ' (--quick)' : ''}, median of ${REPEAT} runs`);
for (const r of rows) {
  const target =
    r.target === undefined
      ? ''
      : `  target ${r.target} s: ${r.seconds <= r.target ? 'met' : 'MISSED'} (×${(r.target / r.seconds).toFixed(2)})`;
  console.log(`\n  ${r.name}\n    dataver ${r.seconds.toFixed(3)} s${target}`);
  for (const [name, s] of Object.entries(r.anchors)) {
    console.log(
      `    ${name.padEnd(16)} ${s.toFixed(3)} s  (dataver takes ×${(r.seconds / s).toFixed(1)} of it)`,
    );
  }
  if (r.notes) console.log(`    ${r.notes}`);
}
for (const p of problems) console.log(`\nproblem: ${p}`);
fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true });
fs.writeFileSync(
  path.join(__dirname, 'out', 'pipeline.json'),
  `${JSON.stringify({ quick, rows, problems, date: new Date().toISOString() }, null, 2)}\n`,
);
if (keep) console.log(`\nkept ${tmp}`);
else fs.rmSync(tmp, { recursive: true, force: true });
