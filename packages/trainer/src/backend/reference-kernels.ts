// The JS reference implementations of the trainer's own kernels: plain, branch-free loops over typed
// arrays, one per SIMD kernel of wasm/kernels.ts with the same arguments and meaning. They run where the
// SIMD module is not loaded and are what the tests hold the SIMD kernels to.

/** Geometry of a 2-D convolution (NHWC), as tfjs's computeConv2DInfo describes it. */
export interface ConvShape {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
}

/**
 * Writes the im2col matrix already transposed: row k = (kh·KW + kw)·Cin + ci, column m = (n·OH + oh)·OW + ow,
 * so that dW = colT · dy is a plain (non-transposed) matmul — the wasm matmul is many times slower with
 * transposeA.
 *
 * @example
 * ```ts
 * im2colTransposed(x, shape, new Float32Array(k * m));
 * ```
 */
export function im2colTransposed(x: Float32Array, s: ConvShape, out: Float32Array): void {
  const { batch, inH, inW, inC, outH, outW, kH, kW, padTop, padLeft, strideH, strideW } = s;
  const m = batch * outH * outW;
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      // Output columns whose input column lies inside the image; the rest read zero padding.
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
              out.fill(0, o, o + outW);
              o += outW;
              continue;
            }
            for (let ow = 0; ow < owStart; ow++) out[o++] = 0;
            const stride = strideW * inC;
            let src = ((n * inH + ih) * inW + owStart * strideW + kw - padLeft) * inC + ci;
            for (let ow = owStart; ow < owEnd; ow++) {
              out[o++] = x[src]!;
              src += stride;
            }
            for (let ow = owEnd; ow < outW; ow++) out[o++] = 0;
          }
        }
      }
    }
  }
}

/** The zero-padded grid of a stride-1 filter gradient: padded sides and the length of one plane. */
export interface PaddedGrid {
  hp: number;
  wp: number;
  grid: number;
  planeLen: number;
}

/**
 * The padded grid of a stride-1 convolution. Neighbouring images share their padding: each image's
 * block has its top padding rows and each row its left padding columns, and what a tap reads past a
 * block's bottom or a row's right end is the next block's top rows or the next row's left columns, also
 * zero. So a block is inH + max(top, bottom) rows of inW + max(left, right), not inH + top + bottom by
 * inW + left + right: for a 3×3 "same" convolution on 7×7 maps that is 64 grid positions per image
 * instead of 81, each a wasted multiply-add of the gradient's dot products where no output is.
 *
 * @example
 * ```ts
 * const { grid } = paddedGrid(shape); // positions of the padded images
 * ```
 */
export function paddedGrid(s: ConvShape): PaddedGrid {
  // Sharing needs the output to fit in a block, and the reads past it to stay within the next one's padding.
  const shareRows = s.outH <= s.inH + Math.max(s.padTop, s.padBottom) && s.padBottom <= s.padTop;
  const shareCols = s.outW <= s.inW + Math.max(s.padLeft, s.padRight) && s.padRight <= s.padLeft;
  const hp = s.inH + (shareRows ? s.padTop : s.padTop + s.padBottom);
  const wp = s.inW + (shareCols ? s.padLeft : s.padLeft + s.padRight);
  const grid = s.batch * hp * wp;
  return { hp, wp, grid, planeLen: grid + (s.kH - 1) * wp + (s.kW - 1) };
}

/**
 * Stride-1 filter-gradient operands over the zero-padded grid: with positions q = (n·Hp + oh)·Wp + ow on
 * the padded image, the input under tap (kh, kw) is at q + kh·Wp + kw, so every im2col row is one
 * contiguous slice of a channel-major padded copy of x (`planes`) instead of a gather. `dyPad` gets dy on
 * the grid, zero at grid positions outside the output, which then add nothing to dW = colT · dyPad.
 *
 * @example
 * ```ts
 * paddedOperands(x, dy, shape, paddedGrid(shape), planes, colT, dyPad);
 * ```
 */
export function paddedOperands(
  x: Float32Array,
  dy: Float32Array,
  s: ConvShape,
  g: PaddedGrid,
  planes: Float32Array,
  colT: Float32Array,
  dyPad: Float32Array,
): void {
  const { batch, inH, inW, inC, outH, outW, outC, kH, kW, padTop, padLeft } = s;
  const { hp, wp, grid, planeLen } = g;
  planes.fill(0, 0, planeLen * inC);
  let i = 0;
  for (let n = 0; n < batch; n++) {
    for (let h = 0; h < inH; h++) {
      let q = (n * hp + h + padTop) * wp + padLeft;
      for (let w = 0; w < inW; w++) {
        for (let ci = 0; ci < inC; ci++) planes[ci * planeLen + q] = x[i++]!;
        q++;
      }
    }
  }
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const shift = kh * wp + kw;
      for (let ci = 0; ci < inC; ci++) {
        const start = ci * planeLen + shift;
        colT.set(planes.subarray(start, start + grid), ((kh * kW + kw) * inC + ci) * grid);
      }
    }
  }
  dyPad.fill(0, 0, grid * outC);
  const rowLen = outW * outC;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      const src = (n * outH + oh) * rowLen;
      dyPad.set(dy.subarray(src, src + rowLen), (n * hp + oh) * wp * outC);
    }
  }
}

/**
 * Per-image, per-channel Σx and Σx² of x [images, hw, c] into out [images][c][2] (float64).
 *
 * @example
 * ```ts
 * bnPartialSums(x, n, h * w, c, new Float64Array(n * c * 2));
 * ```
 */
