// WASM SIMD kernels of the trainer, in AssemblyScript: the loops that tfjs-wasm lacks or runs as scalar
// JS (batch-norm + LeakyReLU + max-pool forward and backward, im2col, Adam, the augmentation's affine
// warp, softmax cross-entropy). The module imports tfjs-wasm's own memory and allocates nothing: every
// argument is a byte offset into that heap, so tensors are read and written where they lie.
// Channels are NHWC-innermost; groups of 4 channels go through f32x4 lanes and the rest (c % 4) through
// scalar tails, so any channel count and spatial size works.

import { f32At } from './memory';

const LANES: v128 = i32x4(0, 1, 2, 3);

function f64At(base: usize, index: i32): usize {
  return base + ((<usize>index) << 3);
}

/** Adds the four lanes of `v`, promoted to f64, to out[i·2 + slot] for lanes i = 0..3. */
function addLanes(out: usize, first: i32, slot: i32, v: v128): void {
  const lo = f64x2.promote_low_f32x4(v);
  const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  let p = f64At(out, (first << 1) + slot);
  store<f64>(p, load<f64>(p) + f64x2.extract_lane(lo, 0));
  p += 16;
  store<f64>(p, load<f64>(p) + f64x2.extract_lane(lo, 1));
  p += 16;
  store<f64>(p, load<f64>(p) + f64x2.extract_lane(hi, 0));
  p += 16;
  store<f64>(p, load<f64>(p) + f64x2.extract_lane(hi, 1));
}

// f32 partial sums are flushed into the f64 totals every BLOCK positions, which keeps them exact to
// about BLOCK·2⁻²⁴ of the block's magnitude whatever the image size.
const BLOCK = 64;

/**
 * Per-image, per-channel Σx and Σx² of x [images, hw, c] into out (f64 [images][c][2], zeroed here).
 * Per image, so that a batch split over threads sums the same partials in the same order.
 */
export function bnPartialSums(x: usize, images: i32, hw: i32, c: i32, out: usize): void {
  memory.fill(out, 0, (<usize>(images * c * 2)) << 3);
  const groups = c >> 2;
  for (let img = 0; img < images; img++) {
    const xi = f32At(x, img * hw * c);
    const oi = f64At(out, img * c * 2);
    for (let g = 0; g < groups; g++) {
      for (let p0 = 0; p0 < hw; p0 += BLOCK) {
        const p1 = min(hw, p0 + BLOCK);
        let s = f32x4.splat(0);
        let q = f32x4.splat(0);
        let ptr = f32At(xi, p0 * c + (g << 2));
        const step = (<usize>c) << 2;
        for (let p = p0; p < p1; p++) {
          const v = v128.load(ptr);
          s = f32x4.add(s, v);
          q = f32x4.add(q, f32x4.mul(v, v));
          ptr += step;
        }
        addLanes(oi, g << 2, 0, s);
        addLanes(oi, g << 2, 1, q);
      }
    }
    for (let ch = groups << 2; ch < c; ch++) {
      let s: f64 = 0;
      let q: f64 = 0;
      for (let p = 0; p < hw; p++) {
        const v = <f64>load<f32>(f32At(xi, p * c + ch));
        s += v;
        q += v * v;
      }
      store<f64>(f64At(oi, ch * 2), s);
      store<f64>(f64At(oi, ch * 2 + 1), q);
    }
  }
}

function leaky(y: v128, a: v128, b: v128): v128 {
  return f32x4.add(f32x4.mul(a, y), f32x4.mul(b, f32x4.abs(y)));
}

/**
 * Forward of the fused op given per-channel scale and shift (y = x·scale + shift, z = a·y + b·|y|, the
 * LeakyReLU without a branch), then a 2×2 stride-2 max-pool (floor) when pool is 2. argmax gets the flat
 * input index of each output. x [n, h, w, c]; out and argmax [n, h/2, w/2, c] (or [n, h, w, c]).
 */
