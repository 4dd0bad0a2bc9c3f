#!/usr/bin/env node
// Core benchmarks of the dataver CLI, each against an anchor measured in the
// same run on the same bytes: hashing (md5sum, as DVC hashes; openssl sha256),
// tracking many small files and a no-op status (git), add + push + pull of
// many small files (git-lfs with a file:// remote), and start-up (node -e 0).
// Everything runs through the real CLI, built by `npm run build`.
//
//   node bench/core.js [--quick] [--only=hash,add,transfer,startup] [--keep]
//   DATAVER_CLI=path/to/dataver.js node bench/core.js    another build of the CLI
//
// Prints a table of times and ratios (anchor time ÷ dataver time: above 1 means
// dataver is faster) and writes it as JSON to bench/out/core.json. A missed
// target is reported, never an error.

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { benchEnv } = require('./lib/env.js');
const { settleDisk } = require('./lib/disk.js');

const root = path.resolve(__dirname, '..');
// DATAVER_CLI points the benchmark at another build of the CLI.
const cli = path.resolve(
  process.env.DATAVER_CLI ?? path.join(root, 'packages', 'dataver', 'bin', 'dataver.js'),
);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const keep = args.includes('--keep');
const onlyArg = args.find((a) => a.startsWith('--only='));
const sections = onlyArg
  ? onlyArg.slice('--only='.length).split(',')
  : ['hash', 'add', 'transfer', 'startup'];

const MiB = 1024 * 1024;
const sizes = quick
  ? { bigFile: 256 * MiB, manyFiles: 16, smallFiles: 10_000, transferFiles: 2_000 }
  : { bigFile: 1024 * MiB, manyFiles: 64, smallFiles: 100_000, transferFiles: 10_000 };
const MANY_FILE_SIZE = 16 * MiB;
const TRANSFER_FILE_SIZE = 4096;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-bench-'));
const home = path.join(tmp, 'home');
const env = benchEnv(home);

/** Rows of the result table. */
const rows = [];
/** Problems found while measuring (a wrong hash, a failed command). */
const problems = [];

// ---------------------------------------------------------------- helpers

/** Runs a command, throws with its stderr if it fails, returns stdout and seconds. */
function run(command, commandArgs, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, commandArgs, {
    cwd: options.cwd ?? tmp,
    env: { ...env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 256 * MiB,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const output = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-8).join('\n');
    throw new Error(
      `${[command, ...commandArgs].join(' ').slice(0, 200)} exited ${result.status}:\n${output}`,
    );
  }
  return { stdout: result.stdout, seconds };
}

const dataver = (commandArgs, options) => run(process.execPath, [cli, ...commandArgs], options);
const git = (commandArgs, options) => run('git', commandArgs, options);

