#!/usr/bin/env node
// Runs the benchmarks: every bench/*.js but this one, or those named on the
// command line, one after the other. Each script measures its anchors in the
// same run and prints its own table of ratios. Missing a target is reported,
// never an error; a script that crashes makes the exit status non-zero.
//
//   npm run bench                      all of them
//   npm run bench -- core gcs          only bench/core.js and bench/gcs.js
//   npm run bench -- --quick           smaller sizes (passed to every script)

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const benchDir = __dirname;
const self = path.basename(__filename);
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('-'));
const names = args.filter((a) => !a.startsWith('-')).map((a) => path.basename(a, '.js'));

const available = fs
  .readdirSync(benchDir)
  .filter((f) => f.endsWith('.js') && f !== self)
  .map((f) => path.basename(f, '.js'))
  .sort();

const unknown = names.filter((n) => !available.includes(n));
if (unknown.length) {
  console.error(`bench: no such benchmark: ${unknown.join(', ')} (available: ${available.join(', ')})`);
  process.exit(2);
}

const selected = names.length ? names : available;
const outcomes = [];
for (const name of selected) {
  console.log(`\n### bench/${name}.js ${flags.join(' ')}`.trimEnd());
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [path.join(benchDir, `${name}.js`), ...flags], {
    stdio: 'inherit',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const failure =
    result.error?.message ??
    (result.signal ? `killed by ${result.signal}` : result.status ? `exit ${result.status}` : null);
  outcomes.push({ name, seconds, failure });
}

console.log('\n### benchmarks run');
for (const o of outcomes) {
  console.log(
    `  ${o.name.padEnd(10)} ${`${o.seconds.toFixed(1)} s`.padStart(8)}  ${o.failure ? `FAILED (${o.failure})` : 'done'}`,
  );
}
process.exitCode = outcomes.some((o) => o.failure) ? 1 : 0;