export function bnActPoolForward(
  x: usize,
  n: i32,
  h: i32,
  w: i32,
  c: i32,
  scale: usize,
  shift: usize,
  a: f32,
  b: f32,
  pool: i32,
  out: usize,
  argmax: usize,
): void {
  const va = f32x4.splat(a);
  const vb = f32x4.splat(b);
  const groups = c >> 2;
  if (pool === 1) {
    const positions = n * h * w;
    let i = 0;
    for (let p = 0; p < positions; p++) {
      for (let g = 0; g < groups; g++) {
        const ch = g << 2;
        const y = f32x4.add(
          f32x4.mul(v128.load(f32At(x, i)), v128.load(f32At(scale, ch))),
          v128.load(f32At(shift, ch)),
        );
        v128.store(f32At(out, i), leaky(y, va, vb));
        v128.store(f32At(argmax, i), i32x4.add(i32x4.splat(i), LANES));
        i += 4;
      }
      for (let ch = groups << 2; ch < c; ch++) {
        const y = load<f32>(f32At(x, i)) * load<f32>(f32At(scale, ch)) + load<f32>(f32At(shift, ch));
        store<f32>(f32At(out, i), a * y + b * Mathf.abs(y));
        store<i32>(f32At(argmax, i), i);
        i++;
      }
    }
    return;
  }
  const oh = h >> 1;
  const ow = w >> 1;
  const rs = w * c;
  const vc = i32x4.splat(c);
  const vrs = i32x4.splat(rs);
  const vrsc = i32x4.splat(rs + c);
  let o = 0;
  for (let img = 0; img < n; img++) {
    for (let r = 0; r < oh; r++) {
      const rowBase = (img * h + 2 * r) * rs;
      for (let q = 0; q < ow; q++) {
        const b0 = rowBase + 2 * q * c;
        for (let g = 0; g < groups; g++) {
          const ch = g << 2;
          const i0 = b0 + ch;
          const sc = v128.load(f32At(scale, ch));
          const y0 = f32x4.mul(v128.load(f32At(x, i0)), sc);
          const y1 = f32x4.mul(v128.load(f32At(x, i0 + c)), sc);
          const y2 = f32x4.mul(v128.load(f32At(x, i0 + rs)), sc);
          const y3 = f32x4.mul(v128.load(f32At(x, i0 + rs + c)), sc);
          // Ties keep the earlier position, as the scalar reference does.
          const m01 = f32x4.gt(y1, y0);
          const m23 = f32x4.gt(y3, y2);
          const v01 = v128.bitselect(y1, y0, m01);
          const v23 = v128.bitselect(y3, y2, m23);
          const k01 = v128.and(vc, m01);
          const k23 = v128.bitselect(vrsc, vrs, m23);
          const t = f32x4.gt(v23, v01);
          const y = f32x4.add(v128.bitselect(v23, v01, t), v128.load(f32At(shift, ch)));
          v128.store(f32At(out, o + ch), leaky(y, va, vb));
          const k = v128.bitselect(k23, k01, t);
          v128.store(f32At(argmax, o + ch), i32x4.add(i32x4.add(i32x4.splat(i0), LANES), k));
        }
        for (let ch = groups << 2; ch < c; ch++) {
          const i0 = b0 + ch;
          const sc = load<f32>(f32At(scale, ch));
          const y0 = load<f32>(f32At(x, i0)) * sc;
          const y1 = load<f32>(f32At(x, i0 + c)) * sc;
          const y2 = load<f32>(f32At(x, i0 + rs)) * sc;
          const y3 = load<f32>(f32At(x, i0 + rs + c)) * sc;
          let i01 = i0;
          let v01 = y0;
          if (y1 > y0) {
            i01 = i0 + c;
            v01 = y1;
          }
          let i23 = i0 + rs;
          let v23 = y2;
          if (y3 > y2) {
            i23 = i0 + rs + c;
            v23 = y3;
          }
          let im = i01;
          let vm = v01;
          if (v23 > v01) {
            im = i23;
            vm = v23;
          }
          const y = vm + load<f32>(f32At(shift, ch));
          store<f32>(f32At(out, o + ch), a * y + b * Mathf.abs(y));
          store<i32>(f32At(argmax, o + ch), im);
        }
        o += c;
      }
    }
  }
}

/**
 * First backward pass of the fused op: routes each output gradient to its argmax input through the
 * LeakyReLU (slope 1 or alpha, from the sign of y = x·scale + shift), writes dx (zero where no gradient
 * arrives) and per-image, per-channel Σd and Σd·x into sums (f64 [n][c][2], zeroed here).
 */
