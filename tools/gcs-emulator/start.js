#!/usr/bin/env node
// Starts a local Google Cloud Storage emulator for dataver's tests and benchmarks:
// the Firebase Storage emulator, loaded directly (no Java, no rules JAR download).
// Prints `dataver-gcs-emulator listening on http://HOST:PORT` once it accepts requests.
//
//   PORT=9199 HOST=127.0.0.1 node tools/gcs-emulator/start.js
//
// What the wrapper changes, and why:
// - the security-rules runtime (a Java process) is replaced by no-ops: the JSON
//   API routes the client uses never consult rules;
// - request bodies may exceed the emulator's 130 MiB limit, so large objects can
//   be uploaded in one resumable PUT as the real service allows;
// - `/storage/v1/b/...` PATCH/POST (setMetadata, copy, rewrite) are rewritten to
//   the `/b/...` routes the emulator registers them under (else 501);
// - each emulator gets its own temporary blob folder (the emulator wipes it on
//   stop, which would otherwise break a second emulator running beside it).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const lib = path.join(__dirname, 'node_modules', 'firebase-tools', 'lib');
if (!fs.existsSync(path.join(lib, 'emulator', 'storage', 'index.js'))) {
  console.error(
    'firebase-tools is not installed for the GCS emulator: run `node tools/gcs-emulator/ensure.js`',
  );
  process.exit(2);
}

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 9199);
const projectId = process.env.GCS_EMULATOR_PROJECT || 'demo-test';

// Private blob folder: os.tmpdir() reads TMPDIR at each call.
const blobRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-gcs-emulator-'));
process.env.TMPDIR = blobRoot;
process.on('exit', () => fs.rmSync(blobRoot, { recursive: true, force: true }));

const fromFirebase = (id) => require(require.resolve(id, { paths: [lib] }));

// Lift the body size limit (the real service takes multi-GiB resumable uploads).
const bodyParser = fromFirebase('body-parser');
const originalRaw = bodyParser.raw;
Object.defineProperty(bodyParser, 'raw', {
  configurable: true,
  enumerable: true,
  value: (options = {}) => originalRaw({ ...options, limit: process.env.GCS_EMULATOR_BODY_LIMIT || '8gb' }),
});

const { StorageRulesRuntime } = require(path.join(lib, 'emulator', 'storage', 'rules', 'runtime.js'));
StorageRulesRuntime.prototype.start = async function start() {};
StorageRulesRuntime.prototype.stop = async function stop() {};

const server = require(path.join(lib, 'emulator', 'storage', 'server.js'));
const express = fromFirebase('express');
const originalCreateApp = server.createApp;
server.createApp = async (...args) => {
  const inner = await originalCreateApp(...args);
  const outer = express();
  outer.use((req, _res, next) => {
    if ((req.method === 'PATCH' || req.method === 'POST') && req.url.startsWith('/storage/v1/b/')) {
      req.url = req.url.slice('/storage/v1'.length);
    }
    next();
  });
  outer.use(inner);
  return outer;
};

const { StorageEmulator } = require(path.join(lib, 'emulator', 'storage', 'index.js'));
const { EmulatorRegistry } = require(path.join(lib, 'emulator', 'registry.js'));

async function main() {
  const emulator = new StorageEmulator({ projectId, host, port, rules: [], auto_download: false });
  await EmulatorRegistry.start(emulator);
  console.log(`dataver-gcs-emulator listening on http://${host}:${port}`);

  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    try {
      await EmulatorRegistry.stop('storage');
    } finally {
      fs.rmSync(blobRoot, { recursive: true, force: true });
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  // Exit with the process that started us (a test runner killed with -9 leaves no emulator behind).
  const parent = Number(process.env.GCS_EMULATOR_PARENT_PID || 0);
  if (parent > 0) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        stop(0);
      }
    }, 1000).unref();
  }
}

main().catch((error) => {
  console.error(`GCS emulator failed to start: ${error?.message ?? error}`);
  fs.rmSync(blobRoot, { recursive: true, force: true });
  process.exit(1);
});