export function bnPartialSums(
  x: Float32Array,
  images: number,
  hw: number,
  c: number,
  out: Float64Array,
): void {
  for (let img = 0; img < images; img++) {
    const base = img * hw * c;
    const len = hw * c;
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      let q = 0;
      for (let i = ch; i < len; i += c) {
        const v = x[base + i]!;
        s += v;
        q += v * v;
      }
      out[(img * c + ch) * 2] = s;
      out[(img * c + ch) * 2 + 1] = q;
    }
  }
}

/** An NHWC shape. */
type Nhwc = readonly [number, number, number, number];

/**
 * Forward of the fused op with per-channel scale and shift: y = x·scale + shift, LeakyReLU as
 * a·y + b·|y| (a = (1+α)/2, b = (1−α)/2, no data-dependent branch), then a 2×2 stride-2 max-pool (floor)
 * when pool is 2; argmax gets the flat input index of each output.
 *
 * @example
 * ```ts
 * bnActPoolForward(x, [n, h, w, c], scale, shift, a, b, 2, out, argmax);
 * ```
 */
export function bnActPoolForward(
  x: Float32Array,
  shape: Nhwc,
  scale: Float32Array,
  shift: Float32Array,
  a: number,
  b: number,
  pool: 1 | 2,
  out: Float32Array,
  argmax: Int32Array,
): void {
  const [n, h, w, c] = shape;
  if (pool === 1) {
    let i = 0;
    for (let p = 0; p < n * h * w; p++) {
      for (let ch = 0; ch < c; ch++) {
        const y = x[i]! * scale[ch]! + shift[ch]!;
        out[i] = a * y + b * Math.abs(y);
        argmax[i] = i;
        i++;
      }
    }
    return;
  }
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const rs = w * c;
  let o = 0;
  for (let bn = 0; bn < n; bn++) {
    for (let r = 0; r < oh; r++) {
      const rowBase = (bn * h + 2 * r) * rs;
      for (let q = 0; q < ow; q++) {
        const b0 = rowBase + 2 * q * c;
        for (let ch = 0; ch < c; ch++) {
          // LeakyReLU is increasing, so the max of z is at the max of y, and the shift does not change
          // the order: compare x·scale only. Selections are index arithmetic on 0/1 comparison results,
          // because data-dependent branches here mispredict half the time (measured 4× slower).
          const i0 = b0 + ch;
          const sc = scale[ch]!;
          const y0 = x[i0]! * sc;
          const y1 = x[i0 + c]! * sc;
          const y2 = x[i0 + rs]! * sc;
          const y3 = x[i0 + rs + c]! * sc;
          const i01 = i0 + +(y1 > y0) * c;
          const i23 = i0 + rs + +(y3 > y2) * c;
          const t = +(x[i23]! * sc > x[i01]! * sc);
          const im = i01 + t * (i23 - i01);
          const y = x[im]! * sc + shift[ch]!;
          out[o] = a * y + b * Math.abs(y);
          argmax[o] = im;
          o++;
        }
      }
    }
  }
}

/**
 * First backward pass of the fused op: each output gradient goes to its argmax input through the
 * LeakyReLU (slope 1 where y > 0, else α); dx is zero elsewhere; sums gets per-image, per-channel Σd
 * and Σd·x ([n][c][2], float64). Pooling windows do not overlap, so each input gets at most one gradient.
 *
 * @example
 * ```ts
 * bnActPoolBackward1(x, shape, 2, argmax, dOut, scale, shift, 0.1, dx, sums);
 * ```
 */
export function bnActPoolBackward1(
  x: Float32Array,
  shape: Nhwc,
  pool: 1 | 2,
  argmax: Int32Array,
  dOut: Float32Array,
  scale: Float32Array,
  shift: Float32Array,
  alpha: number,
  dx: Float32Array,
  sums: Float64Array,
): void {
  const [n, h, w, c] = shape;
  const slopeGap = 1 - alpha;
  sums.fill(0, 0, n * c * 2);
  if (pool === 2) dx.fill(0, 0, n * h * w * c);
  const perImage = dOut.length / n;
  let o = 0;
  for (let img = 0; img < n; img++) {
    for (let k = 0; k < perImage; k++) {
      const ch = o % c;
      const idx = argmax[o]!;
      const xv = x[idx]!;
      const y = xv * scale[ch]! + shift[ch]!;
      const d = dOut[o]! * (alpha + slopeGap * +(y > 0));
      dx[idx] = d;
      sums[(img * c + ch) * 2]! += d;
      sums[(img * c + ch) * 2 + 1]! += d * xv;
      o++;
    }
  }
}

/**
 * Second backward pass: dx = A·dx + B·x + D per channel over all positions. Channel-outer with the
 * per-channel constants in registers beats channel-inner table lookups.
 *
 * @example
 * ```ts
 * bnBackward2(x, n * h * w, c, A, B, D, dx);
 * ```
 */
export function bnBackward2(
  x: Float32Array,
  positions: number,
  c: number,
  A: Float32Array,
  B: Float32Array,
  D: Float32Array,
  dx: Float32Array,
): void {
  const len = positions * c;
  for (let ch = 0; ch < c; ch++) {
    const a = A[ch]!;
    const b = B[ch]!;
    const d = D[ch]!;
    for (let i = ch; i < len; i += c) dx[i] = a * dx[i]! + b * x[i]! + d;
  }
}