export function bnActPoolBackward1(
  x: usize,
  n: i32,
  h: i32,
  w: i32,
  c: i32,
  pool: i32,
  argmax: usize,
  dOut: usize,
  scale: usize,
  shift: usize,
  alpha: f32,
  dx: usize,
  sums: usize,
): void {
  memory.fill(sums, 0, (<usize>(n * c * 2)) << 3);
  const groups = c >> 2;
  const vAlpha = f32x4.splat(alpha);
  const vOne = f32x4.splat(1);
  const vZero = f32x4.splat(0);
  if (pool === 1) {
    const hw = h * w;
    for (let img = 0; img < n; img++) {
      const si = f64At(sums, img * c * 2);
      const base = img * hw * c;
      for (let g = 0; g < groups; g++) {
        const ch = g << 2;
        const sc = v128.load(f32At(scale, ch));
        const sh = v128.load(f32At(shift, ch));
        for (let p0 = 0; p0 < hw; p0 += BLOCK) {
          const p1 = min(hw, p0 + BLOCK);
          let sd = vZero;
          let sdx = vZero;
          for (let p = p0; p < p1; p++) {
            const i = base + p * c + ch;
            const xv = v128.load(f32At(x, i));
            const y = f32x4.add(f32x4.mul(xv, sc), sh);
            const d = f32x4.mul(v128.load(f32At(dOut, i)), v128.bitselect(vOne, vAlpha, f32x4.gt(y, vZero)));
            v128.store(f32At(dx, i), d);
            sd = f32x4.add(sd, d);
            sdx = f32x4.add(sdx, f32x4.mul(d, xv));
          }
          addLanes(si, ch, 0, sd);
          addLanes(si, ch, 1, sdx);
        }
      }
      for (let ch = groups << 2; ch < c; ch++) {
        const sc = load<f32>(f32At(scale, ch));
        const sh = load<f32>(f32At(shift, ch));
        let sd: f64 = 0;
        let sdx: f64 = 0;
        for (let p = 0; p < hw; p++) {
          const i = base + p * c + ch;
          const xv = load<f32>(f32At(x, i));
          const y = xv * sc + sh;
          const d = load<f32>(f32At(dOut, i)) * (y > 0 ? <f32>1 : alpha);
          store<f32>(f32At(dx, i), d);
          sd += d;
          sdx += <f64>d * xv;
        }
        store<f64>(f64At(si, ch * 2), sd);
        store<f64>(f64At(si, ch * 2 + 1), sdx);
      }
    }
    return;
  }
  // Odd heights or widths leave a last row or column that no window covers: zero it all first.
  if ((h & 1) !== 0 || (w & 1) !== 0) memory.fill(dx, 0, (<usize>(n * h * w * c)) << 2);
  const oh = h >> 1;
  const ow = w >> 1;
  const rs = w * c;
  const windows = oh * ow;
  for (let img = 0; img < n; img++) {
    const si = f64At(sums, img * c * 2);
    for (let g = 0; g < groups; g++) {
      const ch = g << 2;
      const sc = v128.load(f32At(scale, ch));
      const sh = v128.load(f32At(shift, ch));
      for (let k0 = 0; k0 < windows; k0 += BLOCK) {
        const k1 = min(windows, k0 + BLOCK);
        let sd = vZero;
        let sdx = vZero;
        for (let k = k0; k < k1; k++) {
          const r = k / ow;
          const q = k - r * ow;
          const i0 = (img * h + 2 * r) * rs + 2 * q * c + ch;
          const o = (img * windows + k) * c + ch;
          const am = v128.load(f32At(argmax, o));
          const base = i32x4.add(i32x4.splat(i0), LANES);
          const m0 = i32x4.eq(am, base);
          const m1 = i32x4.eq(am, i32x4.add(base, i32x4.splat(c)));
          const m2 = i32x4.eq(am, i32x4.add(base, i32x4.splat(rs)));
          const m3 = i32x4.eq(am, i32x4.add(base, i32x4.splat(rs + c)));
          const p0 = f32At(x, i0);
          const p1 = f32At(x, i0 + c);
          const p2 = f32At(x, i0 + rs);
          const p3 = f32At(x, i0 + rs + c);
          const xv = v128.or(
            v128.or(v128.and(v128.load(p0), m0), v128.and(v128.load(p1), m1)),
            v128.or(v128.and(v128.load(p2), m2), v128.and(v128.load(p3), m3)),
          );
          const y = f32x4.add(f32x4.mul(xv, sc), sh);
          const d = f32x4.mul(v128.load(f32At(dOut, o)), v128.bitselect(vOne, vAlpha, f32x4.gt(y, vZero)));
          v128.store(f32At(dx, i0), v128.and(d, m0));
          v128.store(f32At(dx, i0 + c), v128.and(d, m1));
          v128.store(f32At(dx, i0 + rs), v128.and(d, m2));
          v128.store(f32At(dx, i0 + rs + c), v128.and(d, m3));
          sd = f32x4.add(sd, d);
          sdx = f32x4.add(sdx, f32x4.mul(d, xv));
        }
        addLanes(si, ch, 0, sd);
        addLanes(si, ch, 1, sdx);
      }
    }
    for (let ch = groups << 2; ch < c; ch++) {
      const sc = load<f32>(f32At(scale, ch));
      const sh = load<f32>(f32At(shift, ch));
      let sd: f64 = 0;
      let sdx: f64 = 0;
      for (let k = 0; k < windows; k++) {
        const r = k / ow;
        const q = k - r * ow;
        const i0 = (img * h + 2 * r) * rs + 2 * q * c + ch;
        const o = (img * windows + k) * c + ch;
        const im = load<i32>(f32At(argmax, o));
        store<f32>(f32At(dx, i0), 0);
        store<f32>(f32At(dx, i0 + c), 0);
        store<f32>(f32At(dx, i0 + rs), 0);
        store<f32>(f32At(dx, i0 + rs + c), 0);
        const xv = load<f32>(f32At(x, im));
        const y = xv * sc + sh;
        const d = load<f32>(f32At(dOut, o)) * (y > 0 ? <f32>1 : alpha);
        store<f32>(f32At(dx, im), d);
        sd += d;
        sdx += <f64>d * xv;
      }
      store<f64>(f64At(si, ch * 2), sd);
      store<f64>(f64At(si, ch * 2 + 1), sdx);
    }
  }
}

