#!/usr/bin/env node
// dataver at a million files: makes 1 000 000 files of 1–8 KiB (100 000 with --quick) in a
// temp dir, then times each command through the real CLI and reports its wall time and peak
// resident memory (from /usr/bin/time, or the kernel's rusage of the child where it is absent):
//
//   add              dataver add of the whole tree (hash + copy into the cache)
//   status (no-op)   nothing changed; with and without the file-system monitor
//   push             to a local-folder remote
//   pull             in a fresh clone (git clone + dataver pull)
//   status (pulled)  the first status in that clone, right after the pull
//   status (1 file)  one file edited; with and without the monitor
//   add (1 file)     the same edit recorded
//
// The anchors, measured in the same run on the same tree: `git status` of a git index of the
// tree (for status), `cp -r` and `tar x` of the tree (the floor of creating the files, for
// pull). Everything is removed afterwards unless --keep.
//
//   node bench/scale.js [--quick] [--files N] [--keep]
//
// Targets at 1 000 000 files (2 cores): add + push ≤ 5 min, no-op status ≤ 5 s (≤ 0.5 s with
// the monitor), peak RSS ≤ 1 GiB in every command. A missed target is reported, never an error.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { benchEnv } = require('./lib/env.js');
const { settleDisk } = require('./lib/disk.js');

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'packages', 'dataver', 'bin', 'dataver.js');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const keep = args.includes('--keep');
const filesArg = args.find((a) => a.startsWith('--files='));
const COUNT = filesArg ? Number(filesArg.slice('--files='.length)) : quick ? 100_000 : 1_000_000;
const PER_DIR = 1000;
const GiB = 1024 ** 3;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-scale-'));
const env = benchEnv(path.join(tmp, 'home'));
const timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

const rows = [];
const problems = [];