/** Median wall time of `times` runs of fn (which returns seconds). */
function median(times, fn) {
  const samples = [];
  for (let i = 0; i < times; i++) samples.push(fn());
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function addRow(row) {
  rows.push(row);
  const ratio = row.anchorSeconds ? ` ratio ${(row.anchorSeconds / row.seconds).toFixed(2)}x` : '';
  console.log(
    `  ${row.measure}: ${fmt(row.seconds)}${row.anchor ? ` vs ${row.anchor} ${fmt(row.anchorSeconds)}` : ''}${ratio}`,
  );
}

function fmt(seconds) {
  if (seconds === undefined || seconds === null) return '-';
  return seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(2)} s`;
}

// Content: slices of one random pool, each with its own index stamped in
// front, so every file is distinct and both tools see identical bytes.
const pool = crypto.randomBytes(16 * MiB);

function fileBytes(index, size) {
  const offset = (index * 7919) % (pool.length - size);
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  bytes.write(`${index}:`, 0, 'latin1');
  return bytes;
}

function writeBigFile(file, size) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0, chunk = 0; written < size; chunk++) {
      const block = fileBytes(chunk, Math.min(8 * MiB, size - written));
      fs.writeSync(fd, block);
      written += block.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `count` files under dir/dNNN/, `perDir` to a folder; returns their relative paths. */
function writeSmallFiles(dir, count, sizeOf, perDir = 1000) {
  const paths = [];
  for (let i = 0; i < count; i++) {
    const sub = `d${String(Math.floor(i / perDir)).padStart(3, '0')}`;
    if (i % perDir === 0) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    const rel = path.join(sub, `f${String(i).padStart(6, '0')}.bin`);
    fs.writeFileSync(path.join(dir, rel), fileBytes(i, sizeOf(i)));
    paths.push(rel);
  }
  return paths;
}

function readThrough(file) {
  // Reads a file once so the measurements that follow start from page cache.
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(8 * MiB);
  try {
    while (fs.readSync(fd, buffer, 0, buffer.length, null) > 0);
  } finally {
    fs.closeSync(fd);
  }
}

function countFiles(dir) {
  let count = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) count++;
  return count;
}

function gitRepo(dir) {
  fs.mkdirSync(dir, { recursive: true });
  git(['init', '-q', '-b', 'main', dir]);
  return dir;
}

// --------------------------------------------------------------- sections

function benchHash() {
  const dir = path.join(tmp, 'hash');
  fs.mkdirSync(dir);
  const repeats = 3;

  const big = path.join(dir, 'big.bin');
  writeBigFile(big, sizes.bigFile);
  readThrough(big);
  const expected = run('openssl', ['dgst', '-sha256', big]).stdout.trim().split(/\s+/).pop();
  const output = dataver(['hash', 'big.bin'], { cwd: dir }).stdout;
  if (!output.includes(expected))
    problems.push(`dataver hash big.bin printed no ${expected}: ${output.trim()}`);
  const label = `hash 1 file of ${sizes.bigFile / MiB} MiB`;
  const dv = median(repeats, () => dataver(['hash', 'big.bin'], { cwd: dir }).seconds);
  const md5 = median(repeats, () => run('md5sum', ['big.bin'], { cwd: dir }).seconds);
  const ssl = median(repeats, () => run('openssl', ['dgst', '-sha256', 'big.bin'], { cwd: dir }).seconds);
  addRow({ measure: label, seconds: dv, anchor: 'md5sum', anchorSeconds: md5, target: { minRatio: 2.8 } });
  addRow({ measure: label, seconds: dv, anchor: 'openssl sha256', anchorSeconds: ssl });
  fs.rmSync(big);

  const names = [];
  for (let i = 0; i < sizes.manyFiles; i++) {
    const name = `f${String(i).padStart(3, '0')}.bin`;
    writeBigFile(path.join(dir, name), MANY_FILE_SIZE);
    names.push(name);
  }
  for (const name of names) readThrough(path.join(dir, name));
  const digests =
    run('openssl', ['dgst', '-sha256', ...names], { cwd: dir }).stdout.match(/[0-9a-f]{64}/g) ?? [];
  const manyOutput = dataver(['hash', ...names], { cwd: dir }).stdout;
  const wrong = digests.filter((d) => !manyOutput.includes(d)).length;
  if (digests.length !== names.length || wrong)
    problems.push(`dataver hash f*: ${wrong} of ${names.length} hashes missing`);
  const manyLabel = `hash ${sizes.manyFiles} files of 16 MiB`;
  const dvMany = median(repeats, () => dataver(['hash', ...names], { cwd: dir }).seconds);
  const md5Many = median(repeats, () => run('md5sum', names, { cwd: dir }).seconds);
  const sslMany = median(repeats, () => run('openssl', ['dgst', '-sha256', ...names], { cwd: dir }).seconds);
  addRow({
    measure: manyLabel,
    seconds: dvMany,
    anchor: 'md5sum',
    anchorSeconds: md5Many,
    target: { minRatio: 5 },
  });
  addRow({ measure: manyLabel, seconds: dvMany, anchor: 'openssl sha256', anchorSeconds: sslMany });
  fs.rmSync(dir, { recursive: true, force: true });
}

function benchAddAndStatus() {
  const repo = gitRepo(path.join(tmp, 'add'));
  dataver(['init'], { cwd: repo });
  const n = sizes.smallFiles;
  // 1–8 KiB, spread evenly.
  writeSmallFiles(path.join(repo, 'small'), n, (i) => 1024 + ((i * 2654435761) % (7 * 1024 + 1)));

  // Anchor for status: git tracking the very same tree in a separate git dir.
  const anchorGitDir = path.join(tmp, 'add-anchor.git');
  git(['init', '-q', '--bare', anchorGitDir]);
  const anchorGit = ['--git-dir', anchorGitDir, '--work-tree', path.join(repo, 'small')];
  const gitAdd =
    git([...anchorGit, 'add', '-A', '.']).seconds +
    git([...anchorGit, 'commit', '-q', '-m', 'small']).seconds;

  const add = dataver(['add', 'small'], { cwd: repo }).seconds;
  addRow({
    measure: `add ${n} files of 1-8 KiB`,
    seconds: add,
    anchor: 'git add + commit',
    anchorSeconds: gitAdd,
    target: { maxSeconds: quick ? undefined : 30 },
  });

  dataver(['status'], { cwd: repo });
  git([...anchorGit, 'status']);
  const status = median(5, () => dataver(['status'], { cwd: repo }).seconds);
  const gitStatus = median(5, () => git([...anchorGit, 'status']).seconds);
  addRow({
    measure: `no-op status, ${n} files`,
    seconds: status,
    anchor: 'git status',
    anchorSeconds: gitStatus,
    target: { minRatio: 1 / 1.5 },
  });

  // The same with the file-system monitor, and one file changed under it.
  dataver(['fsmonitor', 'start'], { cwd: repo });
  try {
    dataver(['status'], { cwd: repo });
    const monitored = median(5, () => dataver(['status'], { cwd: repo }).seconds);
    addRow({
      measure: `no-op status, ${n} files, fsmonitor`,
      seconds: monitored,
      anchor: 'git status',
      anchorSeconds: gitStatus,
      target: { minRatio: 1 },
    });
    // Each round edits the file again, so that every timed status has a change to read.
    const edited = path.join(repo, 'small', 'd000', 'f000000.bin');
    const changedOne = median(5, () => {
      fs.appendFileSync(edited, 'changed');
      const one = dataver(['status', '--porcelain'], { cwd: repo });
      if (!one.stdout.includes('f000000.bin')) problems.push('status with the monitor missed an edited file');
      return one.seconds;
    });
    addRow({
      measure: `status, 1 of ${n} files changed, fsmonitor`,
      seconds: changedOne,
      target: { maxSeconds: 0.15 },
    });
  } finally {
    dataver(['fsmonitor', 'stop'], { cwd: repo });
  }
  fs.rmSync(repo, { recursive: true, force: true });
}

function benchTransfer() {
  const n = sizes.transferFiles;
  const sizeOf = () => TRANSFER_FILE_SIZE;
  const label = `${n} files of 4 KiB`;

  // dataver: add + commit, push (data to a folder remote, commits to git), clone + pull.
  // Both tools get the same git round trip: a file:// bare remote for the
  // commits, and each tool's own store for the data.
  const dvRepo = gitRepo(path.join(tmp, 'dv-src'));
  const dvRemote = path.join(tmp, 'dv-remote');
  fs.mkdirSync(dvRemote);
  const dvGitRemote = path.join(tmp, 'dv-remote.git');
  git(['init', '-q', '--bare', '-b', 'main', dvGitRemote]);
  git(['remote', 'add', 'origin', `file://${dvGitRemote}`], { cwd: dvRepo });
  dataver(['init'], { cwd: dvRepo });
  dataver(['remote', 'add', 'bench', dvRemote, '--default'], { cwd: dvRepo });
  writeSmallFiles(path.join(dvRepo, 'data'), n, sizeOf, 100);
  const dvAdd = steps('dataver add + commit', [
    ['dataver add', () => settled(() => dataver(['add', 'data'], { cwd: dvRepo }))],
    ['git add', () => git(['add', '-A'], { cwd: dvRepo })],
    ['git commit', () => git(['commit', '-q', '-m', 'data'], { cwd: dvRepo })],
  ]);
  const committed = git(['ls-files'], { cwd: dvRepo }).stdout.split('\n').filter(Boolean).length;
  if (committed > 50)
    problems.push(`git committed ${committed} files in the dataver repo: data/ is not git-ignored`);
  const dvPush = steps('dataver push', [
    ['dataver push', () => dataver(['push'], { cwd: dvRepo })],
    ['git push', () => git(['push', '-q', 'origin', 'main'], { cwd: dvRepo })],
  ]);
  const dvClone = path.join(tmp, 'dv-clone');
  let dvPullOnly = 0;
  const dvPull = steps('dataver clone + pull', [
    ['git clone', () => git(['clone', '-q', `file://${dvGitRemote}`, dvClone])],
    [
      'dataver pull',
      () => {
        const result = settled(() => dataver(['pull'], { cwd: dvClone }));
        dvPullOnly = result.seconds;
        return result;
      },
    ],
  ]);
  const dvPulled = countFiles(path.join(dvClone, 'data'));
  if (dvPulled !== n) problems.push(`dataver pull: ${dvPulled} files in the clone, expected ${n}`);
  else if (
    !fileBytes(n - 1, TRANSFER_FILE_SIZE).equals(
      fs.readFileSync(path.join(dvClone, 'data', lastFile(n, 100))),
    )
  )
    problems.push('dataver pull: a pulled file differs from the original');

  // git-lfs: track + add + commit, push to a file:// bare remote, clone + lfs pull.
  git(['lfs', 'install', '--skip-repo']);
  const lfsRepo = gitRepo(path.join(tmp, 'lfs-src'));
  const lfsRemote = path.join(tmp, 'lfs-remote.git');
  git(['init', '-q', '--bare', '-b', 'main', lfsRemote]);
  git(['remote', 'add', 'origin', `file://${lfsRemote}`], { cwd: lfsRepo });
  writeSmallFiles(path.join(lfsRepo, 'data'), n, sizeOf, 100);
  const lfsAdd = steps('git-lfs add + commit', [
    ['git lfs track', () => git(['lfs', 'track', '*.bin'], { cwd: lfsRepo })],
    ['git add', () => settled(() => git(['add', '.gitattributes', 'data'], { cwd: lfsRepo }))],
    ['git commit', () => git(['commit', '-q', '-m', 'data'], { cwd: lfsRepo })],
  ]);
  const lfsTracked = git(['lfs', 'ls-files', '--name-only'], { cwd: lfsRepo })
    .stdout.split('\n')
    .filter(Boolean).length;
  if (lfsTracked !== n) problems.push(`git-lfs stores ${lfsTracked} of ${n} files as LFS objects`);
  const lfsPush = steps('git-lfs push', [
    ['git push', () => git(['push', '-q', 'origin', 'main'], { cwd: lfsRepo })],
  ]);
  const lfsClone = path.join(tmp, 'lfs-clone');
  const lfsPull = steps('git-lfs clone + pull', [
    [
      'git clone',
      () => git(['clone', '-q', `file://${lfsRemote}`, lfsClone], { env: { GIT_LFS_SKIP_SMUDGE: '1' } }),
    ],
    ['git lfs pull', () => settled(() => git(['lfs', 'pull'], { cwd: lfsClone }))],
  ]);
  const lfsPulled = fs.readFileSync(path.join(lfsClone, 'data', lastFile(n, 100)));
  if (!fileBytes(n - 1, TRANSFER_FILE_SIZE).equals(lfsPulled))
    problems.push('git lfs pull: a pulled file differs');

  // The floor of a pull: making the same files here with C tools (a copy, and an unpack of a tar).
  const floor = fileCreationFloor(path.join(dvRepo, 'data'));

  for (const [step, seconds, anchorSeconds] of [
    ['add + commit', dvAdd, lfsAdd],
    ['push', dvPush, lfsPush],
    ['clone + pull', dvPull, lfsPull],
  ])
    addRow({
      measure: `${step} ${label}`,
      seconds,
      anchor: 'git-lfs',
      anchorSeconds,
      target: { minRatio: 1 },
    });
  // Within 1.5x of the floor of creating the same files.
  for (const [anchor, anchorSeconds] of [
    ['cp -r', floor.cp],
    ['tar x', floor.tar],
  ])
    addRow({
      measure: `dataver pull ${label}`,
      seconds: dvPullOnly,
      anchor,
      anchorSeconds,
      target: { minRatio: 0.67 },
    });
  addRow({
    measure: `add + push + pull ${label}`,
    seconds: dvAdd + dvPush + dvPull,
    anchor: 'git-lfs',
    anchorSeconds: lfsAdd + lfsPush + lfsPull,
    target: { minRatio: 5 },
  });
}

