#!/usr/bin/env node
// Installs the GCS emulator's dependencies (firebase-tools, pinned by this
// folder's package-lock.json) if they are missing. Idempotent and quick when
// already installed; the test command runs it before jest.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = __dirname;
const wanted = require(path.join(dir, 'package.json')).dependencies['firebase-tools'];
const installed = path.join(dir, 'node_modules', 'firebase-tools', 'package.json');

function installedVersion() {
  try {
    return JSON.parse(fs.readFileSync(installed, 'utf8')).version;
  } catch {
    return undefined;
  }
}

if (installedVersion() === wanted && fs.existsSync(path.join(dir, 'node_modules', 'express'))) {
  if (!process.argv.includes('--quiet'))
    console.log(`gcs-emulator: firebase-tools ${wanted} already installed`);
  process.exit(0);
}
console.log(`gcs-emulator: installing firebase-tools ${wanted} (npm ci --ignore-scripts) in ${dir}`);
// Windows' npm is npm.cmd, which Node starts only through a shell.
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
execFileSync(npm, ['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
  cwd: dir,
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
if (installedVersion() !== wanted) {
  console.error('gcs-emulator: installation did not produce the expected firebase-tools version');
  process.exit(1);
}
