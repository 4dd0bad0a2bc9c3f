#!/usr/bin/env node
// Accuracy on the course's Corrupt MNIST against the PyTorch reference, measured in the same run on
// the same files: the pipeline's model (models/corrupt-mnist, trained by `npm start`) and the course's
// 10 982-parameter CNN trained in PyTorch (Debian's python3-torch and python3-torchvision, 2 threads)
// on the pipeline's data/raw shards (torch.load, torch.cat, normalized by the train mean/std) for 5
// epochs with a fresh torchvision RandomRotation(50) per image, Adam 1e-3, batch 64. Both are
// evaluated on the pipeline's hold-out (data/holdout: the 10 000 MNIST test digits in ten shards, each
// rotated by its own angle, seeds the training never used), per shard, and on the course test file.
// Without PyTorch only our figures are printed. Never fails the test suite.
//
//   node bench/course.js [--epochs 5] [--json]          (run `npm start` first)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const epochsArg = process.argv.indexOf('--epochs');
const epochs = epochsArg > 0 ? Number(process.argv[epochsArg + 1]) : 5;
const asJson = process.argv.includes('--json');
const paths = {
  raw: path.join(root, 'data/raw'),
  holdout: path.join(root, 'data/holdout'),
  model: path.join(root, 'models/corrupt-mnist'),
};
for (const [name, p] of Object.entries(paths)) {
  if (!fs.existsSync(p)) {
    console.error(`bench/course: ${path.relative(root, p)} (${name}) is missing: run \`npm start\` first`);
    process.exit(2);
  }
}

const PYTORCH = `
import json, sys, time, torch
from torch import nn
from torchvision import transforms
raw, holdout, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(2)
torch.manual_seed(0)
load = lambda f: torch.load(f, weights_only=True)
manifest = json.load(open(f"{raw}/manifest.json"))
shards = sorted({s["file"] for s in manifest["train"]})
x = torch.cat([load(f"{raw}/{f}") for f in shards]).float().reshape(-1, 1, 28, 28)
y = torch.cat([load(f"{raw}/{f.replace('images', 'target')}") for f in shards]).long()
if x.max() > 1.5: x = x / 255.0
mean, std = x.mean(), x.std()
def block(i, o):
    return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.LeakyReLU(0.1), nn.MaxPool2d(2)]
model = nn.Sequential(*block(1, 12), *block(12, 16), *block(16, 20), nn.Flatten(), nn.Dropout(0.1),
                      nn.Linear(180, 32), nn.LeakyReLU(0.1), nn.Linear(32, 10))
rotate = transforms.RandomRotation(50)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
lossf = nn.CrossEntropyLoss()
t0 = time.perf_counter()
for epoch in range(epochs):
    model.train()
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 64):
        idx = perm[i:i + 64]
        batch = torch.stack([rotate(img) for img in x[idx]])
        opt.zero_grad()
        lossf(model((batch - mean) / std), y[idx]).backward()
        opt.step()
seconds = time.perf_counter() - t0
model.eval()
def accuracy(images, targets):
    images = images.float().reshape(-1, 1, 28, 28)
    if images.max() > 1.5: images = images / 255.0
    with torch.no_grad():
        return (model((images - mean) / std).argmax(1) == targets).float().mean().item()
hx, hy = load(f"{holdout}/test_images.pt"), load(f"{holdout}/test_target.pt")
per_shard = [accuracy(hx[s["start"]:s["start"] + s["count"]], hy[s["start"]:s["start"] + s["count"]])
             for s in json.load(open(f"{holdout}/manifest.json"))["test"]]
course = accuracy(load(f"{raw}/test_images.pt"), load(f"{raw}/test_target.pt"))
print(json.dumps({"perShard": per_shard, "course": course, "seconds": seconds,
                  "params": sum(p.numel() for p in model.parameters())}))
`;

function pytorch() {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return {
      skipped:
        'python3-torch/torchvision not installed (apt-get install -y python3-torch python3-torchvision)',
    };
  const r = spawnSync(py, ['-c', PYTORCH, paths.raw, paths.holdout, String(epochs)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return { skipped: `pytorch failed: ${r.stderr.trim().split('\n').pop()}` };
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return {
    shardMean: out.perShard.reduce((a, b) => a + b, 0) / out.perShard.length,
    shardWorst: Math.min(...out.perShard),
    course: out.course,
    seconds: out.seconds,
    params: out.params,
  };
}

function trainerEvaluate(args) {
  const bin = path.join(root, 'packages/trainer/bin/trainer.js');
  const r = spawnSync(process.execPath, [bin, 'evaluate', '--model', paths.model, ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`trainer evaluate failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

function ours() {
  const holdout = trainerEvaluate([
    '--images',
    path.join(paths.holdout, 'test_images.pt'),
    '--targets',
    path.join(paths.holdout, 'test_target.pt'),
    '--raw',
    '--manifest',
    path.join(paths.holdout, 'manifest.json'),
  ]);
  const course = trainerEvaluate([
    '--images',
    path.join(paths.raw, 'test_images.pt'),
    '--targets',
    path.join(paths.raw, 'test_target.pt'),
    '--raw',
  ]);
  const meta = JSON.parse(fs.readFileSync(path.join(paths.model, 'metadata.json'), 'utf8'));
  return {
    shardMean: holdout.shards.mean,
    shardWorst: holdout.shards.worst,
    course: course.accuracy,
    params: meta.model?.parameters?.trainable,
  };
}

const us = ours();
const ref = pytorch();
const pct = (v) => (v === undefined ? '–' : `${(100 * v).toFixed(2)} %`);
const rows = [
  ['hold-out, mean over its 10 shards', us.shardMean, ref.shardMean, 0.985],
  ['hold-out, worst shard', us.shardWorst, ref.shardWorst, 0.97],
  ['course test file (data/raw/test_images.pt)', us.course, ref.course, null],
];
if (asJson) {
  console.log(JSON.stringify({ ours: us, pytorch: ref }, null, 2));
} else {
  console.log(
    `course-recipe accuracy: trainer (models/corrupt-mnist, ${us.params} parameters) against PyTorch (${ref.params ?? '–'} parameters, ${epochs} epochs, per-image ±50°${ref.seconds ? `, trained in ${ref.seconds.toFixed(0)} s` : ''})`,
  );
  if (ref.skipped) console.log(`  PyTorch skipped: ${ref.skipped}`);
  console.log(
    `  ${'measure'.padEnd(44)} ${'trainer'.padStart(9)} ${'PyTorch'.padStart(9)}  difference  target`,
  );
  for (const [name, a, b, target] of rows) {
    const diff = b === undefined ? '–' : `${(100 * (a - b)).toFixed(2)} pts`;
    const mark = target === null ? '' : `≥ ${pct(target)} ${a >= target ? 'met' : 'MISSED'}`;
    console.log(
      `  ${name.padEnd(44)} ${pct(a).padStart(9)} ${pct(b).padStart(9)}  ${diff.padStart(10)}  ${mark}`,
    );
  }
}
