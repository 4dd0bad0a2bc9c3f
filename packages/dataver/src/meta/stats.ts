// Streaming tensor statistics: one pass, float64 accumulators, decoded from raw little- or
// big-endian bytes chunk by chunk, so `dataver add` never loads a whole tensor file.
import type { TensorSummary } from './types.js';

/** Element codes the built-in readers decode: numpy kind+size (`f4`, `u1`, `i8`, `b1`, …) plus `bf16`. */
export type ElementCode =
  | 'b1'
  | 'u1'
  | 'i1'
  | 'u2'
  | 'i2'
  | 'u4'
  | 'i4'
  | 'u8'
  | 'i8'
  | 'f2'
  | 'f4'
  | 'f8'
  | 'bf16';

export const ELEMENT_SIZES: Record<ElementCode, number> = {
  b1: 1,
  u1: 1,
  i1: 1,
  u2: 2,
  i2: 2,
  u4: 4,
  i4: 4,
  u8: 8,
  i8: 8,
  f2: 2,
  f4: 4,
  f8: 8,
  bf16: 2,
};

/**
 * Rounds to 6 significant digits so the lock file is stable against float noise.
 *
 * @example
 * round6(0.123456789); // 0.123457
 */
export function round6(x: number): number {
  return Number(x.toPrecision(6));
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Accumulates count, min, max, and sums of (x − shift) and (x − shift)² in float64; the shift
 * (first value) keeps the one-pass variance from cancelling on data far from zero.
 *
 * @example
 * const acc = new StatsAccumulator('f4'); acc.push(chunk); acc.result(); // { mean, std, min, max }
 */
export class StatsAccumulator {
  count = 0;
  private shift = 0;
  private sum = 0;
  private sumsq = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private finite = true;
  private carry = new Uint8Array(8);
  private carryLen = 0;
  private readonly size: number;
  private readonly decode: (view: DataView, offset: number) => number;

  constructor(
    readonly code: ElementCode,
    readonly littleEndian = true,
  ) {
    this.size = ELEMENT_SIZES[code];
    const le = littleEndian;
    const decoders: Record<ElementCode, (v: DataView, o: number) => number> = {
      b1: (v, o) => (v.getUint8(o) ? 1 : 0),
      u1: (v, o) => v.getUint8(o),
      i1: (v, o) => v.getInt8(o),
      u2: (v, o) => v.getUint16(o, le),
      i2: (v, o) => v.getInt16(o, le),
      u4: (v, o) => v.getUint32(o, le),
      i4: (v, o) => v.getInt32(o, le),
      u8: (v, o) =>
        le
          ? v.getUint32(o + 4, true) * 4294967296 + v.getUint32(o, true)
          : v.getUint32(o, false) * 4294967296 + v.getUint32(o + 4, false),
      i8: (v, o) =>
        le
          ? v.getInt32(o + 4, true) * 4294967296 + v.getUint32(o, true)
          : v.getInt32(o, false) * 4294967296 + v.getUint32(o + 4, false),
      f2: (v, o) => halfToFloat(v.getUint16(o, le)),
      f4: (v, o) => v.getFloat32(o, le),
      f8: (v, o) => v.getFloat64(o, le),
      bf16: (v, o) => {
        const tmp = new DataView(new ArrayBuffer(4));
        tmp.setUint32(0, v.getUint16(o, le) << 16);
        return tmp.getFloat32(0);
      },
    };
    this.decode = decoders[code];
  }

  /** Feeds raw bytes; elements split across chunks are carried over. */
  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.carryLen) {
      const need = this.size - this.carryLen;
      const take = Math.min(need, bytes.length);
      this.carry.set(bytes.subarray(0, take), this.carryLen);
      this.carryLen += take;
      bytes = bytes.subarray(take);
      if (this.carryLen < this.size) return;
      this.addBlock(this.carry.subarray(0, this.size));
      this.carryLen = 0;
    }
    const whole = bytes.length - (bytes.length % this.size);
    if (whole) this.addBlock(bytes.subarray(0, whole));
    if (whole < bytes.length) {
      this.carry.set(bytes.subarray(whole));
      this.carryLen = bytes.length - whole;
    }
  }

  private addBlock(bytes: Uint8Array): void {
    const n = bytes.length / this.size;
    // aligned little-endian blocks go through a typed array (fast); the rest through DataView
    let values: ArrayLike<number> | undefined;
    if (this.littleEndian || this.size === 1) {
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      const b = copy.buffer;
      if (this.code === 'f4') values = new Float32Array(b);
      else if (this.code === 'f8') values = new Float64Array(b);
      else if (this.code === 'u1') values = copy;
      else if (this.code === 'i1') values = new Int8Array(b);
      else if (this.code === 'i2') values = new Int16Array(b);
      else if (this.code === 'u2') values = new Uint16Array(b);
      else if (this.code === 'i4') values = new Int32Array(b);
      else if (this.code === 'u4') values = new Uint32Array(b);
    }
    let { shift, sum, sumsq, min, max, finite } = this;
    if (this.count === 0 && n > 0) {
      const first = values
        ? values[0]!
        : this.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
      shift = Number.isFinite(first) ? first : 0;
    }
    if (values) {
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v < min) min = v;
        if (v > max) max = v;
        const x = v - shift;
        sum += x;
        sumsq += x * x;
      }
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) {
        const v = this.decode(view, i * this.size);
        if (v < min) min = v;
        if (v > max) max = v;
        const x = v - shift;
        sum += x;
        sumsq += x * x;
      }
    }
    if (!Number.isFinite(sum) || !Number.isFinite(sumsq)) finite = false;
    Object.assign(this, { shift, sum, sumsq, min, max, finite });
    this.count += n;
  }

  /** Summary fields (mean/std/min/max rounded to 6 digits); omitted when empty or non-finite. */
  result(): Pick<TensorSummary, 'mean' | 'std' | 'min' | 'max'> {
    if (this.count === 0 || !this.finite || !Number.isFinite(this.min) || !Number.isFinite(this.max))
      return {};
    const m = this.sum / this.count;
    return {
      mean: round6(m + this.shift),
      std: round6(Math.sqrt(Math.max(0, this.sumsq / this.count - m * m))),
      min: round6(this.min),
      max: round6(this.max),
    };
  }
}
