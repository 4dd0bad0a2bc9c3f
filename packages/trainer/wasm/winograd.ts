// Winograd convolution kernels of the trainer, in AssemblyScript (exported through kernels.ts). This file
// is kept apart from kernels.ts because its small helpers carry AssemblyScript's @inline decorator
// (measured 15-20 % faster than leaving inlining to the optimizer), which the TypeScript linter does not
// parse, so the linter skips this file (biome.json).

function f32At(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

// Winograd F(2×2, 3×3): a stride-1 3×3 convolution computed on 4×4 input tiles that each give a 2×2
// output tile, with 16 products per (input, output) channel pair instead of 36. Each tile is turned
// into V = Bᵀ d B, the filter into U = G g Gᵀ; the 16 positions of a tile are then 16 matrix products
// M[ξ] = V[ξ] · U[ξ] over the channels, and the output tile is Aᵀ M A. Tiles are processed in chunks
// so that V and M stay in cache; a tile never spans two images, so an image's output does not depend
// on the rest of its batch.

/** U[ξ][ci][co] = (G g Gᵀ)[ξ] of the HWIO 3×3 filter w, ξ = 4·row + column of the 4×4 tile. */
export function winogradFilter(w: usize, inC: i32, outC: i32, u: usize): void {
  const pairs = inC * outC;
  for (let ci = 0; ci < inC; ci++) {
    for (let co = 0; co < outC; co++) {
      const at = ci * outC + co;
      const g00 = load<f32>(f32At(w, at));
      const g01 = load<f32>(f32At(w, pairs + at));
      const g02 = load<f32>(f32At(w, 2 * pairs + at));
      const g10 = load<f32>(f32At(w, 3 * pairs + at));
      const g11 = load<f32>(f32At(w, 4 * pairs + at));
      const g12 = load<f32>(f32At(w, 5 * pairs + at));
      const g20 = load<f32>(f32At(w, 6 * pairs + at));
      const g21 = load<f32>(f32At(w, 7 * pairs + at));
      const g22 = load<f32>(f32At(w, 8 * pairs + at));
      // t = G g (4×3), one column at a time.
      const t10 = <f32>0.5 * (g00 + g10 + g20);
      const t11 = <f32>0.5 * (g01 + g11 + g21);
      const t12 = <f32>0.5 * (g02 + g12 + g22);
      const t20 = <f32>0.5 * (g00 - g10 + g20);
      const t21 = <f32>0.5 * (g01 - g11 + g21);
      const t22 = <f32>0.5 * (g02 - g12 + g22);
      filterRow(u, pairs, at, 0, g00, g01, g02);
      filterRow(u, pairs, at, 1, t10, t11, t12);
      filterRow(u, pairs, at, 2, t20, t21, t22);
      filterRow(u, pairs, at, 3, g20, g21, g22);
    }
  }
}

/** Row r of U = t Gᵀ from row r of t. */
function filterRow(u: usize, pairs: i32, at: i32, r: i32, t0: f32, t1: f32, t2: f32): void {
  const base = 4 * r * pairs + at;
  store<f32>(f32At(u, base), t0);
  store<f32>(f32At(u, base + pairs), <f32>0.5 * (t0 + t1 + t2));
  store<f32>(f32At(u, base + 2 * pairs), <f32>0.5 * (t0 - t1 + t2));
  store<f32>(f32At(u, base + 3 * pairs), t2);
}

/**
 * out [batch, outH, outW, outC] = x [batch, inH, inW, inC] ⊛ the filter whose transform is u
 * (winogradFilter), stride 1, padded by padTop / padLeft (and as far as outH / outW need below and to
 * the right). v and m are scratch for `chunk` tiles (a multiple of 4): 16·chunk·inC and 16·chunk·outC
 * floats.
 */
export function winogradConv3x3(
  x: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  padTop: i32,
  padLeft: i32,
  u: usize,
  v: usize,
  m: usize,
  chunk: i32,
  out: usize,
): void {
  const tilesH = (outH + 1) >> 1;
  const tilesW = (outW + 1) >> 1;
  const perImage = tilesH * tilesW;
  const tiles = batch * perImage;
  const vPlane = chunk * inC;
  const mPlane = chunk * outC;
  const uPlane = inC * outC;
  for (let first = 0; first < tiles; first += chunk) {
    const count = min(chunk, tiles - first);
    for (let t = 0; t < count; t++) {
      const g = first + t;
      const n = g / perImage;
      const rest = g - n * perImage;
      const th = rest / tilesW;
      winogradInputTile(
        x,
        n,
        inH,
        inW,
        inC,
        2 * th - padTop,
        2 * (rest - th * tilesW) - padLeft,
        f32At(v, t * inC),
        vPlane,
      );
    }
    const rows = (count + 3) & ~3;
    for (let xi = 0; xi < 16; xi++)
      winogradProduct(f32At(v, xi * vPlane), f32At(u, xi * uPlane), f32At(m, xi * mPlane), rows, inC, outC);
    for (let t = 0; t < count; t++) {
      const g = first + t;
      const n = g / perImage;
      const rest = g - n * perImage;
      const th = rest / tilesW;
      winogradOutputTile(m, mPlane, t * outC, out, n, outH, outW, outC, 2 * th, 2 * (rest - th * tilesW));
    }
  }
}

/**
 * V[ξ][t][ci] = (Bᵀ d B)[ξ] of the 4×4 input tile at (r0, c0) of image n, every channel: four at a
 * time, then the channels past the last group of four one at a time (in lane 0).
 */
function winogradInputTile(
  x: usize,
  n: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  r0: i32,
  c0: i32,
  v: usize,
  plane: i32,
): void {
  const ok0 = c0 >= 0 && c0 < inW;
  const ok1 = c0 + 1 >= 0 && c0 + 1 < inW;
  const ok2 = c0 + 2 >= 0 && c0 + 2 < inW;
  const ok3 = c0 + 3 >= 0 && c0 + 3 < inW;
  const step = (<usize>inC) << 2;
  const rowStep = (<usize>(inW * inC)) << 2;
  const planeBytes = (<usize>plane) << 2;
  // Address of (r0, c0, channel 0); rows or columns outside the image are never read through it.
  const origin = x + <usize>((((n * inH + r0) * inW + c0) * inC) << 2);
  for (let ci = 0; ci < inC; ) {
    const one = ci + 4 > inC;
    let p = origin + ((<usize>ci) << 2);
    // e = d B for each of the four rows: (d0 − d2, d1 + d2, d2 − d1, d1 − d3) over its columns.
    let row = r0;
    let a = tileLoad(p, row, inH, ok0, one);
    let b = tileLoad(p + step, row, inH, ok1, one);
    let c = tileLoad(p + 2 * step, row, inH, ok2, one);
    let d = tileLoad(p + 3 * step, row, inH, ok3, one);
    const e00 = f32x4.sub(a, c);
    const e01 = f32x4.add(b, c);
    const e02 = f32x4.sub(c, b);
    const e03 = f32x4.sub(b, d);
    p += rowStep;
    row++;
    a = tileLoad(p, row, inH, ok0, one);
    b = tileLoad(p + step, row, inH, ok1, one);
    c = tileLoad(p + 2 * step, row, inH, ok2, one);
    d = tileLoad(p + 3 * step, row, inH, ok3, one);
    const e10 = f32x4.sub(a, c);
    const e11 = f32x4.add(b, c);
    const e12 = f32x4.sub(c, b);
    const e13 = f32x4.sub(b, d);
    p += rowStep;
    row++;
    a = tileLoad(p, row, inH, ok0, one);
    b = tileLoad(p + step, row, inH, ok1, one);
    c = tileLoad(p + 2 * step, row, inH, ok2, one);
    d = tileLoad(p + 3 * step, row, inH, ok3, one);
    const e20 = f32x4.sub(a, c);
    const e21 = f32x4.add(b, c);
    const e22 = f32x4.sub(c, b);
    const e23 = f32x4.sub(b, d);
    p += rowStep;
    row++;
    a = tileLoad(p, row, inH, ok0, one);
    b = tileLoad(p + step, row, inH, ok1, one);
    c = tileLoad(p + 2 * step, row, inH, ok2, one);
    d = tileLoad(p + 3 * step, row, inH, ok3, one);
    const e30 = f32x4.sub(a, c);
    const e31 = f32x4.add(b, c);
    const e32 = f32x4.sub(c, b);
    const e33 = f32x4.sub(b, d);
    // V = Bᵀ e, one column of e at a time: column j gives ξ = j, 4 + j, 8 + j, 12 + j.
    const q = v + ((<usize>ci) << 2);
    inputColumn(q, planeBytes, 0, one, e00, e10, e20, e30);
    inputColumn(q, planeBytes, 1, one, e01, e11, e21, e31);
    inputColumn(q, planeBytes, 2, one, e02, e12, e22, e32);
    inputColumn(q, planeBytes, 3, one, e03, e13, e23, e33);
    ci += one ? 1 : 4;
  }
}

/** Four channels at p (or one, in lane 0), zero where the row or the column is outside the image. */
@inline
function tileLoad(p: usize, row: i32, inH: i32, columnOk: bool, one: bool): v128 {
  if (!columnOk || row < 0 || row >= inH) return f32x4.splat(0);
  return one ? v128.load32_zero(p) : v128.load(p);
}

/** Stores (Bᵀ e)[·][j] for column j of e, whose rows are e0..e3. */
@inline
function inputColumn(
  q: usize,
  planeBytes: usize,
  j: i32,
  one: bool,
  e0: v128,
  e1: v128,
  e2: v128,
  e3: v128,
): void {
  tileStore(q + planeBytes * <usize>j, one, f32x4.sub(e0, e2));
  tileStore(q + planeBytes * <usize>(4 + j), one, f32x4.add(e1, e2));
  tileStore(q + planeBytes * <usize>(8 + j), one, f32x4.sub(e2, e1));
  tileStore(q + planeBytes * <usize>(12 + j), one, f32x4.sub(e1, e3));
}

@inline
function tileStore(q: usize, one: bool, value: v128): void {
  if (one) v128.store32_lane(q, value, 0);
  else v128.store(q, value);
}

/**
 * m [rows × outC] = v [rows × inC] · u [inC × outC], rows a multiple of 4: four rows × eight columns
 * per pass (one splat of v serves two vectors of u), then four columns, then single ones.
 */
function winogradProduct(v: usize, u: usize, m: usize, rows: i32, inC: i32, outC: i32): void {
  const vRow = (<usize>inC) << 2;
  const mRow = (<usize>outC) << 2;
  const zero = f32x4.splat(0);
  for (let i = 0; i < rows; i += 4) {
    const a0 = v + <usize>i * vRow;
    const a1 = a0 + vRow;
    const a2 = a1 + vRow;
    const a3 = a2 + vRow;
    const o0 = m + <usize>i * mRow;
    let j = 0;
    for (; j + 8 <= outC; j += 8) {
      let c00 = zero;
      let c01 = zero;
      let c10 = zero;
      let c11 = zero;
      let c20 = zero;
      let c21 = zero;
      let c30 = zero;
      let c31 = zero;
      let p = f32At(u, j);
      for (let k = 0; k < inC; k++) {
        const b0 = v128.load(p);
        const b1 = v128.load(p, 16);
        const off = (<usize>k) << 2;
        const x0 = f32x4.splat(load<f32>(a0 + off));
        const x1 = f32x4.splat(load<f32>(a1 + off));
        const x2 = f32x4.splat(load<f32>(a2 + off));
        const x3 = f32x4.splat(load<f32>(a3 + off));
        c00 = f32x4.add(c00, f32x4.mul(x0, b0));
        c01 = f32x4.add(c01, f32x4.mul(x0, b1));
        c10 = f32x4.add(c10, f32x4.mul(x1, b0));
        c11 = f32x4.add(c11, f32x4.mul(x1, b1));
        c20 = f32x4.add(c20, f32x4.mul(x2, b0));
        c21 = f32x4.add(c21, f32x4.mul(x2, b1));
        c30 = f32x4.add(c30, f32x4.mul(x3, b0));
        c31 = f32x4.add(c31, f32x4.mul(x3, b1));
        p += mRow;
      }
      const q = o0 + ((<usize>j) << 2);
      v128.store(q, c00);
      v128.store(q, c01, 16);
      v128.store(q + mRow, c10);
      v128.store(q + mRow, c11, 16);
      v128.store(q + 2 * mRow, c20);
      v128.store(q + 2 * mRow, c21, 16);
      v128.store(q + 3 * mRow, c30);
      v128.store(q + 3 * mRow, c31, 16);
    }
    for (; j + 4 <= outC; j += 4) {
      let c0 = zero;
      let c1 = zero;
      let c2 = zero;
      let c3 = zero;
      let p = f32At(u, j);
      for (let k = 0; k < inC; k++) {
        const b = v128.load(p);
        const off = (<usize>k) << 2;
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a0 + off)), b));
        c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(a1 + off)), b));
        c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(load<f32>(a2 + off)), b));
        c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(load<f32>(a3 + off)), b));
        p += mRow;
      }
      const q = o0 + ((<usize>j) << 2);
      v128.store(q, c0);
      v128.store(q + mRow, c1);
      v128.store(q + 2 * mRow, c2);
      v128.store(q + 3 * mRow, c3);
    }
    for (; j < outC; j++) {
      for (let r = 0; r < 4; r++) {
        const a = a0 + <usize>r * vRow;
        let s: f32 = 0;
        for (let k = 0; k < inC; k++)
          s += load<f32>(a + ((<usize>k) << 2)) * load<f32>(f32At(u, k * outC + j));
        store<f32>(o0 + <usize>r * mRow + ((<usize>j) << 2), s);
      }
    }
  }
}

