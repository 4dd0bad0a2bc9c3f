// Property tests of the lock and manifest formats and the path rules they rely on.
import { createHash } from 'node:crypto';
import { DataverError } from '@dataver/foundation';
import * as fc from 'fast-check';
import { parseLock, serializeLock } from '../../src/lock/lock-file';
import { isSafeRelativePath } from '../../src/lock/paths';
import type { Lock } from '../../src/lock/schema';
import { manifestObject, parseManifest, serializeManifest } from '../../src/odb/manifest';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const segment = fc
  .stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,11}$/)
  .filter((s) => s !== '.' && s !== '..');
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));

const outputEntry = fc.oneof(
  fc.record({ hash: hex64, size: fc.nat(), kind: fc.constant('file' as const) }),
  fc.record({ hash: hex64, size: fc.nat(), kind: fc.constant('dir' as const), files: fc.nat() }),
);
const lockArb: fc.Arbitrary<Lock> = fc.record({
  version: fc.constant(1 as const),
  // A valid lock has no output inside another (the parser refuses overlaps).
  outputs: fc
    .dictionary(relPath, outputEntry, { maxKeys: 8 })
    .filter(
      (outputs) => !Object.keys(outputs).some((a) => Object.keys(outputs).some((b) => b.startsWith(`${a}/`))),
    ),
  stages: fc.dictionary(
    segment,
    fc.record({
      cmd: fc.string(),
      deps: fc.dictionary(relPath, hex64, { maxKeys: 3 }),
      params: fc.dictionary(segment, fc.oneof(fc.integer(), fc.string(), fc.boolean()), { maxKeys: 3 }),
      outs: fc.dictionary(relPath, hex64, { maxKeys: 3 }),
    }),
    { maxKeys: 4 },
  ),
});

describe('data.lock.json', () => {
  it('round-trips: parse(serialize(lock)) equals lock, and serialization is canonical', () => {
    fc.assert(
      fc.property(lockArb, (lock) => {
        const text = serializeLock(lock);
        const parsed = parseLock(text);
        expect(parsed).toEqual(lock);
        expect(serializeLock(parsed)).toBe(text);
        expect(text.endsWith('}\n')).toBe(true);
      }),
    );
  });

  it('does not depend on key insertion order', () => {
    fc.assert(
      fc.property(lockArb, (lock) => {
        const reversed: Lock = {
          stages: Object.fromEntries(Object.entries(lock.stages).reverse()),
          outputs: Object.fromEntries(Object.entries(lock.outputs).reverse()),
          version: 1,
        };
        expect(serializeLock(reversed)).toBe(serializeLock(lock));
      }),
    );
  });

  it('rejects arbitrary text with a DataverError, never another exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          parseLock(text);
        } catch (error) {
          expect(error).toBeInstanceOf(DataverError);
          expect((error as DataverError).exitCode).toBe(2);
        }
      }),
    );
  });
});

describe('manifests', () => {
  const entries = fc.uniqueArray(fc.record({ path: relPath, hash: hex64, size: fc.nat() }), {
    selector: (e) => e.path,
    maxLength: 30,
  });

  it('round-trip, sort by path and hash to the sha256 of their bytes', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const { hash, bytes } = manifestObject(list);
        expect(hash).toBe(createHash('sha256').update(bytes).digest('hex'));
        const parsed = parseManifest(bytes, hash);
        expect(parsed.map((e) => e.path)).toEqual([...list.map((e) => e.path)].sort());
        expect(serializeManifest([...list].reverse()).equals(bytes)).toBe(true);
      }),
    );
  });

  it('reject entries that escape the directory', () => {
    for (const bad of ['../x', '/etc/passwd', 'a/../../b', 'a//b', '']) {
      const bytes = Buffer.from(JSON.stringify([{ path: bad, hash: 'a'.repeat(64), size: 1 }]));
      expect(() => parseManifest(bytes, 'h')).toThrow(DataverError);
    }
  });
});

describe('isSafeRelativePath', () => {
  it('accepts joined safe segments and rejects anything with an empty, . or .. segment', () => {
    fc.assert(fc.property(relPath, (p) => expect(isSafeRelativePath(p)).toBe(true)));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(segment, fc.constantFrom('', '.', '..')), { minLength: 1, maxLength: 5 }),
        (parts) => {
          const bad = parts.some((s) => s === '' || s === '.' || s === '..');
          expect(isSafeRelativePath(parts.join('/'))).toBe(!bad);
        },
      ),
    );
    expect(isSafeRelativePath('/abs')).toBe(false);
    expect(isSafeRelativePath('C:/x')).toBe(false);
    expect(isSafeRelativePath('a\\b')).toBe(false);
  });
});
