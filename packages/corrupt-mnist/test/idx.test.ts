// The MNIST IDX reader: exact layouts, and every malformed header is a clear DataverError.
import { isDataverError } from '@dataver/foundation';
import * as fc from 'fast-check';
// shared with the tensor format tests
import { expectSameTensor, expectTensorError } from '../../tensor/test/helpers/expect';
import { parseIdx } from '../src/index';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);

test('IDX: validates magic, rank, dimensions and exact length', () => {
  const idx = (type: number, dims: number[], body: number[]): Buffer => {
    const h = Buffer.alloc(4 + 4 * dims.length);
    h[2] = type;
    h[3] = dims.length;
    for (const [i, d] of dims.entries()) h.writeUInt32BE(d, 4 + 4 * i);
    return Buffer.concat([h, Buffer.from(body)]);
  };
  expectSameTensor(
    { dtype: 'uint8', shape: [2, 1, 2], data: new Uint8Array([1, 2, 3, 4]) },
    parseIdx(idx(8, [2, 1, 2], [1, 2, 3, 4])),
  );
  expectSameTensor(
    { dtype: 'int16', shape: [2], data: new Int16Array([-2, 258]) },
    parseIdx(idx(0x0b, [2], [0xff, 0xfe, 1, 2])),
  );
  expectTensorError(
    () => parseIdx(idx(8, [2, 2], [1, 2, 3])),
    'TRUNCATED',
    /15 bytes, its header \[2,2\] implies 16/,
  );
  expectTensorError(() => parseIdx(idx(8, [1], [1, 2])), 'CORRUPT', /implies/);
  expectTensorError(
    () => parseIdx(idx(8, [1, 28, 27], []), { innerShape: [28, 28] }),
    'CORRUPT',
    /not \[N,28,28\]/,
  );
  expectTensorError(() => parseIdx(Buffer.from([1, 0, 8, 1])), 'CORRUPT', /magic/);
  expectTensorError(() => parseIdx(idx(0x42, [1], [1])), 'CORRUPT', /type byte/);
  expectTensorError(() => parseIdx(idx(8, [1], [1]), { rank: 3 }), 'CORRUPT', /rank/);
});

test('random bytes give a DataverError or a tensor, never another exception', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      try {
        parseIdx(b);
      } catch (error) {
        if (!isDataverError(error)) throw error;
      }
      return true;
    }),
    { numRuns: RUNS },
  );
});
