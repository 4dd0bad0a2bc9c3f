// A manifest's bytes are its directory's identity: the chunked writer must give exactly the
// bytes of the plain definition (JSON lines of {path, hash, size}, sorted, in brackets).
import fc from 'fast-check';
import { type ManifestEntry, serializeManifest } from '../../src/odb/manifest';

function reference(entries: ManifestEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map((e) => JSON.stringify({ path: e.path, hash: e.hash, size: e.size }));
  return Buffer.from(`[\n${lines.join(',\n')}\n]\n`);
}

const entry = fc.record({
  path: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  hash: fc.stringMatching(/^[0-9a-f]{64}$/),
  size: fc.oneof(fc.nat(), fc.constant(2 ** 53 - 1), fc.constant(1e21)),
});

test('equals the plain definition, for any entries in any order', () => {
  fc.assert(
    fc.property(fc.uniqueArray(entry, { selector: (e) => e.path, maxLength: 50 }), (entries) => {
      expect(serializeManifest(entries).equals(reference(entries))).toBe(true);
    }),
  );
});

test('equals it across chunk boundaries (a large manifest)', () => {
  const hash = 'ab'.repeat(32);
  const entries = Array.from({ length: 30_000 }, (_, i) => ({ path: `d${i % 7}/é-${i}.bin`, hash, size: i }));
  expect(serializeManifest(entries).equals(reference(entries))).toBe(true);
  expect(serializeManifest([]).toString()).toBe('[\n\n]\n');
});
