// Per-dtype facts shared by the .pt, .npy and .safetensors codecs: element size, typed array,
// and the names each format uses (torch storage class, numpy descr, safetensors tag).
import { DataverError } from '@dataver/foundation';
import type { DType, Tensor, TensorData } from './types.js';

export interface DTypeInfo {
  dtype: DType;
  /** Bytes per element on disk. */
  size: number;
  /** Torch storage class, where torch 1.x has one for the dtype (`.pt` files need it). */
  torchStorage?: string;
  /** numpy descr with byte order, where numpy has the dtype (`.npy` files need it). */
  numpy?: string;
  safetensors: string;
  /** Held in memory as float32 (float16, bfloat16): decoded on read, rounded on write. */
  widened: boolean;
}

const info = (
  dtype: DType,
  size: number,
  safetensors: string,
  names: { torchStorage?: string; numpy?: string; widened?: boolean },
): DTypeInfo => ({ dtype, size, safetensors, widened: false, ...names });

export const DTYPES: Record<DType, DTypeInfo> = {
  bool: info('bool', 1, 'BOOL', { torchStorage: 'BoolStorage', numpy: '|b1' }),
  uint8: info('uint8', 1, 'U8', { torchStorage: 'ByteStorage', numpy: '|u1' }),
  int8: info('int8', 1, 'I8', { torchStorage: 'CharStorage', numpy: '|i1' }),
  uint16: info('uint16', 2, 'U16', { numpy: '<u2' }),
  int16: info('int16', 2, 'I16', { torchStorage: 'ShortStorage', numpy: '<i2' }),
  uint32: info('uint32', 4, 'U32', { numpy: '<u4' }),
  int32: info('int32', 4, 'I32', { torchStorage: 'IntStorage', numpy: '<i4' }),
  uint64: info('uint64', 8, 'U64', { numpy: '<u8' }),
  int64: info('int64', 8, 'I64', { torchStorage: 'LongStorage', numpy: '<i8' }),
  float16: info('float16', 2, 'F16', { torchStorage: 'HalfStorage', numpy: '<f2', widened: true }),
  bfloat16: info('bfloat16', 2, 'BF16', { torchStorage: 'BFloat16Storage', widened: true }),
  float32: info('float32', 4, 'F32', { torchStorage: 'FloatStorage', numpy: '<f4' }),
  float64: info('float64', 8, 'F64', { torchStorage: 'DoubleStorage', numpy: '<f8' }),
};

const ALL_DTYPES = Object.values(DTYPES);

/** Largest tensor a reader will materialize unless told otherwise (guards hostile headers). */
export const DEFAULT_MAX_BYTES = 2 ** 31 - 1;

/**
 * The dtype of a torch storage class name (`FloatStorage` → float32).
 *
 * @example
 * dtypeFromTorchStorage('LongStorage'); // 'int64'
 */
export function dtypeFromTorchStorage(name: string): DType | undefined {
  return ALL_DTYPES.find((d) => d.torchStorage === name)?.dtype;
}

/**
 * numpy descr without byte order (`u1`, `f4`, …) → dtype.
 *
 * @example
 * dtypeFromNumpy('f4'); // 'float32'
 */
export function dtypeFromNumpy(code: string): DType | undefined {
  return ALL_DTYPES.find((d) => d.numpy?.slice(1) === code)?.dtype;
}

/**
 * The dtype of a safetensors dtype tag (`F32` → float32).
 *
 * @example
 * dtypeFromSafetensors('I64'); // 'int64'
 */
export function dtypeFromSafetensors(tag: string): DType | undefined {
  return ALL_DTYPES.find((d) => d.safetensors === tag)?.dtype;
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
 * A zeroed typed array for a dtype's in-memory form (float16 and bfloat16 live as float32).
 *
 * @example
 * allocData('int64', 3); // BigInt64Array(3)
 */
export function allocData(dtype: DType, numel: number): TensorData {
  return viewAs(new ArrayBuffer(numel * memorySize(dtype)), dtype, 0, numel);
}

function memorySize(dtype: DType): number {
  return DTYPES[dtype].widened ? 4 : DTYPES[dtype].size;
}

function viewAs(buffer: ArrayBufferLike, dtype: DType, byteOffset: number, numel: number): TensorData {
  switch (dtype) {
    case 'bool':
    case 'uint8':
      return new Uint8Array(buffer, byteOffset, numel);
    case 'int8':
      return new Int8Array(buffer, byteOffset, numel);
    case 'uint16':
      return new Uint16Array(buffer, byteOffset, numel);
    case 'int16':
      return new Int16Array(buffer, byteOffset, numel);
    case 'uint32':
      return new Uint32Array(buffer, byteOffset, numel);
    case 'int32':
      return new Int32Array(buffer, byteOffset, numel);
    case 'uint64':
      return new BigUint64Array(buffer, byteOffset, numel);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, numel);
    case 'float16':
    case 'bfloat16':
    case 'float32':
      return new Float32Array(buffer, byteOffset, numel);
    case 'float64':
      return new Float64Array(buffer, byteOffset, numel);
  }
}

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

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** The bits of a float rounded to float32. */
function float32Bits(value: number): number {
  f32[0] = value;
  return f32Bits[0] ?? 0;
}

/**
 * float → IEEE half, round to nearest even.
 *
 * @example
 * floatToHalf(1); // 0x3c00
 */
export function floatToHalf(value: number): number {
  const x = float32Bits(value);
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
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
  return sign | half;
}

/**
 * bfloat16 → float (exact: the upper half of a float32).
 *
 * @example
 * bfloat16ToFloat(0x3f80); // 1
 */
export function bfloat16ToFloat(b: number): number {
  f32Bits[0] = (b & 0xffff) << 16;
  return f32[0] ?? 0;
}

/**
 * float → bfloat16 through float32, round to nearest even (as torch converts); NaN stays NaN.
 *
 * @example
 * floatToBfloat16(1); // 0x3f80
 */
export function floatToBfloat16(value: number): number {
  const x = float32Bits(value);
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
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
    for (let i = 0; i < numel; i++) out[i] = halfToFloat(halves[i] ?? 0);
    return out;
  }
  if (dtype === 'bfloat16') {
    const halves = new Uint16Array(copy.buffer, 0, numel);
    const out = new Uint32Array(numel);
    for (let i = 0; i < numel; i++) out[i] = (halves[i] ?? 0) << 16;
    return new Float32Array(out.buffer);
  }
  if (dtype === 'bool') {
    for (let i = 0; i < numel; i++) copy[i] = copy[i] ? 1 : 0;
    return copy;
  }
  return viewAs(copy.buffer, dtype, 0, numel);
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
      const t = bytes[a] ?? 0;
      bytes[a] = bytes[b] ?? 0;
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
  if (DTYPES[dtype].widened) {
    const narrow = dtype === 'float16' ? floatToHalf : floatToBfloat16;
    const out = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = narrow(Number(data[i]));
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
  // a dtype from untyped code (JSON, JavaScript) may be outside the table
  const known: Partial<Record<string, DTypeInfo>> = DTYPES;
  if (!known[tensor.dtype])
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