/** Second backward pass: dx = A·dx + B·x + D per channel over all positions (A, B, D f32 [c]). */
export function bnBackward2(
  x: usize,
  positions: i32,
  c: i32,
  coefA: usize,
  coefB: usize,
  coefD: usize,
  dx: usize,
): void {
  const groups = c >> 2;
  const step = (<usize>c) << 2;
  for (let g = 0; g < groups; g++) {
    const ch = g << 2;
    const va = v128.load(f32At(coefA, ch));
    const vb = v128.load(f32At(coefB, ch));
    const vd = v128.load(f32At(coefD, ch));
    let px = f32At(x, ch);
    let pd = f32At(dx, ch);
    for (let p = 0; p < positions; p++) {
      v128.store(pd, f32x4.add(f32x4.add(f32x4.mul(va, v128.load(pd)), f32x4.mul(vb, v128.load(px))), vd));
      px += step;
      pd += step;
    }
  }
  for (let ch = groups << 2; ch < c; ch++) {
    const a = load<f32>(f32At(coefA, ch));
    const b = load<f32>(f32At(coefB, ch));
    const d = load<f32>(f32At(coefD, ch));
    for (let p = 0; p < positions; p++) {
      const i = p * c + ch;
      store<f32>(f32At(dx, i), a * load<f32>(f32At(dx, i)) + b * load<f32>(f32At(x, i)) + d);
    }
  }
}

/**
 * The im2col matrix, transposed: row k = (kh·KW + kw)·Cin + ci, column m = (n·OH + oh)·OW + ow, zero
 * where the tap falls into padding. Runs of one input channel and unit stride are plain copies.
 */
export function im2colTransposed(
  x: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  outH: i32,
  outW: i32,
  kH: i32,
  kW: i32,
  padTop: i32,
  padLeft: i32,
  strideH: i32,
  strideW: i32,
  out: usize,
): void {
  const m = batch * outH * outW;
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      let owStart = 0;
      while (owStart < outW && owStart * strideW + kw - padLeft < 0) owStart++;
      let owEnd = outW;
      while (owEnd > owStart && (owEnd - 1) * strideW + kw - padLeft >= inW) owEnd--;
      for (let ci = 0; ci < inC; ci++) {
        let o = ((kh * kW + kw) * inC + ci) * m;
        for (let n = 0; n < batch; n++) {
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh * strideH + kh - padTop;
            if (ih < 0 || ih >= inH) {
              memory.fill(f32At(out, o), 0, (<usize>outW) << 2);
              o += outW;
              continue;
            }
            if (owStart > 0) memory.fill(f32At(out, o), 0, (<usize>owStart) << 2);
            const src = ((n * inH + ih) * inW + owStart * strideW + kw - padLeft) * inC + ci;
            const run = owEnd - owStart;
            if (inC === 1 && strideW === 1) {
              memory.copy(f32At(out, o + owStart), f32At(x, src), (<usize>run) << 2);
            } else {
              const stride = strideW * inC;
              for (let j = 0; j < run; j++) {
                store<f32>(f32At(out, o + owStart + j), load<f32>(f32At(x, src + j * stride)));
              }
            }
            if (owEnd < outW) memory.fill(f32At(out, o + owEnd), 0, (<usize>(outW - owEnd)) << 2);
            o += outW;
          }
        }
      }
    }
  }
}

/**
 * One Adam (or AdamW, decoupled) step over len parameters: m, v updated in place, new parameters to out
 * (which may be p). stepSize = lr / (1 − β1ᵗ), rc2 = 1 / √(1 − β2ᵗ).
 */
