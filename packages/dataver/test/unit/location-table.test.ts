// The remote index's view keeps a million locations in typed arrays: it must answer exactly as a
// Map of hex strings to locations would, through growth, replacement and lookups of absent keys.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { LocationTable, type ObjectLocation } from '../../src/odb/location-table';

const hashOf = (n: number) => createHash('sha256').update(String(n)).digest('hex');

const location = fc.oneof(
  fc.record({ kind: fc.constant('loose' as const), size: fc.nat() }),
  fc.record({
    kind: fc.constant('pack' as const),
    pack: fc.integer({ min: 0, max: 5 }).map(hashOf),
    offset: fc.nat(),
    size: fc.nat(),
  }),
);

test('answers like a Map for any sequence of sets, across growth', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), location), { maxLength: 2500 }),
      fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 200 }),
      (sets, probes) => {
        const table = new LocationTable();
        const reference = new Map<string, ObjectLocation>();
        for (const [n, loc] of sets) {
          table.set(hashOf(n), loc);
          reference.set(hashOf(n), loc);
        }
        expect(table.size).toBe(reference.size);
        for (const n of [...probes, ...sets.map(([m]) => m)]) {
          expect(table.get(hashOf(n))).toEqual(reference.get(hashOf(n)));
          expect(table.has(hashOf(n))).toBe(reference.has(hashOf(n)));
        }
        expect(new Map(table.entries())).toEqual(reference);
      },
    ),
    { numRuns: 30 },
  );
});

test('never finds what is not a digest, and refuses to store it', () => {
  const table = new LocationTable();
  expect(table.get(hashOf(1))).toBeUndefined();
  table.set(hashOf(1), { kind: 'loose', size: 3 });
  for (const bad of [
    '',
    'zz'.repeat(32),
    hashOf(1).slice(0, 62),
    `${hashOf(1)}00`,
    hashOf(1).toUpperCase().replace(/[0-9]/g, 'g'),
  ])
    expect(table.get(bad)).toBeUndefined();
  expect(() => table.set('not a hash', { kind: 'loose', size: 1 })).toThrow(TypeError);
});

test('finds every one of 20 000 objects after growing several times, and replaces in place', () => {
  const table = new LocationTable();
  for (let n = 0; n < 20_000; n++)
    table.set(hashOf(n), { kind: 'pack', pack: hashOf(n % 7), offset: n, size: n * 2 });
  for (let n = 0; n < 20_000; n += 2) table.set(hashOf(n), { kind: 'loose', size: n });
  expect(table.size).toBe(20_000);
  for (let n = 0; n < 20_000; n++) {
    expect(table.get(hashOf(n))).toEqual(
      n % 2 === 0
        ? { kind: 'loose', size: n }
        : { kind: 'pack', pack: hashOf(n % 7), offset: n, size: n * 2 },
    );
  }
  expect(table.get(hashOf(20_000))).toBeUndefined();
});

test('digests given as bytes are the same keys as their hex', () => {
  const table = new LocationTable();
  const bytes = Buffer.concat(Array.from({ length: 3000 }, (_, n) => Buffer.from(hashOf(n), 'hex')));
  for (let n = 0; n < 3000; n += 2) table.setBytes(bytes, n * 32, { kind: 'loose', size: n });
  for (let n = 0; n < 3000; n++) {
    expect(table.hasBytes(bytes, n * 32)).toBe(n % 2 === 0);
    expect(table.get(hashOf(n))).toEqual(n % 2 === 0 ? { kind: 'loose', size: n } : undefined);
  }
  table.set(hashOf(1), { kind: 'loose', size: 7 });
  expect(table.hasBytes(bytes, 32)).toBe(true);
  expect(table.size).toBe(1501);
});
