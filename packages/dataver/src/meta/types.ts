// Tensor metadata that `dataver add` records in data.lock.json for tensor files
// (.pt, .npy, .safetensors) so that `dataver diff` can show dtype/shape/statistics changes.
import type { TensorSummary as FormatTensorSummary } from '@dataver/tensor';

/**
 * Summary of one tensor inside a file, as @dataver/tensor computes it (statistics rounded to
 * 6 significant digits, all four or none), with any dtype name a plugin's format may report.
 */
export type TensorSummary = Omit<FormatTensorSummary, 'dtype'> & {
  /** `uint8`, `int64`, `float32`, … */
  dtype: string;
};

export interface TensorMeta {
  /** The format that parsed the file: `pt`, `npy`, `safetensors`, or a plugin's. */
  format: string;
  tensors: TensorSummary[];
}

/**
 * Reads the metadata of one file format. The built-in readers (.pt/.pth, .npy, .safetensors)
 * come from @dataver/tensor; packages can contribute readers for other formats as plugins
 * named in `.dataver/config.json` (`"plugins": ["some-package/dataver-plugin"]`), without
 * dataver depending on them.
 */
export interface MetaReader {
  name: string;
  /** Lower-case file extensions with the dot, e.g. `['.h5']`. */
  extensions: string[];
  read(filePath: string): Promise<TensorMeta>;
}
