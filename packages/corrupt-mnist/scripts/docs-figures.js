#!/usr/bin/env node
// Regenerates the figures of docs/corrupt-mnist.md from the built package:
//   docs/images/corrupt-mnist-samples.png  the course recipe: 8 digits of each of the 6 training shards of
//                                          `generate --seed 0` (one row per shard, one angle per row), labels
//   docs/images/corrupt-mnist-pairs.png    the mixed recipe: 16 clean test digits (rows 1 and 3) and the
//                                          same digits corrupted (rows 2 and 4)
// Usage: node packages/corrupt-mnist/scripts/docs-figures.js

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { deriveSeed, Rng } = require('@dataver/foundation');
const { readTensor } = require('@dataver/tensor');
const cm = require('../dist/index.js');

async function main() {
  const root = path.resolve(__dirname, '../../..');
  const images = path.join(root, 'docs/images');
  fs.mkdirSync(images, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-docs-'));
  try {
    const { manifest } = await cm.generate({ out: tmp, seed: 0, dtype: 'uint8' });
    const rows = new Uint8Array(48 * 784);
    const rowLabels = new BigInt64Array(48);
    for (const [s, shard] of manifest.train.entries()) {
      const x = await readTensor(path.join(tmp, shard.file));
      const y = await readTensor(path.join(tmp, shard.file.replace('images', 'target')));
      rows.set(x.data.subarray(0, 8 * 784), s * 8 * 784);
      rowLabels.set(y.data.subarray(0, 8), s * 8);
    }
    const grid = cm.renderGrid(
      { dtype: 'uint8', shape: [48, 28, 28], data: rows },
      { dtype: 'int64', shape: [48], data: rowLabels },
      { n: 48, zoom: 2, cols: 8 },
    );
    fs.writeFileSync(path.join(images, 'corrupt-mnist-samples.png'), grid);
    console.log(`course shard angles: ${manifest.train.map((s) => s.angle.toFixed(1)).join(', ')}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const dir = cm.defaultMnistDir();
  const x = await cm.readIdx(path.join(dir, 't10k-images-idx3-ubyte'), { rank: 3, innerShape: [28, 28] });
  const y = await cm.readIdx(path.join(dir, 't10k-labels-idx1-ubyte'), { rank: 1 });
  const n = 16;
  const pairs = new Uint8Array(2 * n * 784);
  const labels = new BigInt64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const src = x.data.subarray(i * 784, (i + 1) * 784);
    // rows of 8: clean row, then its corrupted row
    const row = Math.floor(i / 8) * 16 + (i % 8);
    pairs.set(src, row * 784);
    cm.corruptDigit(src, pairs.subarray((row + 8) * 784, (row + 9) * 784), new Rng(deriveSeed(0, 2, i + 1)));
    labels[row] = BigInt(y.data[i]);
    labels[row + 8] = BigInt(y.data[i]);
  }
  const png = cm.renderGrid(
    { dtype: 'uint8', shape: [2 * n, 28, 28], data: pairs },
    { dtype: 'int64', shape: [2 * n], data: labels },
    { n: 2 * n, zoom: 2, cols: 8 },
  );
  fs.writeFileSync(path.join(images, 'corrupt-mnist-pairs.png'), png);
  console.log('wrote docs/images/corrupt-mnist-samples.png and docs/images/corrupt-mnist-pairs.png');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
