#!/usr/bin/env node
// Benchmark of corrupt-mnist `process` (and `generate`) against the PyTorch equivalent measured
// in the same run with Debian's /usr/bin/python3: torch.load the shards, torch.cat, scale,
// normalize with the train mean/std, torch.save. Prints times and ratios; never fails a test run.
// Usage: node bench/process.js [--reps N] [--json]   (build first: npx tsc -b packages/corrupt-mnist)

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 5;
const json = args.includes('--json');
const PYTHON = '/usr/bin/python3';

function load() {
  try {
    return require(path.join(__dirname, '../packages/corrupt-mnist/dist/index.js'));
  } catch {
    console.error(
      'bench/process.js: corrupt-mnist is not built; run `npx tsc -b packages/corrupt-mnist` first',
    );
    process.exit(2);
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const PY = `
import sys, time, json, torch
torch.set_num_threads(2)
src, dst, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    x = torch.cat([torch.load(f'{src}/train_images_{i}.pt') for i in range(6)])
    y = torch.cat([torch.load(f'{src}/train_target_{i}.pt') for i in range(6)])
    xt = torch.load(f'{src}/test_images.pt'); yt = torch.load(f'{src}/test_target.pt')
    x = x.float().div_(255).unsqueeze(1); xt = xt.float().div_(255).unsqueeze(1)
    mean, std = x.mean(), x.std()
    x = (x - mean) / std; xt = (xt - mean) / std
    torch.save(x, f'{dst}/train_images.pt'); torch.save(y, f'{dst}/train_target.pt')
    torch.save(xt, f'{dst}/test_images.pt'); torch.save(yt, f'{dst}/test_target.pt')
    json.dump({'mean': mean.item(), 'std': std.item()}, open(f'{dst}/stats.json', 'w'))
    times.append(time.perf_counter() - t0)
print(json.dumps({'times': times, 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
`;

async function main() {
  const cm = load();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-'));
  const raw = path.join(tmp, 'raw');
  try {
    const genTimes = [];
    for (let i = 0; i < Math.max(1, Math.min(reps, 3)); i++) {
      const t0 = performance.now();
      await cm.generate({ out: raw, seed: 0 });
      genTimes.push((performance.now() - t0) / 1000);
    }
    const ours = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await cm.processRaw({ in: raw, out: path.join(tmp, 'processed') });
      ours.push((performance.now() - t0) / 1000);
    }
    let torch;
    const torchOut = path.join(tmp, 'torch');
    fs.mkdirSync(torchOut);
    const r = spawnSync(PYTHON, ['-c', PY, raw, torchOut, String(reps)], { encoding: 'utf8' });
    if (r.status === 0) torch = JSON.parse(r.stdout);
    const result = {
      images: 35000,
      generateSeconds: median(genTimes),
      processSeconds: median(ours),
      processRuns: ours,
      torchSeconds: torch ? median(torch.times) : null,
      torchRuns: torch ? torch.times : null,
      torchVersion: torch ? torch.torch : null,
      speedupVsTorch: torch ? median(torch.times) / median(ours) : null,
      note: 'ours fsyncs every file before renaming it into place; torch.save does not',
    };
    if (json) console.log(JSON.stringify(result, null, 2));
    else {
      const f = (s) => `${(s * 1000).toFixed(0)} ms`;
      console.log(
        `generate (35 000 digits, seed 0): ${f(result.generateSeconds)} (median of ${genTimes.length})`,
      );
      console.log(`process  corrupt-mnist:           ${f(result.processSeconds)} (median of ${reps})`);
      if (torch) {
        console.log(
          `process  PyTorch ${torch.torch} (${torch.threads} threads): ${f(result.torchSeconds)} (median of ${reps}, excluding interpreter start)`,
        );
        console.log(`ratio    PyTorch / corrupt-mnist: ${result.speedupVsTorch.toFixed(2)}x`);
      } else {
        console.log(
          `PyTorch not measured: ${PYTHON} cannot import torch (apt-get install -y python3-torch)\n${r.stderr}`,
        );
      }
      console.log(`(${result.note})`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
