#!/usr/bin/env node
// `npm test`: installs the tools the tests need, builds, lints, runs jest over
// every package and builds the docs strictly. Every step runs even when an
// earlier one failed, so one run shows all that is wrong; the exit status is
// non-zero if any step failed.
//
//   npm test                          everything
//   npm test -- packages/dataver      extra arguments go to jest
//   CI=true npm test                  jest runs with --ci

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const isCi = Boolean(process.env.CI) && !['0', 'false'].includes(process.env.CI.toLowerCase());
const jestArgs = process.argv.slice(2);

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-test-'));
const jestReport = path.join(scratch, 'jest.json');

const steps = [
  { name: 'setup', command: 'bash', args: ['scripts/setup-tools.sh'] },
  { name: 'build', command: 'npm', args: ['run', '--silent', 'build'] },
  { name: 'lint', command: bin('biome'), args: ['check', '.'] },
  {
    name: 'jest',
    command: bin('jest'),
    // --json + --outputFile keeps jest's usual output and also gives us counts.
    args: [...(isCi ? ['--ci'] : []), '--json', `--outputFile=${jestReport}`, ...jestArgs],
  },
  {
    name: 'docs',
    command: 'mkdocs',
    args: ['build', '--strict', '--site-dir', path.join(scratch, 'site')],
  },
];

function runStep(step) {
  const shown = [path.basename(step.command), ...step.args].join(' ');
  console.log(`\n== ${step.name}: ${shown}`);
  const started = process.hrtime.bigint();
  const result = spawnSync(step.command, step.args, { cwd: root, stdio: 'inherit' });
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
fs.rmSync(scratch, { recursive: true, force: true });

console.log('\n== summary');
for (const r of results) {
  console.log(
    `  ${r.name.padEnd(6)} ${`${r.seconds.toFixed(1)} s`.padStart(8)}  ${r.failure ? `FAILED (${r.failure})` : 'ok'}`,
  );
}
const failedSteps = results.filter((r) => r.failure).map((r) => r.name);
console.log(failedSteps.length ? `\nfailed steps: ${failedSteps.join(', ')}` : '\nall steps passed');

if (counts) {
  const brokenSuites = counts.numRuntimeErrorTestSuites ?? 0;
  const skipped = (counts.numPendingTests ?? 0) + (counts.numTodoTests ?? 0);
  console.log(
    jestLine(
      'Test Suites',
      counts.numFailedTestSuites,
      counts.numPendingTestSuites,
      counts.numPassedTestSuites,
      counts.numTotalTestSuites,
    ),
  );
  console.log(jestLine('Tests', counts.numFailedTests, skipped, counts.numPassedTests, counts.numTotalTests));
  // Plain closing line: suites that could not run count as failures.
  const failed = counts.numFailedTests + brokenSuites;
  console.log(
    `tests: ${counts.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
}

process.exitCode = failedSteps.length ? 1 : 0;
