// Per-tensor summaries (dtype, shape, mean/std/min/max in one float64 pass), rounded to 6
// significant digits: shared by `inspect` and the dataver plugin.
import { readTensorFile } from './tensor/io.js';
import type { Tensor, TensorFormat } from './tensor/types.js';

export interface TensorStatsSummary {
  name?: string;
  dtype: string;
  shape: number[];
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
}

/**
 * Rounds to 6 significant digits so summaries are stable across tiny float differences.
 *
 * @example
 * round6(0.123456789); // 0.123457
 */
export function round6(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

/**
 * One pass over the data with float64 accumulators (sum and sum of squares around the first value).
 *
 * @example
 * summarizeTensor({ dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) }).mean; // 2
 */
export function summarizeTensor(tensor: Tensor, name?: string): TensorStatsSummary {
  const out: TensorStatsSummary = { dtype: tensor.dtype, shape: tensor.shape.slice() };
  if (name) out.name = name;
  const d = tensor.data;
  const n = d.length;
  if (n === 0) return out;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let sumsq = 0;
  if (d instanceof BigInt64Array) {
    const shift = Number(d[0]);
    for (let i = 0; i < n; i++) {
      const v = Number(d[i]!);
      if (v < min) min = v;
      if (v > max) max = v;
      const x = v - shift;
      sum += x;
      sumsq += x * x;
    }
    const mean = sum / n;
    out.mean = round6(mean + shift);
    out.std = round6(Math.sqrt(Math.max(0, sumsq / n - mean * mean)));
  } else {
    const a = d as Float64Array;
    // shifting by the first value keeps the one-pass variance from cancelling
    const shift = a[0]!;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      const x = v - shift;
      sum += x;
      sumsq += x * x;
    }
    const mean = sum / n;
    out.mean = round6(mean + shift);
    out.std = round6(Math.sqrt(Math.max(0, sumsq / n - mean * mean)));
  }
  out.min = round6(min);
  out.max = round6(max);
  return out;
}

/**
 * Reads a tensor file and summarizes each tensor in it.
 *
 * @example
 * const { format, tensors } = await summarizeFile('data/processed/train_images.pt');
 */
export async function summarizeFile(
  filePath: string,
): Promise<{ format: TensorFormat; tensors: TensorStatsSummary[] }> {
  const file = await readTensorFile(filePath);
  return {
    format: file.format,
    tensors: file.tensors.map(({ name, tensor }) => summarizeTensor(tensor, name || undefined)),
  };
}
