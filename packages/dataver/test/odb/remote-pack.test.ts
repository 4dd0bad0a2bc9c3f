// Pack and index-segment formats: property tests (round trips, damage
// detection) and interop of packs with a standard tar reader.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tar from 'tar';
import { PackBuilder, packedSize, parsePack, parsePackIndexFile } from '../../src/odb/pack';
import { decodeSegment, encodeSegment, type IndexSegment } from '../../src/odb/remote-index';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

describe('packs', () => {
  test('property: entries point at exactly the bytes added, and parsePack finds them again', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 20 }), (blobs) => {
        const builder = new PackBuilder();
        const added = blobs.map((b) => Buffer.from(b));
        for (const data of added) builder.add(sha(data), data);
        const { bytes, hash, index } = builder.finish();
        expect(hash).toBe(sha(bytes));
        expect(bytes.length).toBe(added.reduce((n, b) => n + packedSize(b.length), 1024));
        index.objects.forEach(([h, offset, size], i) => {
          expect(h).toBe(sha(added[i]));
          expect(bytes.subarray(offset, offset + size).equals(added[i])).toBe(true);
        });
        expect(parsePack(bytes).map((e) => [e.hash, e.offset, e.size])).toEqual(index.objects);
        expect(parsePackIndexFile(JSON.parse(JSON.stringify(index)), hash)).toEqual(index);
      }),
      { numRuns: 50 },
    );
  });

  test('a pack is a standard tar archive', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dataver-pack-'));
    try {
      const builder = new PackBuilder();
      const blobs = [Buffer.from('first object\n'), Buffer.alloc(0), Buffer.alloc(1025, 7)];
      for (const b of blobs) builder.add(sha(b), b);
      const file = path.join(dir, 'p.tar');
      await fs.writeFile(file, builder.finish().bytes);
      const listed: [string, number][] = [];
      await tar.t({ file, onReadEntry: (e) => listed.push([e.path, e.size ?? -1]) });
      expect(listed).toEqual(blobs.map((b) => [sha(b), b.length]));
      await tar.x({ file, cwd: dir });
      for (const b of blobs) expect((await fs.readFile(path.join(dir, sha(b)))).equals(b)).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('a pack index that does not fit its pack is rejected', () => {
    const h = 'a'.repeat(64);
    expect(parsePackIndexFile({ version: 1, pack: h, size: 10, objects: [[h, 5, 10]] }, h)).toBeUndefined();
    expect(
      parsePackIndexFile({ version: 1, pack: h, size: 10, objects: [] }, 'b'.repeat(64)),
    ).toBeUndefined();
    expect(parsePackIndexFile({ version: 1, pack: h, size: 10, objects: [['x', 0, 1]] }, h)).toBeUndefined();
  });
});

describe('index segments', () => {
  const segmentArb = fc.record({
    loose: fc.array(fc.tuple(hashArb, fc.nat()), { maxLength: 10 }),
    packs: fc.array(
      fc.record({
        pack: hashArb,
        objects: fc.array(fc.tuple(hashArb, fc.nat({ max: 1000 }), fc.nat({ max: 1000 })), { maxLength: 5 }),
      }),
      { maxLength: 4 },
    ),
  });

  test('property: encoding is canonical and decodes to the same content', () => {
    fc.assert(
      fc.property(segmentArb, (raw) => {
        const segment: IndexSegment = {
          version: 1,
          loose: raw.loose,
          packs: raw.packs.map((p) => ({ pack: p.pack, size: 2000, objects: p.objects })),
        };
        const a = encodeSegment(segment);
        const shuffled = {
          ...segment,
          loose: [...segment.loose].reverse(),
          packs: [...segment.packs].reverse(),
        };
        expect(encodeSegment(shuffled).key).toBe(a.key);
        const decoded = decodeSegment(a.bytes, a.hash)!;
        expect(encodeSegment(decoded).key).toBe(a.key);
      }),
      { numRuns: 50 },
    );
  });

  test('property: any changed byte makes the segment damaged', () => {
    const { bytes, hash } = encodeSegment({ version: 1, loose: [['c'.repeat(64), 5]], packs: [] });
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const damaged = Buffer.from(bytes);
        damaged[i] ^= x;
        expect(decodeSegment(damaged, hash)).toBeUndefined();
      }),
    );
  });
});
