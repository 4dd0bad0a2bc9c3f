// Property tests: random bytes and random mutations of valid files make every reader throw a
// DataverError (or succeed), never another exception and never a hang.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDataverError } from '@dataver/foundation';
import * as fc from 'fast-check';
import { unpickle } from '../src/container/pickle';
import {
  flattenTensors,
  parseNpy,
  parsePt,
  parseSafetensors,
  parseTensorFile,
  serializeNpy,
  serializePt,
  serializeSafetensors,
  type Tensor,
} from '../src/index';

// Small caps keep hostile headers from allocating much; mutations stay fast.
const LIMIT = { maxBytes: 1 << 20 };
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);

function onlyTensorErrors(fn: () => unknown): boolean {
  try {
    fn();
  } catch (error) {
    if (!isDataverError(error)) throw error;
  }
  return true;
}

const t8: Tensor = { dtype: 'uint8', shape: [2, 3, 4], data: Uint8Array.from({ length: 24 }, (_, i) => i) };
const t64: Tensor = { dtype: 'int64', shape: [5], data: new BigInt64Array([0n, 1n, -1n, 7n, 9n]) };
const tf: Tensor = { dtype: 'float32', shape: [3, 1], data: new Float32Array([0.5, -2, 3]) };

// torch.save(..., _use_new_zipfile_serialization=False) of a dict with a strided uint8 view and a float tensor
const legacyPt = fs.readFileSync(path.join(__dirname, 'fixtures', 'legacy-views.pt'));

// torch.save (zip format) of an OrderedDict with a permuted int64 view and a nested tuple/list
const torchZip = fs.readFileSync(path.join(__dirname, 'fixtures', 'torch-zip-views.pt'));

const VALID: Record<string, Uint8Array> = {
  pt: serializePt(t8),
  ptDict: serializePt({ a: t64, b: tf }),
  ptList: serializePt([tf, t8]),
  npy: serializeNpy(tf),
  npy64: serializeNpy(t64),
  safetensors: serializeSafetensors({ x: t8, y: t64 }),
  legacy: legacyPt,
  torchZip,
};

/** Mutation: flip, set, delete, insert bytes or truncate. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(bytes: Uint8Array, ops: { kind: string; at: number; value: number }[]): Uint8Array {
  let b = Buffer.from(bytes);
  for (const op of ops) {
    if (b.length === 0) break;
    const at = op.at % b.length;
    if (op.kind === 'set') b[at] = op.value;
    else if (op.kind === 'flip') b[at]! ^= op.value;
    else if (op.kind === 'truncate') b = b.subarray(0, at);
    else if (op.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + op.value)]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from([op.value]), b.subarray(at)]);
  }
  return b;
}

const readers: Record<string, (b: Uint8Array) => unknown> = {
  pt: (b) => parsePt(b, LIMIT),
  ptNoCrc: (b) => parsePt(b, { ...LIMIT, verifyChecksums: false }),
  npy: (b) => parseNpy(b, LIMIT),
  safetensors: (b) => parseSafetensors(b, LIMIT),
  sniffed: (b) => parseTensorFile(b, undefined, LIMIT),
  pickle: (b) =>
    unpickle(b, {
      callables: new Map([['collections.OrderedDict', () => new Map()]]),
      values: new Set(),
      persistentLoad: () => null,
    }),
};

test('the legacy fixture itself parses to the expected views', () => {
  const value = parsePt(legacyPt) as Map<string, Tensor>;
  expect(value.get('view')!.shape).toEqual([2, 2, 2]);
  expect(Array.from(value.get('view')!.data as Uint8Array)).toEqual([4, 6, 8, 10, 16, 18, 20, 22]);
  expect(Array.from(value.get('f')!.data as Float32Array)).toEqual([0.5, -2]);
});

test('the torch zip fixture parses to the expected values', () => {
  const tensors = flattenTensors(parsePt(torchZip));
  expect(tensors.map((t) => [t.name, t.tensor.dtype, t.tensor.shape])).toEqual([
    ['w', 'int64', [4, 2, 3]],
    ['b.0', 'float32', [2]],
    ['b.1.0', 'uint8', [2]],
  ]);
  expect(Array.from(tensors[0]!.tensor.data as BigInt64Array, Number).slice(0, 6)).toEqual([
    0, 4, 8, 12, 16, 20,
  ]);
});

describe('random bytes', () => {
  test.each(Object.keys(readers))('%s: DataverError or a value', (name) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyTensorErrors(() => readers[name]!(b))),
      { numRuns: RUNS },
    );
  });
});

describe('mutations of valid files', () => {
  const pairs: [string, string][] = [
    ['pt', 'pt'],
    ['ptDict', 'ptNoCrc'],
    ['ptList', 'ptNoCrc'],
    ['pt', 'ptNoCrc'],
    ['npy', 'npy'],
    ['npy64', 'npy'],
    ['safetensors', 'safetensors'],
    ['safetensors', 'sniffed'],
    ['legacy', 'pt'],
    ['torchZip', 'pt'],
    ['torchZip', 'ptNoCrc'],
  ];
  test.each(pairs)('%s read by %s', (file, reader) => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ops) =>
        onlyTensorErrors(() => readers[reader]!(mutate(VALID[file]!, ops))),
      ),
      { numRuns: RUNS },
    );
  });

  test('pickle bytes inside a .pt: mutations of data.pkl only', () => {
    // the pickle is the riskiest parser: mutate it alone, CRC off
    const good = serializePt({ a: t64, b: tf });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ops) => {
        const start = 64; // data.pkl is the first record, its data starts at byte 64
        const m = mutate(good.subarray(start, start + 200), ops);
        return onlyTensorErrors(() => readers['pickle']!(m));
      }),
      { numRuns: RUNS },
    );
  });
});
