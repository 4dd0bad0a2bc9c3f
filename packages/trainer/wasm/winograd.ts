// Winograd convolution kernels of the trainer, in AssemblyScript (exported through kernels.ts). This file
// is kept apart from kernels.ts because its small helpers carry AssemblyScript's @inline decorator
// (measured 15-20 % faster than leaving inlining to the optimizer), which the TypeScript linter does not
// parse, so the linter skips this file (biome.json).

import { f32At } from './memory';

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
    // Rows past `count` (up to the next multiple of four) hold stale tiles: their products are never read.
    const rows = (count + 3) & ~3;
    const vRow = (<usize>inC) << 2;
    for (let xi = 0; xi < 16; xi++)
      winogradProduct(
        f32At(v, xi * vPlane),
        vRow,
        4,
        f32At(u, xi * uPlane),
        f32At(m, xi * mPlane),
        rows,
        inC,
        outC,
        false,
      );
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
 * winogradConv3x3 for one input channel and outC a multiple of 4 (the first layer of the models), with
 * the whole tile in registers: the 4×4 input tile is four row vectors, transformed with two shuffles per
 * row, and each group of four output channels goes from the 16 products to its 2×2 output tile without
 * touching memory between. Every operation is the one winogradConv3x3 does, in the same order (its
 * products start from 0), so the two agree bit for bit.
 */
export function winogradConv3x3One(
  x: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  padTop: i32,
  padLeft: i32,
  u: usize,
  out: usize,
): void {
  const tilesH = (outH + 1) >> 1;
  const tilesW = (outW + 1) >> 1;
  const step = (<usize>outC) << 2;
  const rowStep = (<usize>(outW * outC)) << 2;
  const zero = f32x4.splat(0);
  for (let n = 0; n < batch; n++) {
    const image = x + ((<usize>(n * inH * inW)) << 2);
    for (let th = 0; th < tilesH; th++) {
      const r0 = 2 * th - padTop;
      const oh = 2 * th;
      const below = oh + 1 < outH;
      for (let tw = 0; tw < tilesW; tw++) {
        const c0 = 2 * tw - padLeft;
        const ow = 2 * tw;
        const right = ow + 1 < outW;
        // e_i = d_i B for each row of the tile, then V = Bᵀ e: rows (e0 − e2, e1 + e2, e2 − e1, e1 − e3).
        const e0 = rowTimesB(tileRow(image, inH, inW, r0, c0));
        const e1 = rowTimesB(tileRow(image, inH, inW, r0 + 1, c0));
        const e2 = rowTimesB(tileRow(image, inH, inW, r0 + 2, c0));
        const e3 = rowTimesB(tileRow(image, inH, inW, r0 + 3, c0));
        const w0 = f32x4.sub(e0, e2);
        const w1 = f32x4.add(e1, e2);
        const w2 = f32x4.sub(e2, e1);
        const w3 = f32x4.sub(e1, e3);
        const v0 = v128.shuffle<f32>(w0, w0, 0, 0, 0, 0);
        const v1 = v128.shuffle<f32>(w0, w0, 1, 1, 1, 1);
        const v2 = v128.shuffle<f32>(w0, w0, 2, 2, 2, 2);
        const v3 = v128.shuffle<f32>(w0, w0, 3, 3, 3, 3);
        const v4 = v128.shuffle<f32>(w1, w1, 0, 0, 0, 0);
        const v5 = v128.shuffle<f32>(w1, w1, 1, 1, 1, 1);
        const v6 = v128.shuffle<f32>(w1, w1, 2, 2, 2, 2);
        const v7 = v128.shuffle<f32>(w1, w1, 3, 3, 3, 3);
        const v8 = v128.shuffle<f32>(w2, w2, 0, 0, 0, 0);
        const v9 = v128.shuffle<f32>(w2, w2, 1, 1, 1, 1);
        const v10 = v128.shuffle<f32>(w2, w2, 2, 2, 2, 2);
        const v11 = v128.shuffle<f32>(w2, w2, 3, 3, 3, 3);
        const v12 = v128.shuffle<f32>(w3, w3, 0, 0, 0, 0);
        const v13 = v128.shuffle<f32>(w3, w3, 1, 1, 1, 1);
        const v14 = v128.shuffle<f32>(w3, w3, 2, 2, 2, 2);
        const v15 = v128.shuffle<f32>(w3, w3, 3, 3, 3, 3);
        let o = out + <usize>((((n * outH + oh) * outW + ow) * outC) << 2);
        for (let co = 0; co < outC; co += 4) {
          const q = u + ((<usize>co) << 2);
          // p_i = M_i A for each row i of M = V ⊙ U: (m0 + m1 + m2, m1 − m2 − m3).
          let a = product(zero, v0, q);
          let b = product(zero, v1, q + step);
          let c = product(zero, v2, q + 2 * step);
          let d = product(zero, v3, q + 3 * step);
          const p00 = aFirst(a, b, c);
          const p01 = aSecond(b, c, d);
          a = product(zero, v4, q + 4 * step);
          b = product(zero, v5, q + 5 * step);
          c = product(zero, v6, q + 6 * step);
          d = product(zero, v7, q + 7 * step);
          const p10 = aFirst(a, b, c);
          const p11 = aSecond(b, c, d);
          a = product(zero, v8, q + 8 * step);
          b = product(zero, v9, q + 9 * step);
          c = product(zero, v10, q + 10 * step);
          d = product(zero, v11, q + 11 * step);
          const p20 = aFirst(a, b, c);
          const p21 = aSecond(b, c, d);
          a = product(zero, v12, q + 12 * step);
          b = product(zero, v13, q + 13 * step);
          c = product(zero, v14, q + 14 * step);
          d = product(zero, v15, q + 15 * step);
          const p30 = aFirst(a, b, c);
          const p31 = aSecond(b, c, d);
          // y = Aᵀ p down each column.
          v128.store(o, aFirst(p00, p10, p20));
          if (right) v128.store(o + step, aFirst(p01, p11, p21));
          if (below) {
            v128.store(o + rowStep, aSecond(p10, p20, p30));
            if (right) v128.store(o + rowStep + step, aSecond(p11, p21, p31));
          }
          o += 16;
        }
      }
    }
  }
}

