// ChunkReader: exact takes and lines out of a stream, whatever the chunking.
import fc from 'fast-check';
import { ChunkReader } from '../../src/util/chunk-reader';

async function* chunksOf(bytes: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    yield bytes.subarray(at, cut);
    at = cut;
  }
  yield bytes.subarray(at);
}

describe('ChunkReader', () => {
  test('takes and lines read the same bytes as slicing the whole, for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constant('\n')), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        async (parts, cuts, ops) => {
          const text = parts.join('');
          const bytes = Buffer.from(text);
          const reader = new ChunkReader(chunksOf(bytes, cuts));
          let at = 0;
          for (const takeLine of ops) {
            if (takeLine) {
              const line = await reader.line();
              const end = bytes.indexOf(10, at);
              const expected =
                at >= bytes.length ? undefined : bytes.subarray(at, end < 0 ? bytes.length : end);
              expect(line).toBe(expected?.toString());
              at = end < 0 ? bytes.length : end + 1;
            } else {
              const got = await reader.take(3);
              expect(got.equals(bytes.subarray(at, at + 3))).toBe(true);
              at = Math.min(bytes.length, at + 3);
            }
          }
        },
      ),
    );
  });
});