export function adamUpdate(
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  out: usize,
  len: i32,
  stepSize: f32,
  rc2: f32,
  beta1: f32,
  beta2: f32,
  epsilon: f32,
  weightDecay: f32,
  decoupled: i32,
  learningRate: f32,
): void {
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const nb1 = f32x4.splat(1 - beta1);
  const nb2 = f32x4.splat(1 - beta2);
  const ss = f32x4.splat(stepSize);
  const vrc2 = f32x4.splat(rc2);
  const eps = f32x4.splat(epsilon);
  const wd = f32x4.splat(weightDecay);
  const shrink = f32x4.splat(1 - learningRate * weightDecay);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    let pv = v128.load(f32At(p, i));
    let gv = v128.load(f32At(g, i));
    if (decoupled !== 0) pv = f32x4.mul(pv, shrink);
    else gv = f32x4.add(gv, f32x4.mul(wd, pv));
    const mv = f32x4.add(f32x4.mul(b1, v128.load(f32At(m, i))), f32x4.mul(nb1, gv));
    const vv = f32x4.add(f32x4.mul(b2, v128.load(f32At(v, i))), f32x4.mul(f32x4.mul(nb2, gv), gv));
    v128.store(f32At(m, i), mv);
    v128.store(f32At(v, i), vv);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vv), vrc2), eps);
    v128.store(f32At(out, i), f32x4.sub(pv, f32x4.div(f32x4.mul(ss, mv), denom)));
  }
  for (; i < len; i++) {
    let pi = load<f32>(f32At(p, i));
    let gi = load<f32>(f32At(g, i));
    if (decoupled !== 0) pi = pi * (1 - learningRate * weightDecay);
    else gi = gi + weightDecay * pi;
    const mi = beta1 * load<f32>(f32At(m, i)) + (1 - beta1) * gi;
    const vi = beta2 * load<f32>(f32At(v, i)) + (1 - beta2) * gi * gi;
    store<f32>(f32At(m, i), mi);
    store<f32>(f32At(v, i), vi);
    store<f32>(f32At(out, i), pi - (stepSize * mi) / (Mathf.sqrt(vi) * rc2 + epsilon));
  }
}

/**
 * Bilinear affine warp of count consecutive side×side images from src into dst. Per image,
 * params holds 6 f32: apply (0: plain copy), the inverse map's cos and sin (already divided by the
 * scale), the shift tx, ty, and a spare slot. Outside pixels read `background`.
 */
export function affineWarp(
  src: usize,
  count: i32,
  side: i32,
  params: usize,
  background: f32,
  dst: usize,
): void {
  const pixels = side * side;
  const centre = <f32>(side - 1) / 2;
  const limit = <f32>(side - 1);
  for (let img = 0; img < count; img++) {
    const s = f32At(src, img * pixels);
    const d = f32At(dst, img * pixels);
    const pp = f32At(params, img * 6);
    if (load<f32>(pp) === 0) {
      memory.copy(d, s, (<usize>pixels) << 2);
      continue;
    }
    const cos = load<f32>(pp, 4);
    const sin = load<f32>(pp, 8);
    const tx = load<f32>(pp, 12);
    const ty = load<f32>(pp, 16);
    let o = d;
    for (let y = 0; y < side; y++) {
      const dy = <f32>y - centre - ty;
      for (let x = 0; x < side; x++) {
        const dx = <f32>x - centre - tx;
        const sx = cos * dx + sin * dy + centre;
        const sy = -sin * dx + cos * dy + centre;
        const fx0 = Mathf.floor(sx);
        const fy0 = Mathf.floor(sy);
        const fx = sx - fx0;
        const fy = sy - fy0;
        let v00 = background;
        let v01 = background;
        let v10 = background;
        let v11 = background;
        // Whole pixels only when the 2×2 neighbourhood is in range; else each corner alone.
        if (fx0 >= 0 && fy0 >= 0 && fx0 < limit && fy0 < limit) {
          const q = s + ((<usize>(<i32>fy0 * side + <i32>fx0)) << 2);
          v00 = load<f32>(q);
          v01 = load<f32>(q, 4);
          v10 = load<f32>(q + ((<usize>side) << 2));
          v11 = load<f32>(q + ((<usize>side) << 2), 4);
        } else if (fx0 >= -1 && fy0 >= -1 && fx0 <= limit && fy0 <= limit) {
          const x0 = <i32>fx0;
          const y0 = <i32>fy0;
          if (x0 >= 0 && y0 >= 0) v00 = load<f32>(s + ((<usize>(y0 * side + x0)) << 2));
          if (x0 + 1 < side && y0 >= 0) v01 = load<f32>(s + ((<usize>(y0 * side + x0 + 1)) << 2));
          if (x0 >= 0 && y0 + 1 < side) v10 = load<f32>(s + ((<usize>((y0 + 1) * side + x0)) << 2));
          if (x0 + 1 < side && y0 + 1 < side) v11 = load<f32>(s + ((<usize>((y0 + 1) * side + x0 + 1)) << 2));
        }
        const top = v00 * (1 - fx) + v01 * fx;
        const bottom = v10 * (1 - fx) + v11 * fx;
        store<f32>(o, top * (1 - fy) + bottom * fy);
        o += 4;
      }
    }
  }
}

