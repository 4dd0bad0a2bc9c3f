// The in-memory tensor that every reader returns and every writer takes, and the options and
// names the format codecs share.

export type DType =
  | 'bool'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'uint32'
  | 'int32'
  | 'uint64'
  | 'int64'
  | 'float16'
  | 'bfloat16'
  | 'float32'
  | 'float64';

/** Typed array that holds each dtype (float16 and bfloat16 are widened to Float32Array). */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** A dense, C-contiguous tensor. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export type TensorFormat = 'pt' | 'npy' | 'safetensors';

/** A named tensor found in a container file; `name` is '' for a lone tensor, else a dotted path. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

export interface ParseOptions {
  /** Refuse tensors larger than this many bytes (default 2 GiB − 1); guards hostile headers. */
  maxBytes?: number;
  /** Check zip CRC-32s (default true). */
  verifyChecksums?: boolean;
}
