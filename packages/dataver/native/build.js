#!/usr/bin/env node
// Builds the optional native walker (native/walk.c → dist/native/walk.node) with the system's C
// compiler against the running Node's own headers; nothing is downloaded. Where there is no
// compiler or no headers (Windows, a slim image) it says so and exits 0: dataver then walks
// folders in JavaScript, with the same results, only slower.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const out = path.join(here, '..', 'dist', 'native', 'walk.node');
const skip = (why) => {
  fs.rmSync(out, { force: true });
  console.log(`dataver: native walker not built (${why}); folders are walked in JavaScript`);
  process.exit(0);
};

if (process.platform === 'win32') skip('not supported on Windows');
if (process.env.DATAVER_NATIVE === '0') skip('DATAVER_NATIVE=0');
const headers = [
  process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
  path.join(path.dirname(process.execPath), '..', 'include', 'node'),
].find((dir) => dir && fs.existsSync(path.join(dir, 'node_api.h')));
if (!headers) skip("Node's headers (include/node/node_api.h) are not installed");
const compiler = process.env.CC ?? 'cc';
fs.mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const args = [
  '-O2',
  '-Wall',
  '-shared',
  '-fPIC',
  '-pthread',
  '-I',
  headers,
  path.join(here, 'walk.c'),
  '-o',
  tmp,
];
// macOS resolves N-API's symbols from the node binary at load time.
if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
const r = spawnSync(compiler, args, { encoding: 'utf8' });
if (r.error || r.status !== 0) {
  fs.rmSync(tmp, { force: true });
  skip(`${compiler} failed: ${(r.error?.message ?? r.stderr).trim().split('\n')[0]}`);
}
fs.renameSync(tmp, out);
