// A manifest read in place must answer exactly as the parsed one: every lookup by binary search
// over the bytes, and the hash of the edited manifest computed from untouched runs of bytes must
// equal the hash of the manifest serialized anew; read from its file a page at a time, the same.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import fc from 'fast-check';
import { type ManifestEdit, type ManifestEntry, ManifestView, manifestObject } from '../../src/odb/manifest';

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

// Characters on both sides of '/' in code-unit order ('-', '.', '0'), and beyond the BMP.
const segment = fc
  .array(fc.constantFrom('a', 'b', '-', '_', '0', 'é', '𝄞', '.'), { minLength: 1, maxLength: 3 })
  .map((cs) => cs.join(''))
  .filter((s) => s !== '.' && s !== '..');
const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((ss) => ss.join('/'));
const hash = fc.constantFrom('0'.repeat(64), 'ab'.repeat(32), 'f'.repeat(64));
const entry = fc.record({ path, hash, size: fc.nat() });
const entries = fc.uniqueArray(entry, { selector: (e) => e.path, maxLength: 40 });

function viewOf(list: ManifestEntry[]): ManifestView {
  const { bytes, hash: h } = manifestObject(list);
  const view = ManifestView.from(bytes, h);
  if (!view) throw new Error('a serialized manifest must have a view');
  return view;
}

test('get and under find exactly what the parsed manifest holds', () => {
  fc.assert(
    fc.property(entries, fc.array(path, { maxLength: 10 }), (list, probes) => {
      const view = viewOf(list);
      const sorted = [...list].sort(byPath);
      for (const e of sorted) expect(view.get(e.path)).toEqual(e);
      for (const p of probes) {
        expect(view.get(p)).toEqual(sorted.find((e) => e.path === p));
        expect(view.under(p)).toEqual(sorted.filter((e) => e.path.startsWith(`${p}/`)));
      }
    }),
  );
});

test('hashWith equals the hash of the edited manifest serialized anew', () => {
  fc.assert(
    fc.property(
      entries,
      fc.uniqueArray(fc.record({ path, keep: fc.boolean(), hash, size: fc.nat() }), {
        selector: (e) => e.path,
        maxLength: 12,
      }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (list, changes, removals) => {
        // Edits: new or replaced entries, removals of some existing paths, and removals of absent ones.
        const edits = new Map<string, ManifestEdit>();
        for (const i of removals) {
          const victim = list[i % Math.max(1, list.length)];
          if (victim) edits.set(victim.path, { path: victim.path, entry: null });
        }
        for (const c of changes)
          edits.set(c.path, {
            path: c.path,
            entry: c.keep ? { path: c.path, hash: c.hash, size: c.size } : null,
          });
        const sortedEdits = [...edits.values()].sort(byPath);
        const after = new Map(list.map((e) => [e.path, e]));
        for (const e of sortedEdits) {
          if (e.entry) after.set(e.path, e.entry);
          else after.delete(e.path);
        }
        expect(viewOf(list).hashWith(sortedEdits)).toBe(manifestObject([...after.values()]).hash);
      },
    ),
  );
});

test('no edit gives the manifest its own hash; edits out of order are refused', () => {
  const list = [
    { path: 'a/1', hash: 'f'.repeat(64), size: 1 },
    { path: 'b', hash: '0'.repeat(64), size: 2 },
  ];
  const view = viewOf(list);
  expect(view.hashWith([])).toBe(view.hash);
  expect(viewOf([]).hashWith([])).toBe(manifestObject([]).hash);
  expect(() =>
    view.hashWith([
      { path: 'b', entry: null },
      { path: 'a/1', entry: null },
    ]),
  ).toThrow(/out of order/);
});

test('bytes not laid out as dataver writes them have no view', () => {
  const list = [{ path: 'a', hash: 'f'.repeat(64), size: 1 }];
  const pretty = Buffer.from(JSON.stringify(list, null, 2));
  expect(ManifestView.from(pretty, 'x')).toBeUndefined();
  const reordered = Buffer.from('[\n{"hash":"ffff","path":"a","size":1}\n]\n');
  expect(ManifestView.from(reordered, 'x')).toBeUndefined();
  expect(ManifestView.from(Buffer.from('[\n]\n'), 'x')).toBeUndefined();
});

describe('read from its file a page at a time (pages of 16 KiB)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(nodePath.join(tmpdir(), 'dataver-manifest-view-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The file view of a manifest, beside the view of its bytes in memory. */
  function bothViews(list: ManifestEntry[], run: (file: ManifestView, memory: ManifestView) => void) {
    const { bytes, hash: h } = manifestObject(list);
    const file = nodePath.join(dir, h);
    writeFileSync(file, bytes);
    const fd = openSync(file, 'r');
    try {
      const view = ManifestView.fromFile(fd, bytes.length, h);
      if (!view) throw new Error('a serialized manifest must have a view');
      run(view, viewOf(list));
    } finally {
      closeSync(fd);
    }
  }
  // Long paths and many entries: lines cross page boundaries, lookups cross pages both ways.
  const big = fc
    .uniqueArray(
      fc.record({
        path: fc
          .tuple(
            fc.integer({ min: 0, max: 60 }),
            fc.integer({ min: 0, max: 99 }),
            fc.string({ maxLength: 90 }),
          )
          .map(([d, f, pad]) => `d${d}/f${f}-${Buffer.from(pad).toString('hex')}`),
        hash,
        size: fc.nat(),
      }),
      { selector: (e) => e.path, minLength: 200, maxLength: 900 },
    )
    .filter((list) => manifestObject(list).bytes.length > 3 * 16 * 1024);

  test('answers get, under and hashWith exactly as the bytes in memory do', () => {
    fc.assert(
      fc.property(big, fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), (list, picks) => {
        bothViews(list, (file, memory) => {
          const sorted = [...list].sort(byPath);
          for (const i of picks) {
            const e = sorted[i % sorted.length] as ManifestEntry;
            const folder = e.path.slice(0, e.path.indexOf('/'));
            expect(file.get(e.path)).toEqual(e);
            expect(file.get(`${e.path}x`)).toEqual(memory.get(`${e.path}x`));
            expect(file.under(folder)).toEqual(memory.under(folder));
          }
          const edits: ManifestEdit[] = [{ path: (sorted[0] as ManifestEntry).path, entry: null }];
          expect(file.hashWith(edits)).toBe(memory.hashWith(edits));
          expect(file.hashWith([])).toBe(manifestObject(list).hash);
        });
      }),
      { numRuns: 25, endOnFailure: true }, // shrinking hundreds of long entries takes minutes
    );
  });

  test('a file shorter than the size it was opened with is corrupt, not a short answer', () => {
    const list = Array.from({ length: 500 }, (_, i) => ({
      path: `f${String(i).padStart(4, '0')}`,
      hash: 'f'.repeat(64),
      size: i,
    }));
    const { bytes, hash: h } = manifestObject(list);
    const file = nodePath.join(dir, `short-${h}`);
    writeFileSync(file, bytes.subarray(0, bytes.length - 20_000));
    const fd = openSync(file, 'r');
    try {
      expect(() => ManifestView.fromFile(fd, bytes.length, h)).toThrow(/shorter than it was/);
    } finally {
      closeSync(fd);
    }
  });
});
