// Per-dtype facts shared by the .pt, .npy and .safetensors codecs: element size, typed array,
// and the names each format uses (torch storage class, numpy descr, safetensors tag).
import { DataverError } from '@dataver/foundation';
import type { DType, Tensor, TensorData } from './types.js';

export interface DTypeInfo {
  dtype: DType;
  /** Bytes per element on disk. */
  size: number;
  torchStorage: string;
  numpy: string;
  safetensors: string;
}

export const DTYPES: Record<DType, DTypeInfo> = {
  uint8: { dtype: 'uint8', size: 1, torchStorage: 'ByteStorage', numpy: '|u1', safetensors: 'U8' },
  int8: { dtype: 'int8', size: 1, torchStorage: 'CharStorage', numpy: '|i1', safetensors: 'I8' },
  int16: { dtype: 'int16', size: 2, torchStorage: 'ShortStorage', numpy: '<i2', safetensors: 'I16' },
  int32: { dtype: 'int32', size: 4, torchStorage: 'IntStorage', numpy: '<i4', safetensors: 'I32' },
  int64: { dtype: 'int64', size: 8, torchStorage: 'LongStorage', numpy: '<i8', safetensors: 'I64' },
  float16: { dtype: 'float16', size: 2, torchStorage: 'HalfStorage', numpy: '<f2', safetensors: 'F16' },
  float32: { dtype: 'float32', size: 4, torchStorage: 'FloatStorage', numpy: '<f4', safetensors: 'F32' },
  float64: { dtype: 'float64', size: 8, torchStorage: 'DoubleStorage', numpy: '<f8', safetensors: 'F64' },
  bool: { dtype: 'bool', size: 1, torchStorage: 'BoolStorage', numpy: '|b1', safetensors: 'BOOL' },
};

/** Largest tensor a reader will materialize unless told otherwise (guards hostile headers). */
export const DEFAULT_MAX_BYTES = 2 ** 31 - 1;

/**
 * The dtype of a torch storage class name (`FloatStorage` → float32).
 *
 * @example
 * dtypeFromTorchStorage('LongStorage'); // 'int64'
 */
export function dtypeFromTorchStorage(name: string): DType | undefined {
  for (const info of Object.values(DTYPES)) if (info.torchStorage === name) return info.dtype;
  return undefined;
}

/**
 * numpy descr without byte order (`u1`, `f4`, …) → dtype.
 *
 * @example
 * dtypeFromNumpy('f4'); // 'float32'
 */
export function dtypeFromNumpy(code: string): DType | undefined {
  for (const info of Object.values(DTYPES)) if (info.numpy.slice(1) === code) return info.dtype;
  return undefined;
}

/**
 * The dtype of a safetensors dtype tag (`F32` → float32).
 *
 * @example
 * dtypeFromSafetensors('I64'); // 'int64'
 */
export function dtypeFromSafetensors(tag: string): DType | undefined {
  for (const info of Object.values(DTYPES)) if (info.safetensors === tag) return info.dtype;
  return undefined;
}

/**
 * Number of elements of a shape, validated (non-negative safe integers).
 *
 * @example
 * numelOf([30000, 1, 28, 28]); // 23520000
 */
export function numelOf(shape: readonly number[], what = 'tensor'): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new DataverError('CORRUPT', `${what} has an invalid dimension ${d}`);
    n *= d;
    if (!Number.isSafeInteger(n)) throw new DataverError('TOO_LARGE', `${what} has too many elements`);
  }
  return n;
}

/**
 * Typed array constructor for a dtype's in-memory form (float16 lives as float32).
 *
 * @example
 * allocData('int64', 3); // BigInt64Array(3)
 */
export function allocData(dtype: DType, numel: number): TensorData {
  switch (dtype) {
    case 'uint8':
    case 'bool':
      return new Uint8Array(numel);
    case 'int8':
      return new Int8Array(numel);
    case 'int16':
      return new Int16Array(numel);
    case 'int32':
      return new Int32Array(numel);
    case 'int64':
      return new BigInt64Array(numel);
    case 'float16':
    case 'float32':
      return new Float32Array(numel);
    case 'float64':
      return new Float64Array(numel);
  }
}