/** zero + v · U[ξ][co..co + 3] at q: the product as winogradProduct makes it at depth 1. */
@inline
function product(zero: v128, v: v128, q: usize): v128 {
  return f32x4.add(zero, f32x4.mul(v, v128.load(q)));
}

/** Pixels c0..c0 + 3 of row r of a one-channel image, zero outside it. */
@inline
function tileRow(image: usize, inH: i32, inW: i32, r: i32, c0: i32): v128 {
  if (r < 0 || r >= inH) return f32x4.splat(0);
  const p = image + ((<usize>(r * inW + c0)) << 2);
  if (c0 >= 0 && c0 + 4 <= inW) return v128.load(p);
  let v = f32x4.splat(0);
  if (c0 >= 0 && c0 < inW) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (c0 + 1 >= 0 && c0 + 1 < inW) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (c0 + 2 >= 0 && c0 + 2 < inW) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  if (c0 + 3 >= 0 && c0 + 3 < inW) v = f32x4.replace_lane(v, 3, load<f32>(p, 12));
  return v;
}

/** d B of one tile row d = (d0, d1, d2, d3): (d0 − d2, d1 + d2, d2 − d1, d1 − d3), as a + (±1)·b. */
@inline
function rowTimesB(d: v128): v128 {
  const a = v128.shuffle<f32>(d, d, 0, 1, 2, 1);
  const b = v128.shuffle<f32>(d, d, 2, 2, 1, 3);
  return f32x4.add(a, f32x4.mul(b, f32x4(-1, 1, -1, -1)));
}

/**
 * dw [3, 3, inC, outC] = the filter gradient of the stride-1 3×3 convolution of x [batch, inH, inW, inC]
 * that gave dy [batch, outH, outW, outC] (padded by padTop / padLeft), by Winograd F(3×3, 2×2): with
 * the forward's tiles, dw = Gᵀ (Σ_tiles (Bᵀ d B) ⊙ (A dy Aᵀ)) G, the sum at each of the 16 tile
 * positions being a product over the tiles, input channels × output channels. v, e and m are scratch:
 * 16·chunk·inC, 16·chunk·outC and 16·inC·outC floats.
 */