/** Runs a command; returns seconds and peak RSS (bytes) of the command and its children. */
function measure(command, commandArgs, cwd) {
  const full = timeBin ? [timeBin, ['-f', '%M', command, ...commandArgs]] : [command, commandArgs];
  const started = process.hrtime.bigint();
  const result = spawnSync(full[0], full[1], {
    cwd,
    env,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.error) throw result.error;
  let stderr = result.stderr;
  let rss;
  if (timeBin) {
    const lines = stderr.trimEnd().split('\n');
    rss = Number(lines.pop()) * 1024;
    stderr = lines.join('\n');
  }
  if (result.status !== 0) {
    throw new Error(
      `${command} ${commandArgs.join(' ')} exited ${result.status}: ${stderr.trim().slice(-800)}`,
    );
  }
  return { seconds, rss, stdout: result.stdout };
}

const dataver = (commandArgs, cwd) => measure(process.execPath, [cli, ...commandArgs], cwd);
const git = (commandArgs, cwd) => measure('git', commandArgs, cwd);

function fmt(seconds) {
  return seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(2)} s`;
}
const mib = (bytes) => (bytes === undefined ? '-' : `${(bytes / 1024 ** 2).toFixed(0)} MiB`);

function addRow(row) {
  rows.push(row);
  const anchor = row.anchor
    ? ` vs ${row.anchor} ${fmt(row.anchorSeconds)} ratio ${(row.anchorSeconds / row.seconds).toFixed(2)}x`
    : '';
  console.log(`  ${row.measure}: ${fmt(row.seconds)}, peak RSS ${mib(row.rss)}${anchor}`);
}

/** Writes COUNT files of 1–8 KiB, PER_DIR to a folder, every one distinct. */
function writeTree(dir) {
  const pool = Buffer.alloc(8192 + 64);
  for (let i = 0; i < pool.length; i++) pool[i] = (i * 2654435761) >>> 24;
  for (let i = 0; i < COUNT; i++) {
    const sub = path.join(dir, `d${String(Math.floor(i / PER_DIR)).padStart(4, '0')}`);
    if (i % PER_DIR === 0) fs.mkdirSync(sub, { recursive: true });
    const size = 1024 + ((i * 2654435761) % (7 * 1024 + 1));
    const bytes = Buffer.from(pool.subarray(0, size));
    bytes.write(`${i}:`, 0, 'latin1');
    fs.writeFileSync(path.join(sub, `f${String(i).padStart(7, '0')}.bin`), bytes);
  }
}

function fileCount(dir) {
  let n = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) n++;
  return n;
}

function main() {
  fs.mkdirSync(env.HOME);
  git(['config', '--global', 'init.defaultBranch', 'main'], tmp);
  git(['config', '--global', 'gc.auto', '0'], tmp);
  console.log(
    `scale benchmark: ${COUNT} files of 1-8 KiB, ${os.availableParallelism()} cores, node ${process.version}`,
  );

  const repo = path.join(tmp, 'repo');
  const remoteGit = path.join(tmp, 'remote.git');
  const remoteData = path.join(tmp, 'remote-data');
  fs.mkdirSync(repo);
  fs.mkdirSync(remoteData);
  git(['init', '-q', '--bare', remoteGit], tmp);
  git(['init', '-q', repo], tmp);
  git(['remote', 'add', 'origin', `file://${remoteGit}`], repo);
  dataver(['init'], repo);
  dataver(['remote', 'add', 'local', remoteData, '--default'], repo);
  let started = Date.now();
  writeTree(path.join(repo, 'data'));
  console.log(`  wrote the tree in ${fmt((Date.now() - started) / 1000)}`);

  // Anchors of status: a git index of the very same tree, in a separate git dir.
  const anchorDir = path.join(tmp, 'anchor.git');
  git(['init', '-q', '--bare', anchorDir], tmp);
  const anchorGit = ['--git-dir', anchorDir, '--work-tree', path.join(repo, 'data')];
  started = Date.now();
  git([...anchorGit, 'add', '-A', '.'], tmp);
  console.log(`  git add of the anchor index in ${fmt((Date.now() - started) / 1000)}`);
  git([...anchorGit, 'status', '--porcelain'], tmp);
  const gitStatus = median(3, () => git([...anchorGit, 'status', '--porcelain'], tmp).seconds);

  settleDisk();
  const add = dataver(['add', 'data'], repo);
  addRow({ measure: 'add', ...add });
  git(['add', '-A'], repo);
  git(['commit', '-q', '-m', 'data'], repo);

  dataver(['status'], repo);
  const noop = medianRun(3, () => dataver(['status', '--exit-code'], repo));
  addRow({ measure: 'no-op status', ...noop, anchor: 'git status', anchorSeconds: gitStatus });

  const push = dataver(['push'], repo);
  addRow({ measure: 'push', ...push });
  git(['push', '-q', 'origin', 'HEAD:main'], repo);
  addRow({
    measure: 'add + push',
    seconds: add.seconds + push.seconds,
    rss: Math.max(add.rss ?? 0, push.rss ?? 0),
  });

  // The floor of creating the files: cp -r and tar x of the same tree. Each file-creating step
  // starts on a settled disk, and nothing is deleted until all three are done: on this machine
  // kind, the discards of a big delete slow the file creation after it by up to 10x.
  const copy = path.join(tmp, 'copy');
  settleDisk();
  const cp = measure('cp', ['-r', path.join(repo, 'data'), copy], tmp);
  const tarFile = path.join(tmp, 'tree.tar');
  measure('tar', ['cf', tarFile, '-C', repo, 'data'], tmp);
  const untarred = path.join(tmp, 'untarred');
  fs.mkdirSync(untarred);
  settleDisk();
  const tar = measure('tar', ['xf', tarFile, '-C', untarred], tmp);

  const clone = path.join(tmp, 'clone');
  git(['clone', '-q', `file://${remoteGit}`, clone], tmp);
  settleDisk();
  const pull = dataver(['pull'], clone);
  addRow({ measure: 'pull (fresh clone)', ...pull, anchor: 'cp -r', anchorSeconds: cp.seconds });
  addRow({ measure: 'pull (fresh clone)', ...pull, anchor: 'tar x', anchorSeconds: tar.seconds });
  const pulled = fileCount(path.join(clone, 'data'));
  if (pulled !== COUNT) problems.push(`pull made ${pulled} files, expected ${COUNT}`);
  // The first status after a pull: the checkout recorded the listing, so it is a no-op status.
  const afterPull = dataver(['status', '--exit-code'], clone);
  addRow({
    measure: 'status after pull (first)',
    ...afterPull,
    anchor: 'git status',
    anchorSeconds: gitStatus,
  });
  for (const done of [clone, copy, untarred, tarFile]) fs.rmSync(done, { recursive: true, force: true });
  settleDisk();

  // One file changed.
  const edited = path.join(repo, 'data', 'd0000', 'f0000000.bin');
  fs.appendFileSync(edited, 'changed');
  const one = dataver(['status', '--porcelain'], repo);
  if (!one.stdout.includes('f0000000.bin'))
    problems.push(`status missed the edited file: ${one.stdout.slice(0, 200)}`);
  addRow({ measure: 'status, 1 file changed', ...one, anchor: 'git status', anchorSeconds: gitStatus });
  const addOne = dataver(['add', 'data'], repo);
  addRow({ measure: 'add, 1 file changed', ...addOne });

  monitorRows(repo, edited, gitStatus);
}

