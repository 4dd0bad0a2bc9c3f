// Tensor statistics in one float64 pass, with the same arithmetic whether the elements come from
// a tensor in memory or from raw file bytes chunk by chunk, so every format gives the same numbers.
import { DTYPES, decodeElements } from '../dtype/dtype.js';
import type { DType, Tensor, TensorData } from '../dtype/types.js';

/** Mean, population standard deviation, minimum and maximum, to 6 significant digits. */
export interface TensorStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

/**
 * Summary of one tensor of a file. The statistics are all there or all absent: absent for an
 * empty tensor and for one that holds a NaN or ±Infinity (see `StatsAccumulator.result`).
 */
export interface TensorSummary extends Partial<TensorStats> {
  /** Name of the tensor inside the file (dict path, safetensors key); absent for a lone tensor. */
  name?: string;
  dtype: DType;
  shape: number[];
}

/**
 * Rounds to 6 significant digits so summaries (and the lock files that record them) stay
 * stable across float noise.
 *
 * @example
 * round6(0.123456789); // 0.123457
 */
export function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/** BigInt elements are converted to float64 this many at a time. */
const BIGINT_BLOCK = 1 << 16;

/**
 * Accumulates count, min, max and the sums of (x − shift) and (x − shift)² in float64, where
 * the shift (the first element) keeps the one-pass variance from cancelling on data far from
 * zero. Elements must come in C order: float addition is not associative, and the same order
 * is what makes the numbers identical across formats.
 *
 * @example
 * const acc = new StatsAccumulator('float32');
 * acc.pushBytes(chunk); // raw little-endian bytes, any split
 * acc.result(); // { mean, std, min, max } or {}
 */
export class StatsAccumulator {
  private count = 0;
  private shift = 0;
  private sum = 0;
  private sumsq = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly size: number;
  private readonly carry: Uint8Array;
  private carryLen = 0;

  constructor(
    readonly dtype: DType,
    /** Raw bytes given to `pushBytes` are big-endian. */
    readonly bigEndian = false,
  ) {
    this.size = DTYPES[dtype].size;
    this.carry = new Uint8Array(this.size);
  }

  /** Elements seen so far. */
  get elements(): number {
    return this.count;
  }

  /** Feeds raw on-disk bytes of the dtype; an element split across two chunks is carried over. */
  pushBytes(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.carryLen) {
      const take = Math.min(this.size - this.carryLen, bytes.length);
      this.carry.set(bytes.subarray(0, take), this.carryLen);
      this.carryLen += take;
      bytes = bytes.subarray(take);
      if (this.carryLen < this.size) return;
      this.pushData(decodeElements(this.carry, this.dtype, 1, this.bigEndian));
      this.carryLen = 0;
    }
    const n = Math.floor(bytes.length / this.size);
    if (n) this.pushData(decodeElements(bytes, this.dtype, n, this.bigEndian));
    const rest = bytes.subarray(n * this.size);
    this.carry.set(rest);
    this.carryLen = rest.length;
  }

  /** Feeds decoded elements (a tensor's data or part of it). */
  pushData(data: TensorData): void {
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      const block = new Float64Array(Math.min(BIGINT_BLOCK, data.length));
      for (let start = 0; start < data.length; start += block.length) {
        const n = Math.min(block.length, data.length - start);
        for (let i = 0; i < n; i++) block[i] = Number(data[start + i]);
        this.add(block.subarray(0, n));
      }
    } else {
      this.add(data);
    }
  }

  private add(values: ArrayLike<number>): void {
    const n = values.length;
    if (n === 0) return;
    if (this.count === 0) this.shift = values[0] ?? 0;
    let { sum, sumsq, min, max } = this;
    const shift = this.shift;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      const x = v - shift;
      sum += x;
      sumsq += x * x;
    }
    this.sum = sum;
    this.sumsq = sumsq;
    this.min = min;
    this.max = max;
    this.count += n;
  }

  /**
   * The statistics, rounded to 6 significant digits; all four or none. The one rule for
   * non-finite data, in every format: a NaN or ±Infinity anywhere (or a statistic that
   * overflows float64) gives no statistics at all, as an empty tensor does. JSON has no NaN
   * or Infinity, and a partial answer (min and max without the mean) would read as complete.
   */
  result(): Partial<TensorStats> {
    if (this.count === 0) return {};
    const m = this.sum / this.count;
    const stats: TensorStats = {
      mean: m + this.shift,
      std: Math.sqrt(Math.max(0, this.sumsq / this.count - m * m)),
      min: this.min,
      max: this.max,
    };
    // NaN propagates into the sums, ±Infinity into min/max: checking the results checks every element
    if (!Object.values(stats).every(Number.isFinite)) return {};
    return {
      mean: round6(stats.mean),
      std: round6(stats.std),
      min: round6(stats.min),
      max: round6(stats.max),
    };
  }
}

/**
 * The summary of a finished accumulation: dtype, shape, the statistics, and the name if any.
 *
 * @example
 * summaryOf(acc, [2, 3], 'weight'); // { name: 'weight', dtype: 'float32', shape: [2, 3], mean, … }
 */
export function summaryOf(acc: StatsAccumulator, shape: readonly number[], name?: string): TensorSummary {
  const out: TensorSummary = { dtype: acc.dtype, shape: shape.slice(), ...acc.result() };
  return name ? { name, ...out } : out;
}

/**
 * Summarizes a tensor in memory (one pass over its data).
 *
 * @example
 * summarizeTensor({ dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) }).mean; // 2
 */
export function summarizeTensor(tensor: Tensor, name?: string): TensorSummary {
  const acc = new StatsAccumulator(tensor.dtype);
  acc.pushData(tensor.data);
  return summaryOf(acc, tensor.shape, name);
}
