// The binary stat table: what is saved is what is read back, merged in path order with the
// unchanged records, and a torn or damaged file is an empty table, never a half-trusted one.
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { type StatEntry, StatTable } from '../../src/core/stat-table';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataver-stat-table-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const entry = (n: number): StatEntry => ({
  size: n,
  mtimeMs: 1_700_000_000_000.123 + n,
  ctimeMs: 1_700_000_000_001.5 + n,
  ino: 2 ** 40 + n,
  hash: (n % 16).toString(16).repeat(64),
});

test('edits, removals and additions survive a save and merge with unchanged records', async () => {
  const arbPath = fc.stringMatching(/^[a-z\u00e9\ue000\u{1f600}/]{1,12}$/u);
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(arbPath, { maxLength: 40 }),
      fc.array(fc.tuple(arbPath, fc.option(fc.nat(1000))), { maxLength: 30 }),
      async (initial, edits) => {
        const file = path.join(dir, `t-${Math.random()}.bin`);
        const model = new Map<string, StatEntry>();
        const first = StatTable.read(file);
        initial.forEach((p, i) => {
          first.set(p, entry(i));
          model.set(p, entry(i));
        });
        await first.save(file);
        const second = StatTable.read(file);
        for (const [p, n] of edits) {
          if (n === null) {
            expect(second.delete(p)).toBe(model.delete(p));
          } else {
            second.set(p, entry(n));
            model.set(p, entry(n));
          }
        }
        // Before the save, the packed changes read back as they were set.
        for (const [p] of edits) expect(second.get(p)).toEqual(model.get(p));
        expect(second.size).toBeGreaterThanOrEqual(model.size);
        await second.save(file);
        const third = StatTable.read(file);
        for (const p of new Set([...initial, ...edits.map(([q]) => q)]))
          expect(third.get(p)).toEqual(model.get(p));
        expect([...third.paths()].sort()).toEqual([...model.keys()].sort());
        // Sorted by bytes on disk: paths() of a fresh read walks the file in order.
        const onDisk = [...third.paths()];
        expect(onDisk).toEqual([...onDisk].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      },
    ),
    { numRuns: 60 },
  );
});

test('lookups in any order find every entry of a large table', async () => {
  const file = path.join(dir, 'big.bin');
  const table = StatTable.read(file);
  for (let i = 0; i < 5000; i++) table.set(`d${i % 7}/f${i}.bin`, entry(i));
  await table.save(file);
  const back = StatTable.read(file);
  for (let i = 4999; i >= 0; i -= 3) expect(back.get(`d${i % 7}/f${i}.bin`)).toEqual(entry(i));
  expect(back.get('d0/missing.bin')).toBeUndefined();
});

test.each([
  ['truncated', (b: Buffer) => b.subarray(0, b.length - 7)],
  [
    'one byte flipped',
    (b: Buffer) => Buffer.concat([b.subarray(0, 20), Buffer.from([b[20] ^ 1]), b.subarray(21)]),
  ],
  ['empty', () => Buffer.alloc(0)],
  ['another format', () => Buffer.from('{"version":2,"entries":{}}')],
])('a %s file is an empty table', async (_name, damage) => {
  const file = path.join(dir, 'damaged.bin');
  const table = StatTable.read(file);
  table.set('a.bin', entry(1));
  table.set('b.bin', entry(2));
  await table.save(file);
  fs.writeFileSync(file, damage(fs.readFileSync(file)));
  const back = StatTable.read(file);
  expect(back.get('a.bin')).toBeUndefined();
  expect(back.size).toBe(0);
});