// exp and log of their own: the standard library's use lookup tables, which would be data segments
// written into the imported heap at instantiation. Polynomials in f64, exact to ~1e-9 over their ranges.
const LN2: f64 = Math.LN2;

/** e^x for x ≤ 0 (a softmax argument after the row max is subtracted). */
function expNonPositive(x: f64): f64 {
  if (x < -700) return 0;
  const k = Math.round(x / LN2);
  const r = x - k * LN2;
  const p =
    1 +
    r *
      (1 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040)))))));
  return p * reinterpret<f64>((<i64>k + 1023) << 52);
}

/** ln x for a finite x > 0. */
function logPositive(x: f64): f64 {
  const bits = reinterpret<i64>(x);
  let e = <i32>(bits >> 52) - 1023;
  let m = reinterpret<f64>((bits & 0xfffffffffffff) | 0x3ff0000000000000);
  if (m > Math.SQRT2) {
    m *= 0.5;
    e++;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  return (
    2 * t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 / 11))))) + <f64>e * LN2
  );
}

/**
 * Softmax cross-entropy of logits [n, k] against int32 labels: per-row losses (f32 [n]), the gradient
 * (softmax − one-hot)·gradScale into dLogits, and the arg-max class into predicted. Returns Σ loss.
 */
export function softmaxCrossEntropy(
  logits: usize,
  labels: usize,
  n: i32,
  k: i32,
  gradScale: f32,
  dLogits: usize,
  predicted: usize,
): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const row = f32At(logits, i * k);
    const drow = f32At(dLogits, i * k);
    let best = 0;
    let max = load<f32>(row);
    for (let j = 1; j < k; j++) {
      const v = load<f32>(f32At(row, j));
      if (v > max) {
        max = v;
        best = j;
      }
    }
    let sum: f64 = 0;
    for (let j = 0; j < k; j++) {
      const e = expNonPositive(<f64>load<f32>(f32At(row, j)) - <f64>max);
      store<f32>(f32At(drow, j), <f32>e);
      sum += e;
    }
    const label = load<i32>(f32At(labels, i));
    const inv = <f32>(<f64>gradScale / sum);
    for (let j = 0; j < k; j++) store<f32>(f32At(drow, j), load<f32>(f32At(drow, j)) * inv);
    store<f32>(f32At(drow, label), load<f32>(f32At(drow, label)) - gradScale);
    total += logPositive(sum) - (<f64>load<f32>(f32At(row, label)) - <f64>max);
    store<i32>(f32At(predicted, i), best);
  }
  return total;
}

/** Σ over the lanes of v. */
function hsum(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3)
  );
}

/**
 * Stride-1 filter gradient straight from the padded planes, without an im2col matrix: with the grid
 * positions q of paddedOperands, dW[kh, kw, ci, co] = Σ_q planes[ci][q + kh·Wp + kw] · dyT[co][q], where
 * dyT is dy transposed to channel-major on the grid (zero off the output). Both operands of every dot
 * product are contiguous; two filter rows × four output channels share each load.
 */