export function winogradFilterGrad(
  x: usize,
  dy: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  padTop: i32,
  padLeft: i32,
  v: usize,
  e: usize,
  m: usize,
  chunk: i32,
  dw: usize,
): void {
  const tilesH = (outH + 1) >> 1;
  const tilesW = (outW + 1) >> 1;
  const perImage = tilesH * tilesW;
  const tiles = batch * perImage;
  const vPlane = chunk * inC;
  const ePlane = chunk * outC;
  const mPlane = inC * outC;
  memory.fill(m, 0, (<usize>(16 * mPlane)) << 2);
  const vK = (<usize>inC) << 2;
  for (let first = 0; first < tiles; first += chunk) {
    const count = min(chunk, tiles - first);
    for (let t = 0; t < count; t++) {
      const g = first + t;
      const n = g / perImage;
      const rest = g - n * perImage;
      const th = rest / tilesW;
      const tw = rest - th * tilesW;
      winogradInputTile(x, n, inH, inW, inC, 2 * th - padTop, 2 * tw - padLeft, f32At(v, t * inC), vPlane);
      winogradGradientTile(dy, n, outH, outW, outC, 2 * th, 2 * tw, f32At(e, t * outC), ePlane);
    }
    for (let xi = 0; xi < 16; xi++)
      winogradProduct(
        f32At(v, xi * vPlane),
        4,
        vK,
        f32At(e, xi * ePlane),
        f32At(m, xi * mPlane),
        inC,
        count,
        outC,
        true,
      );
  }
  winogradFilterOutput(m, mPlane, dw);
}

/**
 * E[ξ][t][co] = (A y Aᵀ)[ξ] of the 2×2 tile y of dy at (oh, ow) of image n, zero past the edges: rows
 * (y0, y0 + y1, y0 − y1, −y1) of columns transformed the same way.
 */
function winogradGradientTile(
  dy: usize,
  n: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  oh: i32,
  ow: i32,
  e: usize,
  plane: i32,
): void {
  const right = ow + 1 < outW;
  const below = oh + 1 < outH;
  const step = (<usize>outC) << 2;
  const rowStep = (<usize>(outW * outC)) << 2;
  const planeBytes = (<usize>plane) << 2;
  const origin = dy + <usize>((((n * outH + oh) * outW + ow) * outC) << 2);
  const zero = f32x4.splat(0);
  for (let co = 0; co < outC; ) {
    const one = co + 4 > outC;
    const p = origin + ((<usize>co) << 2);
    const y00 = tileGet(p, one);
    const y01 = right ? tileGet(p + step, one) : zero;
    const y10 = below ? tileGet(p + rowStep, one) : zero;
    const y11 = below && right ? tileGet(p + rowStep + step, one) : zero;
    const q = e + ((<usize>co) << 2);
    gradientRow(q, planeBytes, 0, one, y00, y01);
    gradientRow(q, planeBytes, 1, one, f32x4.add(y00, y10), f32x4.add(y01, y11));
    gradientRow(q, planeBytes, 2, one, f32x4.sub(y00, y10), f32x4.sub(y01, y11));
    gradientRow(q, planeBytes, 3, one, f32x4.neg(y10), f32x4.neg(y11));
    co += one ? 1 : 4;
  }
}

/** Row i of (A y) Aᵀ from row i of A y, (a, b): (a, a + b, a − b, −b) at ξ = 4i .. 4i + 3. */
@inline
function gradientRow(q: usize, planeBytes: usize, i: i32, one: bool, a: v128, b: v128): void {
  const r = q + planeBytes * <usize>(4 * i);
  tileStore(r, one, a);
  tileStore(r + planeBytes, one, f32x4.add(a, b));
  tileStore(r + 2 * planeBytes, one, f32x4.sub(a, b));
  tileStore(r + 3 * planeBytes, one, f32x4.neg(b));
}

/**
 * dw[kh][kw][·] = (Gᵀ M G)[kh][kw] for every channel pair (four at a time, then one at a time): G's
 * columns turn a row (m0, m1, m2, m3) into (m0 + ½(m1 + m2), ½(m1 − m2), ½(m1 + m2) + m3), first
 * along each row of M, then down each column of the result.
 */