/**
 * Runs a file-creating measurement once the disk has settled (see bench/lib/disk.js): the
 * write-back of the step before would otherwise slow whichever tool comes next.
 */
function settled(measure) {
  settleDisk();
  return measure();
}

/** Runs named commands in order; logs each one's time and returns the total. */
function steps(label, commands) {
  const times = commands.map(([name, command]) => [name, command().seconds]);
  console.log(`  ${label}: ${times.map(([name, seconds]) => `${name} ${fmt(seconds)}`).join(', ')}`);
  return times.reduce((sum, [, seconds]) => sum + seconds, 0);
}

/**
 * Seconds to make a copy of the tree at `dir` with `cp -r`, and to unpack a tar of it with `tar x`
 * (the tar is written first, untimed, and read once so both start from page cache).
 */
function fileCreationFloor(dir) {
  const cpDest = path.join(tmp, 'floor-cp');
  const cp = settled(() => run('cp', ['-r', dir, cpDest])).seconds;
  const tarFile = path.join(tmp, 'floor.tar');
  run('tar', ['cf', tarFile, '-C', path.dirname(dir), path.basename(dir)]);
  readThrough(tarFile);
  const tarDest = path.join(tmp, 'floor-tar');
  fs.mkdirSync(tarDest);
  const tar = settled(() => run('tar', ['xf', tarFile, '-C', tarDest])).seconds;
  console.log(`  file-creation floor: cp -r ${fmt(cp)}, tar x ${fmt(tar)}`);
  fs.rmSync(cpDest, { recursive: true, force: true });
  fs.rmSync(tarDest, { recursive: true, force: true });
  fs.rmSync(tarFile, { force: true });
  return { cp, tar };
}

