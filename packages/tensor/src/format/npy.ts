// NumPy `.npy` files (format versions 1–3): a magic string, a Python-literal header dict, raw data.
import { DataverError } from '@dataver/foundation';
import {
  DEFAULT_MAX_BYTES,
  DTYPES,
  decodeElements,
  dtypeFromNumpy,
  encodeElements,
  numelOf,
  validateTensor,
} from '../dtype/dtype.js';
import { gatherBytes } from '../dtype/strided.js';
import type { DType, ParseOptions, Tensor } from '../dtype/types.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/** Bytes at the start of a `.npy` file that say how long its header is. */
export const NPY_PREAMBLE_BYTES = 12;

/**
 * Where a `.npy` header's dict starts and where the data starts, from the file's first
 * bytes (10 for version 1, 12 for versions 2 and 3).
 *
 * @example
 * const { dataOffset } = npyHeaderSpan(first12); // read this many bytes, then parseNpyHeader
 */
export function npyHeaderSpan(bytes: Uint8Array): { start: number; dataOffset: number } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new DataverError('CORRUPT', 'not a .npy file (bad magic)');
  const major = bytes[6];
  const b = (i: number): number => bytes[i] ?? 0;
  if (major === 1) return { start: 10, dataOffset: 10 + (b(8) | (b(9) << 8)) };
  if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataverError('TRUNCATED', '.npy header is truncated');
    return { start: 12, dataOffset: 12 + ((b(8) | (b(9) << 8) | (b(10) << 16) | (b(11) << 24)) >>> 0) };
  }
  throw new DataverError('UNSUPPORTED_CONTENT', `.npy format version ${major} is not supported`);
}

/**
 * Parses the header of a `.npy` file (needs only its first bytes: 10 + header length).
 *
 * @example
 * const { descr, shape } = parseNpyHeader(firstBytes);
 */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const { start, dataOffset } = npyHeaderSpan(bytes);
  const headerLen = dataOffset - start;
  const major = bytes[6];
  if (dataOffset > bytes.length) throw new DataverError('TRUNCATED', '.npy header is truncated');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, headerLen).toString(
    major === 3 ? 'utf8' : 'latin1',
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (
    descr === undefined ||
    fortran === undefined ||
    shapeText === undefined ||
    !text.trimStart().startsWith('{')
  ) {
    throw new DataverError('CORRUPT', '.npy header dict lacks descr, fortran_order or shape');
  }
  const parts = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const shape = parts.map((s) => {
    if (!/^\d{1,15}L?$/.test(s))
      throw new DataverError('CORRUPT', `.npy shape has an invalid dimension '${s}'`);
    return Number.parseInt(s, 10);
  });
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset };
}

/** A parsed header resolved to a dtype: what a reader needs before touching the data. */
export interface NpyLayout extends NpyHeader {
  dtype: DType;
  /** Data bytes big-endian (descr `>…`). */
  bigEndian: boolean;
  numel: number;
  /** Bytes of data the shape needs. */
  nbytes: number;
}

/**
 * Resolves a header's descr and shape to a dtype, element count and byte order.
 *
 * @example
 * npyLayout(parseNpyHeader(firstBytes)); // { dtype: 'float32', numel: 784, nbytes: 3136, … }
 */
export function npyLayout(h: NpyHeader): NpyLayout {
  const order = h.descr[0];
  const dtype = dtypeFromNumpy(/^[<>|=]/.test(h.descr) ? h.descr.slice(1) : h.descr);
  if (!dtype || !(order === '<' || order === '>' || order === '|' || order === '=')) {
    throw new DataverError('UNSUPPORTED_DTYPE', `.npy dtype '${h.descr}' is not supported`, {
      hint: `supported: ${Object.values(DTYPES)
        .flatMap((d) => d.numpy ?? [])
        .join(' ')}`,
    });
  }
  const numel = numelOf(h.shape, '.npy array');
  return { ...h, dtype, bigEndian: order === '>', numel, nbytes: numel * DTYPES[dtype].size };
}

