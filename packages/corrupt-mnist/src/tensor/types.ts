// The in-memory tensor that every reader returns and every writer takes.

export type DType =
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'bool';

/** Typed array that holds each dtype (float16 is widened to Float32Array on read). */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
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
