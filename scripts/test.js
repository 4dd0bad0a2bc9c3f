#!/usr/bin/env node
// `npm test`: checks (and on Debian as root installs) the tools the tests need, builds, lints,
// runs jest over every package and builds the docs strictly. Every step runs even when an
// earlier one failed, so one run shows all that is wrong; the exit status is non-zero if any
// step failed. Runs the same on Linux, macOS and Windows: every step starts through node or
// a located executable, never through a shell.
//
//   npm test                          everything
//   npm test -- packages/dataver      extra arguments go to jest
//   CI=true npm test                  jest runs with --ci
//   DATAVER_TEST_REPORTS=DIR npm test keeps jest.json, junit.xml and summary.md in DIR
//                                     (CI uploads them); on GitHub Actions the summary also
//                                     goes to the job summary

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { writeJunit } = require('./lib/junit.js');
const { locateCommand } = require('./lib/tools.js');

const root = path.resolve(__dirname, '..');
const isCi = Boolean(process.env.CI) && !['0', 'false'].includes(process.env.CI.toLowerCase());
const jestArgs = process.argv.slice(2);

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-test-'));
const reportDir = process.env.DATAVER_TEST_REPORTS ? path.resolve(process.env.DATAVER_TEST_REPORTS) : scratch;
fs.mkdirSync(reportDir, { recursive: true });
const jestReport = path.join(reportDir, 'jest.json');

/** npm itself: the npm-cli.js that runs this script when there is one (no .cmd shim on Windows). */
function npmCommand(args) {
  const cli = process.env.npm_execpath;
  if (cli && /\.c?js$/.test(cli)) return { command: process.execPath, args: [cli, ...args] };
  return { command: 'npm', args, shell: process.platform === 'win32' };
}

const node = (script, args) => ({ command: process.execPath, args: [script, ...args] });

/** The docs step, located when it is reached: the setup step may just have installed mkdocs. */
function docsStep() {
  const mkdocs = locateCommand('mkdocs');
  if (!mkdocs.path) return { name: 'docs', missing: `mkdocs not found; install it with: ${mkdocs.hint}` };
  return {
    name: 'docs',
    command: mkdocs.path,
    args: ['build', '--strict', '--site-dir', path.join(scratch, 'site')],
  };
}

const steps = [
  { name: 'setup', ...node(path.join(root, 'scripts', 'setup-tools.js'), []) },
  { name: 'build', ...npmCommand(['run', '--silent', 'build']) },
  { name: 'lint', ...node(require.resolve('@biomejs/biome/bin/biome'), ['check', '.']) },
  {
    name: 'jest',
    // --json + --outputFile keeps jest's usual output and also gives us counts.
    ...node(require.resolve('jest/bin/jest'), [
      ...(isCi ? ['--ci'] : []),
      '--json',
      `--outputFile=${jestReport}`,
      ...jestArgs,
    ]),
  },
  docsStep,
];

function runStep(entry) {
  const step = typeof entry === 'function' ? entry() : entry;
  if (step.missing) {
    console.log(`\n== ${step.name}: ${step.missing}`);
    return { name: step.name, seconds: 0, failure: step.missing };
  }
  const shown = [path.basename(step.command), ...step.args.map((a) => path.basename(a))].join(' ');
  console.log(`\n== ${step.name}: ${shown}`);
  const started = process.hrtime.bigint();
  const result = spawnSync(step.command, step.args, {
    cwd: root,
    stdio: 'inherit',
    shell: step.shell ?? false,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let failure = null;
  if (result.error)
    failure = result.error.code === 'ENOENT' ? `${step.command} not found` : result.error.message;
  else if (result.signal) failure = `killed by ${result.signal}`;
  else if (result.status !== 0) failure = `exit ${result.status}`;
  return { name: step.name, seconds, failure };
}

function readJestCounts() {
  try {
    return JSON.parse(fs.readFileSync(jestReport, 'utf8'));
  } catch {
    return null;
  }
}

// Same wording as jest's own summary ("Tests: 1 failed, 2 passed, 3 total").
function jestLine(label, failed, skipped, passed, total) {
  const parts = [];
  if (failed) parts.push(`${failed} failed`);
  if (skipped) parts.push(`${skipped} skipped`);
  parts.push(`${passed} passed`, `${total} total`);
  return `${`${label}:`.padEnd(13)}${parts.join(', ')}`;
}

const results = steps.map(runStep);
const counts = readJestCounts();

const lines = ['== summary'];
for (const r of results) {
  lines.push(
    `  ${r.name.padEnd(6)} ${`${r.seconds.toFixed(1)} s`.padStart(8)}  ${r.failure ? `FAILED (${r.failure})` : 'ok'}`,
  );
}
const failedSteps = results.filter((r) => r.failure).map((r) => r.name);
lines.push(failedSteps.length ? `\nfailed steps: ${failedSteps.join(', ')}` : '\nall steps passed');

if (counts) {
  const brokenSuites = counts.numRuntimeErrorTestSuites ?? 0;
  const skipped = (counts.numPendingTests ?? 0) + (counts.numTodoTests ?? 0);
  lines.push(
    jestLine(
      'Test Suites',
      counts.numFailedTestSuites,
      counts.numPendingTestSuites,
      counts.numPassedTestSuites,
      counts.numTotalTestSuites,
    ),
  );
  lines.push(jestLine('Tests', counts.numFailedTests, skipped, counts.numPassedTests, counts.numTotalTests));
  // Plain closing line: suites that could not run count as failures.
  const failed = counts.numFailedTests + brokenSuites;
  lines.push(
    `tests: ${counts.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  writeJunit(counts, path.join(reportDir, 'junit.xml'), root);
}
const summary = lines.join('\n');
console.log(`\n${summary}`);

if (process.env.DATAVER_TEST_REPORTS) {
  fs.writeFileSync(path.join(reportDir, 'summary.md'), `\`\`\`\n${summary}\n\`\`\`\n`);
}
if (process.env.GITHUB_STEP_SUMMARY) {
  const title = `### npm test on ${process.platform}, Node ${process.versions.node}`;
  fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${title}\n\n\`\`\`\n${summary}\n\`\`\`\n`);
}
fs.rmSync(scratch, { recursive: true, force: true });

process.exitCode = failedSteps.length ? 1 : 0;
