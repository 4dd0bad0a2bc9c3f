#!/usr/bin/env node
// GCS remote benchmark, against the local emulator it starts itself. Measures
// dataver's remote object store and the plain @google-cloud/storage client in
// the same run and prints their ratios:
//   1. 10 000 files of 4 KiB: push and pull (into a cache, as `dataver fetch` writes it) vs one
//      object per request at concurrency 16;
//   2. one large file (1 GiB; 256 MiB with --quick): push and pull vs one plain upload/download;
//   3. a no-op push of 100 000 tracked objects.
//
//   node bench/gcs.js [--quick] [--small N] [--large-mib N] [--noop N] [--json FILE]
//
// Needs `npm run build` and `node tools/gcs-emulator/ensure.js`. Never fails on a missed target.

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'packages', 'dataver', 'dist');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SMALL_COUNT = option('--small', 10_000);
const SMALL_SIZE = 4096;
const LARGE_MIB = option('--large-mib', quick ? 256 : 1024);
const NOOP_COUNT = option('--noop', 100_000);
const ANCHOR_CONCURRENCY = 16;
const DV_RUNS = 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const jsonIndex = args.indexOf('--json');
const jsonOut = jsonIndex >= 0 ? args[jsonIndex + 1] : path.join(root, 'bench', 'out', 'gcs.json');

for (const [what, file] of [
  ['dataver is not built: run `npm run build`', path.join(dist, 'odb', 'remote.js')],
  [
    'the GCS emulator is not installed: run `node tools/gcs-emulator/ensure.js`',
    path.join(root, 'tools', 'gcs-emulator', 'node_modules', 'firebase-tools', 'package.json'),
  ],
]) {
  if (!fs.existsSync(file)) {
    console.error(`bench/gcs: ${what}`);
    process.exit(2);
  }
}

const { RemoteObjectStore } = require(path.join(dist, 'odb', 'remote.js'));
const { GcsStorage } = require(path.join(dist, 'storage', 'gcs.js'));
const { ObjectCache } = require(path.join(dist, 'odb', 'cache.js'));
const { Storage } = require('@google-cloud/storage');

const now = () => performance.now();
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startEmulator() {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'tools', 'gcs-emulator', 'start.js')], {
    env: { ...process.env, PORT: String(port), GCS_EMULATOR_PARENT_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  return {
    endpoint,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

let anchorRetries = 0;
/** The plain client can hit a keep-alive socket the server just closed; retry that like dataver does. */
async function retried(fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 4 || !/ECONNRESET|socket hang up|ETIMEDOUT/.test(`${error.code} ${error.message}`))
        throw error;
      anchorRetries++;
    }
  }
}