/** The same status measurements with the file-system monitor running, when it can start. */
function monitorRows(repo, edited, gitStatus) {
  try {
    dataver(['fsmonitor', 'start'], repo);
  } catch (error) {
    problems.push(`fsmonitor start: ${error.message.split('\n')[0]}`);
    return;
  }
  try {
    dataver(['status'], repo);
    const noop = medianRun(3, () => dataver(['status', '--exit-code'], repo));
    addRow({ measure: 'no-op status, monitor', ...noop, anchor: 'git status', anchorSeconds: gitStatus });
    fs.appendFileSync(edited, 'again');
    const one = dataver(['status', '--porcelain'], repo);
    if (!one.stdout.includes('f0000000.bin'))
      problems.push(`status with the monitor missed the edited file: ${one.stdout.slice(0, 200)}`);
    addRow({
      measure: 'status, 1 file changed, monitor',
      ...one,
      anchor: 'git status',
      anchorSeconds: gitStatus,
    });
  } finally {
    dataver(['fsmonitor', 'stop'], repo);
  }
}

function median(times, fn) {
  const samples = Array.from({ length: times }, fn).sort((a, b) => a - b);
  return samples[Math.floor(times / 2)];
}

function medianRun(times, fn) {
  const runs = Array.from({ length: times }, fn).sort((a, b) => a.seconds - b.seconds);
  return runs[Math.floor(times / 2)];
}

function verdicts() {
  if (COUNT < 1_000_000) return [];
  const byName = (name) => rows.find((r) => r.measure === name);
  const out = [];
  const addPush = byName('add + push');
  if (addPush) out.push(['add + push <= 5 min', addPush.seconds <= 300]);
  const noop = byName('no-op status');
  if (noop) out.push(['no-op status <= 5 s', noop.seconds <= 5]);
  const monitor = byName('no-op status, monitor');
  if (monitor) out.push(['no-op status with the monitor <= 0.5 s', monitor.seconds <= 0.5]);
  const peak = Math.max(...rows.map((r) => r.rss ?? 0));
  if (timeBin) out.push([`peak RSS <= 1 GiB in every command (${mib(peak)})`, peak <= GiB]);
  return out;
}

function printTable() {
  console.log('\n| measure | dataver | peak RSS | anchor | anchor time | ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const ratio = r.anchor ? `${(r.anchorSeconds / r.seconds).toFixed(2)}x` : '';
    console.log(
      `| ${r.measure} | ${fmt(r.seconds)} | ${mib(r.rss)} | ${r.anchor ?? ''} | ${r.anchor ? fmt(r.anchorSeconds) : ''} | ${ratio} |`,
    );
  }
  console.log('ratio = anchor time / dataver time (above 1: dataver is faster)');
  for (const [target, met] of verdicts()) console.log(`target ${target}: ${met ? 'met' : 'MISSED'}`);
  for (const p of problems) console.log(`problem: ${p}`);
  const out = path.join(root, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, 'scale.json'),
    `${JSON.stringify({ date: new Date().toISOString(), files: COUNT, cores: os.availableParallelism(), rows, problems }, null, 2)}\n`,
  );
}

function cleanUp() {
  if (keep) console.log(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}

process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});
try {
  main();
} catch (error) {
  problems.push(error.message);
  console.log(`failed: ${error.message.split('\n')[0]}`);
} finally {
  printTable();
  cleanUp();
  if (problems.length) process.exitCode = 1;
}
