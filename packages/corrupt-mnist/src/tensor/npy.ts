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
} from './dtype.js';
import type { ParseOptions } from './pt.js';
import type { Tensor, TensorData } from './types.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/**
 * Parses the header of a `.npy` file (needs only its first bytes: 10 + header length).
 *
 * @example
 * const { descr, shape } = parseNpyHeader(firstBytes);
 */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new DataverError('CORRUPT', 'not a .npy file (bad magic)');
  const major = bytes[6]!;
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = bytes[8]! | (bytes[9]! << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataverError('TRUNCATED', '.npy header is truncated');
    headerLen = (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16) | (bytes[11]! << 24)) >>> 0;
    start = 12;
  } else {
    throw new DataverError('UNSUPPORTED_CONTENT', `.npy format version ${major} is not supported`);
  }
  if (start + headerLen > bytes.length) throw new DataverError('TRUNCATED', '.npy header is truncated');
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
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset: start + headerLen };
}

/**
 * Parses a `.npy` file into a dense C-order tensor (Fortran-ordered arrays are transposed).
 *
 * @example
 * const t = parseNpy(await fs.readFile('x.npy'));
 */
export function parseNpy(bytes: Uint8Array, options: ParseOptions = {}): Tensor {
  const h = parseNpyHeader(bytes);
  const order = h.descr[0];
  const dtype = dtypeFromNumpy(/^[<>|=]/.test(h.descr) ? h.descr.slice(1) : h.descr);
  if (!dtype || !(order === '<' || order === '>' || order === '|' || order === '=')) {
    throw new DataverError('UNSUPPORTED_DTYPE', `.npy dtype '${h.descr}' is not supported`, {
      hint: `supported: ${Object.values(DTYPES)
        .map((d) => d.numpy)
        .join(' ')}`,
    });
  }
  const numel = numelOf(h.shape, '.npy array');
  const nbytes = numel * DTYPES[dtype].size;
  if (nbytes > (options.maxBytes ?? DEFAULT_MAX_BYTES))
    throw new DataverError('TOO_LARGE', `.npy array of ${nbytes} bytes is too large`);
  if (bytes.length - h.dataOffset < nbytes) {
    throw new DataverError(
      'TRUNCATED',
      `.npy data holds ${bytes.length - h.dataOffset} bytes, shape needs ${nbytes}`,
    );
  }
  const data = decodeElements(bytes.subarray(h.dataOffset), dtype, numel, order === '>');
  if (!h.fortranOrder || h.shape.length < 2) return { dtype, shape: h.shape, data };
  return { dtype, shape: h.shape, data: fortranToC(data, h.shape) };
}

function fortranToC(src: TensorData, shape: number[]): TensorData {
  const out = new (src.constructor as new (n: number) => TensorData)(src.length);
  const nd = shape.length;
  // Fortran strides: first dim fastest
  const fstride: number[] = [];
  for (let i = 0, s = 1; i < nd; i++) {
    fstride[i] = s;
    s *= shape[i]!;
  }
  const idx = new Array<number>(nd).fill(0);
  const s = src as unknown as { [i: number]: number | bigint };
  const d = out as unknown as { [i: number]: number | bigint };
  for (let o = 0; o < out.length; o++) {
    let f = 0;
    for (let k = 0; k < nd; k++) f += idx[k]! * fstride[k]!;
    d[o] = s[f]!;
    for (let k = nd - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * The `.npy` header (magic, version, padded dict) for a C-order array; data follows it.
 *
 * @example
 * const header = npyHeaderBytes(tensor); // 128 bytes for a 4-d float32 tensor
 */
export function npyHeaderBytes(tensor: Tensor): Uint8Array {
  const info = DTYPES[tensor.dtype];
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(', ')})`;
  const dict = `{'descr': '${info.numpy}', 'fortran_order': False, 'shape': ${shape}, }`;
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
