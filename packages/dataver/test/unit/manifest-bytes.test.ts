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

test('the streamed hash and the stored object are those of the same bytes, from any entry shape', async () => {
  const { createHash } = await import('node:crypto');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { ObjectCache } = await import('../../src/odb/cache');
  const { manifestHash } = await import('../../src/odb/manifest');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dv-manifest-'));
  try {
    const cache = new ObjectCache(path.join(dir, 'cache'), path.join(dir, 'tmp'));
    const hash = 'cd'.repeat(32);
    // Unsorted, and over several 1 MiB chunks; held as other objects, read through `fields`.
    const files = Array.from({ length: 25_000 }, (_, i) => ({
      rel: `x/${(i * 7919) % 25_000}-é.bin`,
      h: hash,
      n: i,
    }));
    const fields = (f: (typeof files)[number]) => ({ path: f.rel, hash: f.h, size: f.n });
    const expected = reference(files.map(fields));
    const expectedHash = createHash('sha256').update(expected).digest('hex');
    expect(manifestHash(files, fields)).toBe(expectedHash);
    expect(await cache.putManifest(files, fields)).toBe(expectedHash);
    expect(fs.readFileSync(cache.objectPath(expectedHash)).equals(expected)).toBe(true);
    // Stored again: the same object, and no temporary file left beside it.
    expect(await cache.putManifest(files.map(fields))).toBe(expectedHash);
    expect(fs.readdirSync(cache.objectsDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reading canonical bytes a line at a time gives the parsed entries; other layouts are refused', async () => {
  const { manifestEntriesOf, parseManifest } = await import('../../src/odb/manifest');
  fc.assert(
    fc.property(fc.uniqueArray(entry, { selector: (e) => e.path, maxLength: 40 }), (entries) => {
      const bytes = serializeManifest(
        entries.filter((e) => !e.path.includes('\n')).map((e) => ({ ...e, path: `p${e.path}` })),
      );
      let valid = true;
      let parsed: unknown[] = [];
      try {
        parsed = parseManifest(bytes, 'h');
      } catch {
        valid = false; // a generated path that the manifest rules refuse
      }
      if (valid) expect([...manifestEntriesOf(bytes, 'h')]).toEqual(parsed);
    }),
  );
  // The same entries on one line (valid JSON, not canonical): the line reader says so, and status
  // falls back to parsing the whole manifest.
  const hash = 'ab'.repeat(32);
  const oneLine = Buffer.from(
    JSON.stringify([
      { path: 'a', hash, size: 1 },
      { path: 'b', hash, size: 2 },
    ]),
  );
  expect(parseManifest(oneLine, 'h')).toHaveLength(2);
  expect(() => [...manifestEntriesOf(oneLine, 'h')]).toThrow(/canonical lines/);
});