export function paddedFilterGrad(
  x: usize,
  dy: usize,
  batch: i32,
  inH: i32,
  inW: i32,
  inC: i32,
  outH: i32,
  outW: i32,
  outC: i32,
  kH: i32,
  kW: i32,
  padTop: i32,
  padLeft: i32,
  hp: i32,
  wp: i32,
  planeLen: i32,
  planes: usize,
  dyT: usize,
  dW: usize,
): void {
  const grid = batch * hp * wp;
  memory.fill(planes, 0, (<usize>(planeLen * inC)) << 2);
  let i = 0;
  for (let n = 0; n < batch; n++) {
    for (let hh = 0; hh < inH; hh++) {
      let q = (n * hp + hh + padTop) * wp + padLeft;
      for (let ww = 0; ww < inW; ww++) {
        for (let ci = 0; ci < inC; ci++)
          store<f32>(f32At(planes, ci * planeLen + q), load<f32>(f32At(x, i + ci)));
        i += inC;
        q++;
      }
    }
  }
  memory.fill(dyT, 0, (<usize>(grid * outC)) << 2);
  let j = 0;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      let q = (n * hp + oh) * wp;
      for (let ow = 0; ow < outW; ow++) {
        for (let co = 0; co < outC; co++) store<f32>(f32At(dyT, co * grid + q), load<f32>(f32At(dy, j + co)));
        j += outC;
        q++;
      }
    }
  }
  const rows = kH * kW * inC;
  const vecEnd = grid & ~3;
  let r = 0;
  for (; r < rows; r += 2) {
    const pair = r + 1 < rows;
    // Row r = (kh·KW + kw)·Cin + ci reads plane ci shifted by kh·Wp + kw.
    const ci0 = r % inC;
    const t0 = r / inC;
    const a0 = f32At(planes, ci0 * planeLen + (t0 / kW) * wp + (t0 % kW));
    const ci1 = (r + 1) % inC;
    const t1 = (r + 1) / inC;
    const a1 = pair ? f32At(planes, ci1 * planeLen + (t1 / kW) * wp + (t1 % kW)) : a0;
    let co = 0;
    for (; co + 4 <= outC; co += 4) {
      const b0 = f32At(dyT, co * grid);
      const b1 = b0 + ((<usize>grid) << 2);
      const b2 = b1 + ((<usize>grid) << 2);
      const b3 = b2 + ((<usize>grid) << 2);
      let s00 = f32x4.splat(0);
      let s01 = f32x4.splat(0);
      let s02 = f32x4.splat(0);
      let s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0);
      let s11 = f32x4.splat(0);
      let s12 = f32x4.splat(0);
      let s13 = f32x4.splat(0);
      for (let q = 0; q < vecEnd; q += 4) {
        const off = (<usize>q) << 2;
        const va = v128.load(a0 + off);
        const vb = v128.load(a1 + off);
        const y0 = v128.load(b0 + off);
        const y1 = v128.load(b1 + off);
        const y2 = v128.load(b2 + off);
        const y3 = v128.load(b3 + off);
        s00 = f32x4.add(s00, f32x4.mul(va, y0));
        s01 = f32x4.add(s01, f32x4.mul(va, y1));
        s02 = f32x4.add(s02, f32x4.mul(va, y2));
        s03 = f32x4.add(s03, f32x4.mul(va, y3));
        s10 = f32x4.add(s10, f32x4.mul(vb, y0));
        s11 = f32x4.add(s11, f32x4.mul(vb, y1));
        s12 = f32x4.add(s12, f32x4.mul(vb, y2));
        s13 = f32x4.add(s13, f32x4.mul(vb, y3));
      }
      let t00 = hsum(s00);
      let t01 = hsum(s01);
      let t02 = hsum(s02);
      let t03 = hsum(s03);
      let t10 = hsum(s10);
      let t11 = hsum(s11);
      let t12 = hsum(s12);
      let t13 = hsum(s13);
      for (let q = vecEnd; q < grid; q++) {
        const off = (<usize>q) << 2;
        const va = load<f32>(a0 + off);
        const vb = load<f32>(a1 + off);
        t00 += va * load<f32>(b0 + off);
        t01 += va * load<f32>(b1 + off);
        t02 += va * load<f32>(b2 + off);
        t03 += va * load<f32>(b3 + off);
        t10 += vb * load<f32>(b0 + off);
        t11 += vb * load<f32>(b1 + off);
        t12 += vb * load<f32>(b2 + off);
        t13 += vb * load<f32>(b3 + off);
      }
      const o0 = f32At(dW, r * outC + co);
      store<f32>(o0, t00);
      store<f32>(o0, t01, 4);
      store<f32>(o0, t02, 8);
      store<f32>(o0, t03, 12);
      if (pair) {
        const o1 = f32At(dW, (r + 1) * outC + co);
        store<f32>(o1, t10);
        store<f32>(o1, t11, 4);
        store<f32>(o1, t12, 8);
        store<f32>(o1, t13, 12);
      }
    }
    for (; co < outC; co++) {
      const b0 = f32At(dyT, co * grid);
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      for (let q = 0; q < vecEnd; q += 4) {
        const off = (<usize>q) << 2;
        const y0 = v128.load(b0 + off);
        s0 = f32x4.add(s0, f32x4.mul(v128.load(a0 + off), y0));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(a1 + off), y0));
      }
      let t0s = hsum(s0);
      let t1s = hsum(s1);
      for (let q = vecEnd; q < grid; q++) {
        const off = (<usize>q) << 2;
        t0s += load<f32>(a0 + off) * load<f32>(b0 + off);
        t1s += load<f32>(a1 + off) * load<f32>(b0 + off);
      }
      store<f32>(f32At(dW, r * outC + co), t0s);
      if (pair) store<f32>(f32At(dW, (r + 1) * outC + co), t1s);
    }
  }
}