/**
 * The 2×2 output tile (Aᵀ M A) of tile t (its channel-0 offset `at` in each M[ξ]) into out at
 * (oh, ow) of image n, skipping the positions past the output's edge.
 */
function winogradOutputTile(
  m: usize,
  plane: i32,
  at: i32,
  out: usize,
  n: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  oh: i32,
  ow: i32,
): void {
  const planeBytes = (<usize>plane) << 2;
  const right = ow + 1 < outW;
  const below = oh + 1 < outH;
  const step = (<usize>outC) << 2;
  const rowStep = (<usize>(outW * outC)) << 2;
  const o = out + <usize>((((n * outH + oh) * outW + ow) * outC) << 2);
  for (let co = 0; co < outC; ) {
    const one = co + 4 > outC;
    const q = m + ((<usize>(at + co)) << 2);
    // p = M A for each row of M: (m0 + m1 + m2, m1 − m2 − m3).
    let a = tileGet(q, one);
    let b = tileGet(q + planeBytes, one);
    let c = tileGet(q + 2 * planeBytes, one);
    let d = tileGet(q + 3 * planeBytes, one);
    const p00 = f32x4.add(f32x4.add(a, b), c);
    const p01 = f32x4.sub(f32x4.sub(b, c), d);
    a = tileGet(q + 4 * planeBytes, one);
    b = tileGet(q + 5 * planeBytes, one);
    c = tileGet(q + 6 * planeBytes, one);
    d = tileGet(q + 7 * planeBytes, one);
    const p10 = f32x4.add(f32x4.add(a, b), c);
    const p11 = f32x4.sub(f32x4.sub(b, c), d);
    a = tileGet(q + 8 * planeBytes, one);
    b = tileGet(q + 9 * planeBytes, one);
    c = tileGet(q + 10 * planeBytes, one);
    d = tileGet(q + 11 * planeBytes, one);
    const p20 = f32x4.add(f32x4.add(a, b), c);
    const p21 = f32x4.sub(f32x4.sub(b, c), d);
    a = tileGet(q + 12 * planeBytes, one);
    b = tileGet(q + 13 * planeBytes, one);
    c = tileGet(q + 14 * planeBytes, one);
    d = tileGet(q + 15 * planeBytes, one);
    const p30 = f32x4.add(f32x4.add(a, b), c);
    const p31 = f32x4.sub(f32x4.sub(b, c), d);
    // y = Aᵀ p: (p0 + p1 + p2, p1 − p2 − p3) down each column.
    const y = o + ((<usize>co) << 2);
    tileStore(y, one, f32x4.add(f32x4.add(p00, p10), p20));
    if (right) tileStore(y + step, one, f32x4.add(f32x4.add(p01, p11), p21));
    if (below) {
      tileStore(y + rowStep, one, f32x4.sub(f32x4.sub(p10, p20), p30));
      if (right) tileStore(y + rowStep + step, one, f32x4.sub(f32x4.sub(p11, p21), p31));
    }
    co += one ? 1 : 4;
  }
}

@inline
function tileGet(q: usize, one: bool): v128 {
  return one ? v128.load32_zero(q) : v128.load(q);
}
