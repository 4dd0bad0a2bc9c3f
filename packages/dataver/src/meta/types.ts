// Tensor metadata that `dataver add` records in data.lock.json for tensor files
// (.pt, .npy, .safetensors) so that `dataver diff` can show dtype/shape/statistics changes.

/** Summary of one tensor inside a file. Numbers are rounded to 6 significant digits so the lock is stable. */
export interface TensorSummary {
  /** Name of the tensor inside the file (safetensors key); absent for single-tensor files. */
  name?: string;
  /** `uint8`, `int64`, `float32`, … */
  dtype: string;
  shape: number[];
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
}

export interface TensorMeta {
  /** The format that parsed the file: `pt`, `npy`, `safetensors`. */
  format: string;
  tensors: TensorSummary[];
}

/**
 * Reads the metadata of one file format. Built-in readers live in this folder;
 * packages can contribute more as plugins named in `.dataver/config.json`
 * (`"plugins": ["corrupt-mnist/dataver-plugin"]`) without dataver depending on them.
 */
export interface MetaReader {
  name: string;
  /** Lower-case file extensions with the dot, e.g. `['.pt']`. */
  extensions: string[];
  read(filePath: string): Promise<TensorMeta>;
}