async function mapLimit(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** Writes `count` random objects of `size` bytes into `dir`, named by hash. */
async function makeObjects(dir, count, size) {
  await fsp.mkdir(dir, { recursive: true });
  const objects = [];
  const pool = crypto.randomBytes(size * 64);
  for (let i = 0; i < count; i++) {
    const data = Buffer.from(pool.subarray((i % 64) * size, (i % 64) * size + size));
    data.writeUInt32LE(i, 0); // unique content
    const hash = sha256(data);
    objects.push({ hash, size });
    await fsp.writeFile(path.join(dir, hash), data);
  }
  return objects;
}

function store(endpoint, prefix, options = {}) {
  return new RemoteObjectStore(new GcsStorage({ url: `gs://bench/${prefix}`, endpoint, env: {} }), {
    jobs: 16,
    ...options,
  });
}

function sink(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return async (hash, tmp) => fsp.rename(tmp, path.join(dir, hash));
}

async function smallFiles(endpoint, work, client) {
  const cache = path.join(work, 'small-cache');
  const objects = await makeObjects(cache, SMALL_COUNT, SMALL_SIZE);
  const src = (h) => path.join(cache, h);

  // dataver's side takes 1–4 s, so a burst of other work on the machine skews
  // one run a lot: take the median of three (the anchor's ~15 s averages itself).
  const pushes = [];
  const pulls = [];
  let pushed;
  for (let run = 0; run < DV_RUNS; run++) {
    const t = now();
    pushed = await store(endpoint, `small-${run}`).push(objects, src);
    pushes.push(now() - t);
  }
  // Pulls run after all pushes, and their folders are removed only at the end:
  // deleting 10 000 files right before a timed pull would bill it for that I/O.
  // Into a cache, as `dataver fetch` does: packed objects are handed over as verified bytes and
  // written once, into their cache folders (the anchor, too, writes one file per object).
  for (let run = 0; run < DV_RUNS; run++) {
    const cache = new ObjectCache(path.join(work, `small-dv-${run}`), path.join(work, `small-dv-tmp-${run}`));
    await cache.ensureDirs();
    const t = now();
    const fetched = await store(endpoint, `small-${run}`).fetch(
      objects,
      (hash, tmp) => cache.acceptVerified(hash, tmp),
      {
        tmpDir: cache.downloadDir,
        acceptBytes: async (hash, bytes) => cache.acceptVerifiedBytes(hash, bytes),
      },
    );
    pulls.push(now() - t);
    if (fetched.fetched !== SMALL_COUNT)
      throw new Error(`dataver fetched ${fetched.fetched} of ${SMALL_COUNT}`);
  }
  const dvPush = median(pushes);
  const dvPull = median(pulls);

  const bucket = client.bucket('bench');
  let t = now();
  await mapLimit(objects, ANCHOR_CONCURRENCY, async (o) => {
    const data = await fsp.readFile(src(o.hash));
    await retried(() => bucket.file(`anchor-small/${o.hash}`).save(data, { resumable: false }));
  });
  const anchorPush = now() - t;
  const out = path.join(work, 'small-anchor');
  await fsp.mkdir(out, { recursive: true });
  t = now();
  await mapLimit(objects, ANCHOR_CONCURRENCY, async (o) => {
    await retried(() =>
      bucket.file(`anchor-small/${o.hash}`).download({ destination: path.join(out, o.hash) }),
    );
  });
  const anchorPull = now() - t;
  return { count: SMALL_COUNT, packs: pushed.packs, dvPush, dvPull, anchorPush, anchorPull, pushes, pulls };
}

async function largeFile(endpoint, work, client) {
  const file = path.join(work, 'large.bin');
  const size = LARGE_MIB * 1024 * 1024;
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  const chunk = crypto.randomBytes(8 * 1024 * 1024);
  for (let written = 0; written < size; written += chunk.length) {
    chunk.writeUInt32LE(written / chunk.length, 0);
    const part = chunk.subarray(0, Math.min(chunk.length, size - written));
    fs.writeSync(fd, part);
    hash.update(part);
  }
  fs.closeSync(fd);
  const object = { hash: hash.digest('hex'), size };
  const cache = path.join(work, 'large-cache');
  await fsp.mkdir(cache, { recursive: true });
  await fsp.rename(file, path.join(cache, object.hash));
  const src = path.join(cache, object.hash);

  const bucket = client.bucket('bench');
  let t = now();
  await retried(() => bucket.upload(src, { destination: 'anchor-large/file', resumable: true }));
  const anchorPush = now() - t;
  t = now();
  await retried(() =>
    bucket.file('anchor-large/file').download({ destination: path.join(work, 'large-anchor.bin') }),
  );
  const anchorPull = now() - t;
  await fsp.rm(path.join(work, 'large-anchor.bin'));

  t = now();
  await store(endpoint, 'large').push([object], () => src);
  const dvPush = now() - t;
  t = now();
  const r = await store(endpoint, 'large').fetch([object], sink(path.join(work, 'large-dv')), {
    tmpDir: path.join(work, 'tmp'),
  });
  const dvPull = now() - t;
  if (r.fetched !== 1) throw new Error('dataver did not fetch the large file');
  return { mib: LARGE_MIB, dvPush, dvPull, anchorPush, anchorPull };
}

async function noopPush(endpoint, work) {
  const cache = path.join(work, 'noop-cache');
  const objects = await makeObjects(cache, NOOP_COUNT, 64);
  const src = (h) => path.join(cache, h);
  const first = await store(endpoint, 'noop').push(objects, src);
  const t = now();
  const again = await store(endpoint, 'noop').push(objects, src);
  const ms = now() - t;
  if (again.uploaded !== 0) throw new Error(`no-op push uploaded ${again.uploaded}`);
  return { count: NOOP_COUNT, packs: first.packs, ms };
}

async function main() {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'dataver-bench-gcs-'));
  const emulator = await startEmulator();
  const client = new Storage({ apiEndpoint: emulator.endpoint, projectId: 'demo-test' });
  const results = {};
  try {
    const load = () => os.loadavg()[0].toFixed(1);
    console.log(
      `emulator ${emulator.endpoint}; dataver, the plain client and the emulator share ${os.cpus().length} cores (load ${load()})`,
    );
    const s = await smallFiles(emulator.endpoint, work, client);
    results.small = s;
    const l = await largeFile(emulator.endpoint, work, client);
    results.large = l;
    const n = await noopPush(emulator.endpoint, work);
    results.noop = n;

    const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
    const rows = [
      [
        `${s.count} × 4 KiB push (${s.packs} packs)*`,
        s.dvPush,
        `per-object ×${ANCHOR_CONCURRENCY}`,
        s.anchorPush,
        ratio(s.anchorPush, s.dvPush),
        '≥ 5× (aim 10×)',
      ],
      [
        `${s.count} × 4 KiB pull*`,
        s.dvPull,
        `per-object ×${ANCHOR_CONCURRENCY}`,
        s.anchorPull,
        ratio(s.anchorPull, s.dvPull),
        '≥ 5× (aim 10×)',
      ],
      [
        `${s.count} × 4 KiB push + pull*`,
        s.dvPush + s.dvPull,
        `per-object ×${ANCHOR_CONCURRENCY}`,
        s.anchorPush + s.anchorPull,
        ratio(s.anchorPush + s.anchorPull, s.dvPush + s.dvPull),
        '≥ 10×',
      ],
      [
        `${l.mib} MiB file push`,
        l.dvPush,
        'one resumable upload',
        l.anchorPush,
        ratio(l.anchorPush, l.dvPush),
        '≥ 0.70×',
      ],
      [
        `${l.mib} MiB file pull`,
        l.dvPull,
        'one download',
        l.anchorPull,
        ratio(l.anchorPull, l.dvPull),
        '≥ 0.70×',
      ],
    ];
    console.log(
      '\ncase                              dataver     anchor                      anchor   speed-up   target',
    );
    for (const [name, dv, anchorName, anchor, r, target] of rows) {
      console.log(
        `${name.padEnd(34)}${seconds(dv).padStart(8)}     ${anchorName.padEnd(22)}${seconds(anchor).padStart(9)}   ${r.padStart(8)}   ${target}`,
      );
    }
    console.log(
      `${`no-op push, ${n.count} objects`.padEnd(34)}${seconds(n.ms).padStart(8)}     (target < 2 s; ${n.packs} packs)`,
    );
    console.log(
      `* dataver: median of ${DV_RUNS} runs (${s.pulls.map((x) => seconds(x)).join(', ')} for pull); anchor: one run`,
    );
    console.log(`load average at the end: ${load()} (other work on the machine skews both sides)`);
    if (anchorRetries > 0)
      console.log(`(the plain client needed ${anchorRetries} retries of dropped keep-alive connections)`);
    results.anchorRetries = anchorRetries;
    await fsp.mkdir(path.dirname(jsonOut), { recursive: true });
    await fsp.writeFile(jsonOut, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await emulator.stop();
    await fsp.rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