const f16Buffer = new Float32Array(1);
const f16Bits = new Uint32Array(f16Buffer.buffer);

/**
 * IEEE half → float (exact).
 *
 * @example
 * halfToFloat(0x3c00); // 1
 */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * float → IEEE half, round to nearest even.
 *
 * @example
 * floatToHalf(1); // 0x3c00
 */
export function floatToHalf(value: number): number {
  f16Buffer[0] = value;
  const x = f16Bits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  e = half;
  return sign | e;
}

/**
 * Decodes `numel` little-endian elements of `dtype` starting at `bytes[0]` into a fresh typed array.
 * `bigEndian` byte-swaps first. The copy also fixes alignment.
 *
 * @example
 * decodeElements(bytes, 'float32', 4); // Float32Array(4)
 */
export function decodeElements(
  bytes: Uint8Array,
  dtype: DType,
  numel: number,
  bigEndian = false,
): TensorData {
  const size = DTYPES[dtype].size;
  const nbytes = numel * size;
  if (bytes.byteLength < nbytes)
    throw new DataverError('TRUNCATED', `needs ${nbytes} bytes of ${dtype} data, has ${bytes.byteLength}`);
  const copy = new Uint8Array(nbytes);
  copy.set(bytes.subarray(0, nbytes));
  if (bigEndian && size > 1) byteSwap(copy, size);
  if (dtype === 'float16') {
    const halves = new Uint16Array(copy.buffer, 0, numel);
    const out = new Float32Array(numel);
    for (let i = 0; i < numel; i++) out[i] = halfToFloat(halves[i]!);
    return out;
  }
  if (dtype === 'bool') {
    for (let i = 0; i < numel; i++) copy[i] = copy[i] ? 1 : 0;
    return copy;
  }
  return viewAs(copy.buffer, dtype, 0, numel);
}

function viewAs(buffer: ArrayBufferLike, dtype: DType, byteOffset: number, numel: number): TensorData {
  switch (dtype) {
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, numel);
    case 'int8':
      return new Int8Array(buffer, byteOffset, numel);
    case 'int16':
      return new Int16Array(buffer, byteOffset, numel);
    case 'int32':
      return new Int32Array(buffer, byteOffset, numel);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, numel);
    case 'float16':
    case 'float32':
      return new Float32Array(buffer, byteOffset, numel);
    case 'float64':
      return new Float64Array(buffer, byteOffset, numel);
  }
}

/**
 * Reverses the byte order of each `size`-byte element in place.
 *
 * @example
 * byteSwap(bytes, 8); // big-endian float64 → little-endian
 */
export function byteSwap(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/**
 * Little-endian on-disk bytes of a tensor's data (a view when no conversion is needed).
 *
 * @example
 * encodeElements({ dtype: 'uint8', shape: [2], data: new Uint8Array([1, 2]) }); // the same bytes
 */
export function encodeElements(tensor: Tensor): Uint8Array {
  const { dtype, data } = tensor;
  if (dtype === 'float16') {
    const out = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = floatToHalf(Number(data[i]));
    return new Uint8Array(out.buffer);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Checks that a tensor's data matches its dtype and shape; writers call it first so a
 * malformed tensor fails before anything is written.
 *
 * @example
 * validateTensor(tensor, 'train_images'); // throws a DataverError if malformed
 */
export function validateTensor(tensor: Tensor, what = 'tensor'): void {
  const info = DTYPES[tensor.dtype];
  if (!info)
    throw new DataverError('UNSUPPORTED_DTYPE', `${what} has unsupported dtype ${String(tensor.dtype)}`);
  const numel = numelOf(tensor.shape, what);
  if (tensor.data.length !== numel) {
    throw new DataverError(
      'SHAPE_MISMATCH',
      `${what} has ${tensor.data.length} elements but shape [${tensor.shape.join(',')}] needs ${numel}`,
    );
  }
  const expected = allocData(tensor.dtype, 0).constructor;
  if (tensor.data.constructor !== expected) {
    throw new DataverError(
      'UNSUPPORTED_DTYPE',
      `${what} declares dtype ${tensor.dtype} but holds a ${tensor.data.constructor.name}`,
    );
  }
}
