#!/usr/bin/env node
// Regenerates the figures of docs/corrupt-mnist.md from the built package:
//   docs/images/corrupt-mnist-samples.png  64 training digits of `generate --seed 0`, with labels
//   docs/images/corrupt-mnist-pairs.png    16 clean test digits (top rows) and the same digits corrupted
// Usage: node packages/corrupt-mnist/scripts/docs-figures.js

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { deriveSeed, Rng } = require('@dataver/foundation');
const cm = require('../dist/index.js');

async function main() {
  const root = path.resolve(__dirname, '../../..');
  const images = path.join(root, 'docs/images');
  fs.mkdirSync(images, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-docs-'));
  try {
    await cm.generate({ out: tmp, seed: 0, train: 5000, test: 100 });
    await cm.preview({
      images: path.join(tmp, 'train_images_0.pt'),
      targets: path.join(tmp, 'train_target_0.pt'),
      out: path.join(images, 'corrupt-mnist-samples.png'),
      n: 64,
      zoom: 2,
    });
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