function winogradFilterOutput(m: usize, pairs: i32, dw: usize): void {
  const planeBytes = (<usize>pairs) << 2;
  for (let at = 0; at < pairs; ) {
    const one = at + 4 > pairs;
    const q = m + ((<usize>at) << 2);
    const o = dw + ((<usize>at) << 2);
    let a = tileGet(q, one);
    let b = tileGet(q + planeBytes, one);
    let c = tileGet(q + 2 * planeBytes, one);
    let d = tileGet(q + 3 * planeBytes, one);
    const r00 = gFirst(a, b, c);
    const r01 = gMiddle(b, c);
    const r02 = gLast(b, c, d);
    a = tileGet(q + 4 * planeBytes, one);
    b = tileGet(q + 5 * planeBytes, one);
    c = tileGet(q + 6 * planeBytes, one);
    d = tileGet(q + 7 * planeBytes, one);
    const r10 = gFirst(a, b, c);
    const r11 = gMiddle(b, c);
    const r12 = gLast(b, c, d);
    a = tileGet(q + 8 * planeBytes, one);
    b = tileGet(q + 9 * planeBytes, one);
    c = tileGet(q + 10 * planeBytes, one);
    d = tileGet(q + 11 * planeBytes, one);
    const r20 = gFirst(a, b, c);
    const r21 = gMiddle(b, c);
    const r22 = gLast(b, c, d);
    a = tileGet(q + 12 * planeBytes, one);
    b = tileGet(q + 13 * planeBytes, one);
    c = tileGet(q + 14 * planeBytes, one);
    d = tileGet(q + 15 * planeBytes, one);
    const r30 = gFirst(a, b, c);
    const r31 = gMiddle(b, c);
    const r32 = gLast(b, c, d);
    filterOutputColumn(o, planeBytes, 0, one, r00, r10, r20, r30);
    filterOutputColumn(o, planeBytes, 1, one, r01, r11, r21, r31);
    filterOutputColumn(o, planeBytes, 2, one, r02, r12, r22, r32);
    at += one ? 1 : 4;
  }
}

/** Column j of r = M G, its rows r0..r3, into dw[0][j], dw[1][j], dw[2][j]. */
@inline
function filterOutputColumn(
  o: usize,
  planeBytes: usize,
  j: i32,
  one: bool,
  r0: v128,
  r1: v128,
  r2: v128,
  r3: v128,
): void {
  tileStore(o + planeBytes * <usize>j, one, gFirst(r0, r1, r2));
  tileStore(o + planeBytes * <usize>(3 + j), one, gMiddle(r1, r2));
  tileStore(o + planeBytes * <usize>(6 + j), one, gLast(r1, r2, r3));
}

@inline
function gFirst(a: v128, b: v128, c: v128): v128 {
  return f32x4.add(a, f32x4.mul(f32x4.splat(0.5), f32x4.add(b, c)));
}

@inline
function gMiddle(b: v128, c: v128): v128 {
  return f32x4.mul(f32x4.splat(0.5), f32x4.sub(b, c));
}

@inline
function gLast(b: v128, c: v128, d: v128): v128 {
  return f32x4.add(f32x4.mul(f32x4.splat(0.5), f32x4.add(b, c)), d);
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
 * m [rows × cols] = a [rows × depth] · b [depth × cols] (or m += it, with `accumulate`). Row i of a
 * starts at a + i·aRow bytes and its k-th element lies aK bytes after its (k−1)-th, so a can be read
 * as stored (the forward product: tiles × input channels) or transposed (the filter gradient: input
 * channels × tiles). b and m are dense, row-major. Four rows × eight columns per pass (one splat of a
 * serves two vectors of b), then four columns, then single ones; rows past the last four one at a time.
 */
function winogradProduct(
  a: usize,
  aRow: usize,
  aK: usize,
  b: usize,
  m: usize,
  rows: i32,
  depth: i32,
  cols: i32,
  accumulate: bool,
): void {
  const bRow = (<usize>cols) << 2;
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const a0 = a + <usize>i * aRow;
    const a1 = a0 + aRow;
    const a2 = a1 + aRow;
    const a3 = a2 + aRow;
    const o0 = m + <usize>i * bRow;
    let j = 0;
    for (; j + 8 <= cols; j += 8) {
      let c00 = zero;
      let c01 = zero;
      let c10 = zero;
      let c11 = zero;
      let c20 = zero;
      let c21 = zero;
      let c30 = zero;
      let c31 = zero;
      let p = f32At(b, j);
      let off: usize = 0;
      for (let k = 0; k < depth; k++) {
        const b0 = v128.load(p);
        const b1 = v128.load(p, 16);
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
        p += bRow;
        off += aK;
      }
      const q = o0 + ((<usize>j) << 2);
      productStore(q, accumulate, c00);
      productStore(q + 16, accumulate, c01);
      productStore(q + bRow, accumulate, c10);
      productStore(q + bRow + 16, accumulate, c11);
      productStore(q + 2 * bRow, accumulate, c20);
      productStore(q + 2 * bRow + 16, accumulate, c21);
      productStore(q + 3 * bRow, accumulate, c30);
      productStore(q + 3 * bRow + 16, accumulate, c31);
    }
    for (; j + 4 <= cols; j += 4) {
      let c0 = zero;
      let c1 = zero;
      let c2 = zero;
      let c3 = zero;
      let p = f32At(b, j);
      let off: usize = 0;
      for (let k = 0; k < depth; k++) {
        const v = v128.load(p);
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a0 + off)), v));
        c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(a1 + off)), v));
        c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(load<f32>(a2 + off)), v));
        c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(load<f32>(a3 + off)), v));
        p += bRow;
        off += aK;
      }
      const q = o0 + ((<usize>j) << 2);
      productStore(q, accumulate, c0);
      productStore(q + bRow, accumulate, c1);
      productStore(q + 2 * bRow, accumulate, c2);
      productStore(q + 3 * bRow, accumulate, c3);
    }
    for (; j < cols; j++) {
      for (let r = 0; r < 4; r++) productSingle(a0 + <usize>r * aRow, aK, b, o0 + <usize>r * bRow, depth, cols, j, accumulate);
    }
  }
  for (; i < rows; i++) {
    const a0 = a + <usize>i * aRow;
    const o0 = m + <usize>i * bRow;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      let c = zero;
      let p = f32At(b, j);
      let off: usize = 0;
      for (let k = 0; k < depth; k++) {
        c = f32x4.add(c, f32x4.mul(f32x4.splat(load<f32>(a0 + off)), v128.load(p)));
        p += bRow;
        off += aK;
      }
      productStore(o0 + ((<usize>j) << 2), accumulate, c);
    }
    for (; j < cols; j++) productSingle(a0, aK, b, o0, depth, cols, j, accumulate);
  }
}