function lastFile(n, perDir) {
  const i = n - 1;
  return path.join(
    `d${String(Math.floor(i / perDir)).padStart(3, '0')}`,
    `f${String(i).padStart(6, '0')}.bin`,
  );
}

function benchStartup() {
  const times = quick ? 9 : 21;
  run(process.execPath, ['-e', '0']);
  dataver(['--help']);
  const bare = median(times, () => run(process.execPath, ['-e', '0']).seconds);
  const help = median(times, () => dataver(['--help']).seconds);
  addRow({
    measure: 'start-up: dataver --help',
    seconds: help,
    anchor: 'node -e 0',
    anchorSeconds: bare,
    target: { maxSeconds: 0.15 },
  });
}

// ------------------------------------------------------------------- main

function verdict(row) {
  const t = row.target;
  if (!t) return '';
  const checks = [];
  if (t.maxSeconds !== undefined) checks.push(row.seconds < t.maxSeconds);
  if (t.minRatio !== undefined) checks.push(row.anchorSeconds / row.seconds >= t.minRatio);
  if (!checks.length) return '';
  return checks.every(Boolean) ? 'met' : 'MISSED';
}

function targetText(t) {
  if (!t) return '';
  const parts = [];
  if (t.maxSeconds !== undefined) parts.push(`< ${fmt(t.maxSeconds)}`);
  if (t.minRatio !== undefined) parts.push(`>= ${Number(t.minRatio.toFixed(2))}x`);
  return parts.join(', ');
}