/**
 * Checks that a file of `fileSize` bytes holds all the data its header declares.
 *
 * @example
 * checkNpyDataLength(layout, (await fs.stat(p)).size); // throws TRUNCATED when the file is cut short
 */
export function checkNpyDataLength(h: NpyLayout, fileSize: number): void {
  const holds = fileSize - h.dataOffset;
  if (holds < h.nbytes)
    throw new DataverError(
      'TRUNCATED',
      `.npy data is truncated: holds ${holds} bytes, shape needs ${h.nbytes}`,
    );
}

/**
 * Parses a `.npy` file into a dense C-order tensor (Fortran-ordered arrays are transposed).
 *
 * @example
 * const t = parseNpy(await fs.readFile('x.npy'));
 */
export function parseNpy(bytes: Uint8Array, options: ParseOptions = {}): Tensor {
  const h = npyLayout(parseNpyHeader(bytes));
  const { dtype, numel, nbytes } = h;
  if (nbytes > (options.maxBytes ?? DEFAULT_MAX_BYTES))
    throw new DataverError('TOO_LARGE', `.npy array of ${nbytes} bytes is too large`);
  checkNpyDataLength(h, bytes.length);
  const raw = bytes.subarray(h.dataOffset, h.dataOffset + nbytes);
  // a column-major array is stored transposed: gather it into C order
  const dense =
    h.fortranOrder && h.shape.length >= 2
      ? gatherBytes(raw, DTYPES[dtype].size, 0, h.shape, fortranStrides(h.shape))
      : raw;
  return { dtype, shape: h.shape, data: decodeElements(dense, dtype, numel, h.bigEndian) };
}

/** Element strides of a column-major (Fortran-order) array: the first dimension fastest. */
function fortranStrides(shape: readonly number[]): number[] {
  const stride: number[] = [];
  let step = 1;
  for (const d of shape) {
    stride.push(step);
    step *= d;
  }
  return stride;
}

/**
 * The `.npy` header (magic, version, padded dict) for a C-order array; data follows it.
 *
 * @example
 * const header = npyHeaderBytes(tensor); // 128 bytes for a 4-d float32 tensor
 */
export function npyHeaderBytes(tensor: Pick<Tensor, 'dtype' | 'shape'>): Uint8Array {
  const descr = DTYPES[tensor.dtype].numpy;
  if (!descr)
    throw new DataverError('UNSUPPORTED_DTYPE', `numpy has no dtype ${tensor.dtype}; .npy cannot hold it`, {
      hint: 'use .safetensors or .pt, or convert the tensor first',
    });
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // total header (10 bytes of preamble + dict + padding + newline) is a multiple of 64
  const unpadded = 10 + dict.length + 1;
  const padded = Math.ceil(unpadded / 64) * 64;
  const text = dict + ' '.repeat(padded - unpadded) + '\n';
  if (text.length > 0xffff)
    throw new DataverError('USAGE', 'tensor has too many dimensions for a .npy v1 header');
  const out = Buffer.alloc(10 + text.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(text.length, 8);
  out.write(text, 10, 'latin1');
  return out;
}

/**
 * Serializes a tensor as a version 1.0 `.npy` file.
 *
 * @example
 * const bytes = serializeNpy({ dtype: 'float32', shape: [2], data: new Float32Array([0.5, 1]) });
 */
export function serializeNpy(tensor: Tensor): Uint8Array {
  validateTensor(tensor);
  return Buffer.concat([npyHeaderBytes(tensor), encodeElements(tensor)]);
}

/**
 * The `.npy` file as pieces (header, data view) for writing without a copy.
 *
 * @example
 * await writeFileAtomic('x.npy', serializeNpyChunks(tensor));
 */
export function serializeNpyChunks(tensor: Tensor): Uint8Array[] {
  validateTensor(tensor);
  return [npyHeaderBytes(tensor), encodeElements(tensor)];
}
