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

// One python process per call; inside it `reps` runs alternate fsync and plain saves.
const PY = `
import os, sys, time, json
t_start = time.perf_counter()
import torch
torch.set_num_threads(2)
src, dst, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
def run(sync):
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
    if sync:
        for name in ['train_images.pt', 'train_target.pt', 'test_images.pt', 'test_target.pt', 'stats.json']:
            fd = os.open(f'{dst}/{name}', os.O_RDONLY); os.fsync(fd); os.close(fd)
    return time.perf_counter() - t0
first = run(True)
total = time.perf_counter() - t_start
plain, synced = [], []
for _ in range(reps):
    synced.append(run(True)); plain.append(run(False))
print(json.dumps({'cold_total': total, 'first': first, 'plain': plain, 'sync': synced, 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
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
    // cold: a fresh process each, as a user runs it (node CLI vs python script incl. `import torch`)
    const t0 = performance.now();
    const cliRun = spawnSync(
      process.execPath,
      [
        path.join(__dirname, '../packages/corrupt-mnist/bin/corrupt-mnist.js'),
        'process',
        '--in',
        raw,
        '--out',
        path.join(tmp, 'processed'),
      ],
      { encoding: 'utf8' },
    );
    const cliSeconds = (performance.now() - t0) / 1000;
    if (cliRun.status !== 0) throw new Error(cliRun.stderr);
    const torchOut = path.join(tmp, 'torch');
    fs.mkdirSync(torchOut);
    const t1 = performance.now();
    const py = spawnSync(PYTHON, ['-c', PY, raw, torchOut, String(reps)], { encoding: 'utf8' });
    const pyWall = (performance.now() - t1) / 1000;
    const torch = py.status === 0 ? JSON.parse(py.stdout) : null;
    const torchError = py.stderr;
    const torchVersion = torch ? `${torch.torch} (${torch.threads} threads)` : null;
    // warm: medians of in-process repetitions, fsync and plain alternating
    const runs = {
      ours: [],
      oursNoSync: [],
      torch: torch ? torch.plain : [],
      torchSync: torch ? torch.sync : [],
    };
    for (let i = 0; i < reps; i++) {
      let t = performance.now();
      await cm.processRaw({ in: raw, out: path.join(tmp, 'processed') });
      runs.ours.push((performance.now() - t) / 1000);
      t = performance.now();
      await cm.processRaw({ in: raw, out: path.join(tmp, 'processed'), sync: false });
      runs.oursNoSync.push((performance.now() - t) / 1000);
    }
    const m = (xs) => (xs.length ? median(xs) : null);
    const result = {
      images: 35000,
      reps,
      generateSeconds: median(genTimes),
      processSeconds: m(runs.ours),
      processNoSyncSeconds: m(runs.oursNoSync),
      torchSeconds: m(runs.torch),
      torchFsyncSeconds: m(runs.torchSync),
      torchVersion,
      ratioDurable: runs.torchSync.length ? m(runs.torchSync) / m(runs.ours) : null,
      ratioNoSync: runs.torch.length ? m(runs.torch) / m(runs.oursNoSync) : null,
      ratioOursDurableVsTorchPlain: runs.torch.length ? m(runs.torch) / m(runs.ours) : null,
      coldCliSeconds: cliSeconds,
      coldTorchScriptSeconds: torch ? torch.cold_total : null,
      coldTorchProcessWallSeconds: pyWall,
      coldRatio: torch ? torch.cold_total / cliSeconds : null,
      runs,
    };
    if (json) console.log(JSON.stringify(result, null, 2));
    else {
      const f = (s) => `${(s * 1000).toFixed(0)} ms`;
      console.log(
        `generate (35 000 digits, seed 0):          ${f(result.generateSeconds)} (median of ${genTimes.length})`,
      );
      console.log(`process, corrupt-mnist (fsync, default):    ${f(result.processSeconds)}`);
      console.log(`process, corrupt-mnist --no-sync:           ${f(result.processNoSyncSeconds)}`);
      if (result.torchSeconds !== null) {
        console.log(`process, PyTorch ${torchVersion} + fsync: ${f(result.torchFsyncSeconds)}`);
        console.log(`process, PyTorch ${torchVersion}:         ${f(result.torchSeconds)}`);
        console.log(`ratios (PyTorch time / ours; > 1 means we are faster), medians of ${reps} runs each:`);
        console.log(`  both durable (fsync):               ${result.ratioDurable.toFixed(2)}x`);
        console.log(`  both without fsync:                 ${result.ratioNoSync.toFixed(2)}x`);
        console.log(
          `  ours durable vs PyTorch's default:  ${result.ratioOursDurableVsTorchPlain.toFixed(2)}x`,
        );
      } else {
        console.log(
          `PyTorch not measured: ${PYTHON} cannot import torch (apt-get install -y python3-torch)\n${torchError}`,
        );
      }
      if (torch) {
        console.log(
          `cold, one fresh process each: \`corrupt-mnist process\` ${f(cliSeconds)} vs python + import torch + first run ${f(torch.cold_total)}: ${result.coldRatio.toFixed(2)}x`,
        );
      }
      console.log(
        '(warm figures: in-process medians; PyTorch excludes interpreter start and `import torch`)',
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