// tfjs-wasm multiplies transposed operands in a scalar loop (XNNPACK only takes them untransposed): every
// output is a float32 sum over k in order, in blocks of 48 added to the output one after the other.
const MATMUL_K_BLOCK = 48;

/**
 * out [m × n] = A · B with A(i, k) at a + 4·(i·aRow + k·aK) and B(k, j) at b + 4·(k·bK + j·bCol): the
 * dense layers' gradients, whose operands are transposed. Each output is summed exactly as tfjs-wasm's
 * scalar loop sums it (k in order, blocks of 48 added to the total), so the results are bit for bit
 * the same, four columns at a time. B is read by rows; when its columns are not contiguous (bCol ≠ 1)
 * it is first copied by rows into `rows` (k × n floats).
 */
export function matmulBlocked(
  a: usize,
  aRow: i32,
  aK: i32,
  b: usize,
  bK: i32,
  bCol: i32,
  m: i32,
  n: i32,
  k: i32,
  rows: usize,
  out: usize,
): void {
  let bRows = b;
  let bStride = bK;
  if (bCol !== 1) {
    for (let kk = 0; kk < k; kk++)
      for (let j = 0; j < n; j++)
        store<f32>(f32At(rows, kk * n + j), load<f32>(f32At(b, kk * bK + j * bCol)));
    bRows = rows;
    bStride = n;
  }
  const zero = f32x4.splat(0);
  for (let i = 0; i < m; i++) {
    const aI = i * aRow;
    const o = i * n;
    let j = 0;
    // Sixteen columns at a time: one splat of A(i, k) serves four vectors of B's row k.
    for (; j + 16 <= n; j += 16) {
      let t0 = zero;
      let t1 = zero;
      let t2 = zero;
      let t3 = zero;
      for (let k0 = 0; k0 < k; k0 += MATMUL_K_BLOCK) {
        const k1 = min(k0 + MATMUL_K_BLOCK, k);
        let s0 = zero;
        let s1 = zero;
        let s2 = zero;
        let s3 = zero;
        for (let kk = k0; kk < k1; kk++) {
          const av = f32x4.splat(load<f32>(f32At(a, aI + kk * aK)));
          const p = f32At(bRows, kk * bStride + j);
          s0 = f32x4.add(s0, f32x4.mul(av, v128.load(p)));
          s1 = f32x4.add(s1, f32x4.mul(av, v128.load(p, 16)));
          s2 = f32x4.add(s2, f32x4.mul(av, v128.load(p, 32)));
          s3 = f32x4.add(s3, f32x4.mul(av, v128.load(p, 48)));
        }
        t0 = f32x4.add(t0, s0);
        t1 = f32x4.add(t1, s1);
        t2 = f32x4.add(t2, s2);
        t3 = f32x4.add(t3, s3);
      }
      const q = f32At(out, o + j);
      v128.store(q, t0);
      v128.store(q, t1, 16);
      v128.store(q, t2, 32);
      v128.store(q, t3, 48);
    }
    for (; j + 4 <= n; j += 4) {
      let t = zero;
      for (let k0 = 0; k0 < k; k0 += MATMUL_K_BLOCK) {
        const k1 = min(k0 + MATMUL_K_BLOCK, k);
        let s = zero;
        for (let kk = k0; kk < k1; kk++)
          s = f32x4.add(
            s,
            f32x4.mul(
              f32x4.splat(load<f32>(f32At(a, aI + kk * aK))),
              v128.load(f32At(bRows, kk * bStride + j)),
            ),
          );
        t = f32x4.add(t, s);
      }
      v128.store(f32At(out, o + j), t);
    }
    for (; j < n; j++) {
      let t: f32 = 0;
      for (let k0 = 0; k0 < k; k0 += MATMUL_K_BLOCK) {
        const k1 = min(k0 + MATMUL_K_BLOCK, k);
        let s: f32 = 0;
        for (let kk = k0; kk < k1; kk++)
          s += load<f32>(f32At(a, aI + kk * aK)) * load<f32>(f32At(bRows, kk * bStride + j));
        t += s;
      }
      store<f32>(f32At(out, o + j), t);
    }
  }
}

// Winograd F(2×2, 3×3) convolution: wasm/winograd.ts.
export { winogradConv3x3, winogradConv3x3One, winogradFilter, winogradFilterGrad } from './winograd';