@inline
function productStore(q: usize, accumulate: bool, value: v128): void {
  v128.store(q, accumulate ? f32x4.add(v128.load(q), value) : value);
}

/** Column j of one row of the product: the scalar tail of winogradProduct. */
function productSingle(
  a0: usize,
  aK: usize,
  b: usize,
  o0: usize,
  depth: i32,
  cols: i32,
  j: i32,
  accumulate: bool,
): void {
  let s: f32 = 0;
  let off: usize = 0;
  for (let k = 0; k < depth; k++) {
    s += load<f32>(a0 + off) * load<f32>(f32At(b, k * cols + j));
    off += aK;
  }
  const q = o0 + ((<usize>j) << 2);
  store<f32>(q, accumulate ? load<f32>(q) + s : s);
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
    const p00 = aFirst(a, b, c);
    const p01 = aSecond(b, c, d);
    a = tileGet(q + 4 * planeBytes, one);
    b = tileGet(q + 5 * planeBytes, one);
    c = tileGet(q + 6 * planeBytes, one);
    d = tileGet(q + 7 * planeBytes, one);
    const p10 = aFirst(a, b, c);
    const p11 = aSecond(b, c, d);
    a = tileGet(q + 8 * planeBytes, one);
    b = tileGet(q + 9 * planeBytes, one);
    c = tileGet(q + 10 * planeBytes, one);
    d = tileGet(q + 11 * planeBytes, one);
    const p20 = aFirst(a, b, c);
    const p21 = aSecond(b, c, d);
    a = tileGet(q + 12 * planeBytes, one);
    b = tileGet(q + 13 * planeBytes, one);
    c = tileGet(q + 14 * planeBytes, one);
    d = tileGet(q + 15 * planeBytes, one);
    const p30 = aFirst(a, b, c);
    const p31 = aSecond(b, c, d);
    // y = Aᵀ p: (p0 + p1 + p2, p1 − p2 − p3) down each column.
    const y = o + ((<usize>co) << 2);
    tileStore(y, one, aFirst(p00, p10, p20));
    if (right) tileStore(y + step, one, aFirst(p01, p11, p21));
    if (below) {
      tileStore(y + rowStep, one, aSecond(p10, p20, p30));
      if (right) tileStore(y + rowStep + step, one, aSecond(p11, p21, p31));
    }
    co += one ? 1 : 4;
  }
}

/**
 * The two columns of A applied to four values (m0, m1, m2, m3): m0 + m1 + m2 and m1 − m2 − m3, in this
 * order of operations. The output transform Aᵀ M A of both forward kernels uses these, so they round
 * alike.
 */
@inline
function aFirst(m0: v128, m1: v128, m2: v128): v128 {
  return f32x4.add(f32x4.add(m0, m1), m2);
}

@inline
function aSecond(m1: v128, m2: v128, m3: v128): v128 {
  return f32x4.sub(f32x4.sub(m1, m2), m3);
}

@inline
function tileGet(q: usize, one: bool): v128 {
  return one ? v128.load32_zero(q) : v128.load(q);
}