function printTable() {
  const header = ['measure', 'dataver', 'anchor', 'anchor time', 'ratio', 'target', ''];
  const body = rows.map((r) => [
    r.measure,
    fmt(r.seconds),
    r.anchor ?? '',
    fmt(r.anchorSeconds),
    r.anchorSeconds ? `${(r.anchorSeconds / r.seconds).toFixed(2)}x` : '',
    targetText(r.target),
    verdict(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
  console.log('ratio = anchor time / dataver time (above 1: dataver is faster)');
}

function cleanUp() {
  if (keep) {
    console.log(`kept ${tmp}`);
    return;
  }
  // Cache objects may be read-only; make everything writable before removing.
  spawnSync('chmod', ['-R', 'u+w', tmp]);
  fs.rmSync(tmp, { recursive: true, force: true });
}

function main() {
  if (
    !fs.existsSync(cli) ||
    (!process.env.DATAVER_CLI && !fs.existsSync(path.join(root, 'packages', 'dataver', 'dist')))
  ) {
    console.error('bench/core: the dataver CLI is not built; run `npm run build` first');
    process.exitCode = 1;
    return;
  }
  fs.mkdirSync(home);
  git(['config', '--global', 'init.defaultBranch', 'main']);
  // A background `git gc --auto` (due after ~6 700 loose objects) races the
  // next git or git-lfs command and makes it fail on a missing object.
  git(['config', '--global', 'gc.auto', '0']);
  console.log(
    `core benchmarks${quick ? ' (--quick)' : ''}: ${os.availableParallelism()} cores, node ${process.version}, ` +
      `${run('git', ['--version']).stdout.trim()}, ${run('git', ['lfs', 'version']).stdout.trim().split(' ')[0]}, ` +
      `${run('openssl', ['version']).stdout.trim().split(' ').slice(0, 2).join(' ')}`,
  );
  const table = { hash: benchHash, add: benchAddAndStatus, transfer: benchTransfer, startup: benchStartup };
  for (const name of sections) {
    const section = table[name];
    if (!section) {
      problems.push(`unknown section ${name} (known: ${Object.keys(table).join(', ')})`);
      continue;
    }
    console.log(`\n[${name}]`);
    try {
      section();
    } catch (error) {
      problems.push(`${name}: ${error.message}`);
      console.log(`  failed: ${error.message.split('\n')[0]}`);
    }
  }
  printTable();
  for (const p of problems) console.log(`problem: ${p}`);
  const out = path.join(root, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, 'core.json'),
    `${JSON.stringify({ date: new Date().toISOString(), quick, cores: os.availableParallelism(), rows, problems }, null, 2)}\n`,
  );
  // A crashed section is an error of the benchmark; a missed target is not.
  if (problems.length) process.exitCode = 1;
}

process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});
try {
  main();
} finally {
  cleanUp();
}
