// Unit and property tests of the diff engine: manifest walks and tensor meta changes.
import fc from 'fast-check';
import { describeTensorChanges, diffManifestEntries, diffMeta, formatStat } from '../../src/core/diff';
import { diffManifests } from '../../src/core/status';
import type { OutputEntry } from '../../src/lock/schema';
import { comparePaths, type ManifestEntry } from '../../src/odb/manifest';

const manifestArb = fc
  .dictionary(
    fc.stringMatching(/^[a-c]{1,3}(\/[a-c]{1,2})?$/),
    fc.record({ hash: fc.constantFrom('1', '2', '3'), size: fc.nat(9) }),
  )
  .map((d): ManifestEntry[] =>
    Object.entries(d)
      .map(([path, v]) => ({ path, hash: v.hash.repeat(64), size: v.size }))
      .sort((a, b) => comparePaths(a.path, b.path)),
  );

describe('diffManifestEntries', () => {
  test('agrees with the status diff, and carries sizes', () => {
    fc.assert(
      fc.property(manifestArb, manifestArb, (a, b) => {
        const ours = diffManifestEntries(a, b);
        const theirs = diffManifests(a, b).map((c) => ({
          path: c.path,
          state: c.state === 'new' ? 'added' : c.state,
        }));
        expect(ours.map((f) => ({ path: f.path, state: f.state }))).toEqual(theirs);
        for (const f of ours) {
          if (f.state !== 'added') expect(f.sizeBefore).toBe(a.find((e) => e.path === f.path)!.size);
          if (f.state !== 'deleted') expect(f.sizeAfter).toBe(b.find((e) => e.path === f.path)!.size);
        }
        expect(diffManifestEntries(a, a)).toEqual([]);
      }),
    );
  });
});

describe('diffMeta', () => {
  const entry = (meta: OutputEntry['meta']): OutputEntry => ({
    hash: '0'.repeat(64),
    size: 1,
    kind: 'file',
    meta,
  });
  const before = entry({
    format: 'npy',
    tensors: [{ dtype: 'float32', shape: [60000, 1, 28, 28], mean: 0.1307, std: 0.3081 }],
  });
  const after = entry({
    format: 'npy',
    tensors: [{ dtype: 'float32', shape: [60000, 1, 28, 28], mean: -1e-9, std: 1 }],
  });

  test('shows a normalization as mean 0.1307 → 0.0000', () => {
    const [d] = diffMeta(before, after);
    expect(d.summary).toBe('float32 [60000,1,28,28]');
    expect(describeTensorChanges(d.changes)).toBe('mean 0.1307 → 0.0000  std 0.3081 → 1.0000');
  });

  test('dtype and shape changes, added tensors, per-file meta of directories', () => {
    const cast = entry({ format: 'npy', tensors: [{ dtype: 'uint8', shape: [10], mean: 3 }] });
    expect(describeTensorChanges(diffMeta(before, cast)[0].changes)).toBe(
      'dtype float32 → uint8  shape [60000,1,28,28] → [10]  mean 0.1307 → 3.0000  std 0.3081 → –',
    );
    expect(describeTensorChanges(diffMeta(undefined, after)[0].changes)).toBe('new  mean 0.0000  std 1.0000');
    const dir = (m: OutputEntry['meta']): OutputEntry => ({ ...entry(m), kind: 'dir' });
    const d = diffMeta(
      dir({ 'a.npy': before.meta as never }),
      dir({ 'a.npy': after.meta as never, 'b.npy': before.meta as never }),
    );
    expect(d.map((x) => x.file)).toEqual(['a.npy', 'b.npy']);
    expect(diffMeta(before, before)).toEqual([]);
  });

  test('formatStat', () => {
    expect(formatStat(0.13066)).toBe('0.1307');
    expect(formatStat(-0.00000001)).toBe('0.0000');
    expect(formatStat(12345678)).toBe('1.235e+7');
    expect(formatStat(undefined)).toBe('–');
  });
});
