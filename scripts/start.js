#!/usr/bin/env node
// `npm start`: runs this repository's pipeline (dataver.yaml: generate → process →
// train → evaluate) with `dataver repro`, pushes every output to the local-folder
// remote, verifies it there, and says whether the committed lock was reproduced.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dataver = path.join(root, 'packages/dataver/bin/dataver.js');

function step(title, args, { allowFail = false } = {}) {
  console.log(`\n▶ ${title}: dataver ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [dataver, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 && !allowFail) {
    console.error(`\n✖ ${title} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  return r.status;
}

function git(...args) {
  return spawnSync('git', args, { cwd: root, encoding: 'utf8' });
}

const started = Date.now();
step('reproduce the pipeline', ['repro']);
step('push every output to the local remote', ['push']);
step('verify the copies on the remote', ['verify', '--remote', 'local']);
step('check the workspace against the lock', ['status', '--exit-code']);

const changed = git('diff', '--quiet', '--', 'data.lock.json');
console.log('');
if (changed.status === 0) {
  console.log('✔ data.lock.json is unchanged: every output matches the committed lock, bit for bit.');
} else if (changed.status === 1) {
  console.log('• data.lock.json changed (see `git diff data.lock.json` and `npx dataver diff`).');
} else {
  console.log('• not a git checkout: no committed lock to compare with.');
}
console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Metrics: npx dataver metrics show`);
