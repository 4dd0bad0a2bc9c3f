// The cache's packs (odb/local-packs.ts) with small sizes, so that one test makes many packs and
// many chunks: objects read back while their pack is being written (from the staging buffer, from
// a chunk whose write is in flight, from the file once written), after sealing, from a fresh
// instance, and after a rewrite that drops some of them.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalPacks } from '../../src/odb/local-packs';
import { parsePack } from '../../src/odb/pack';
import { tempDir } from '../helpers/cli';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sizes = { packBytes: 64 * 1024, stageBytes: 8 * 1024 };

function objects(count: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    // Mostly small; every 50th larger than a chunk, so it gets a chunk of its own.
    const bytes = randomBytes(i % 50 === 7 ? 20_000 : 1 + ((i * 997) % 5000));
    out.set(sha(bytes), bytes);
  }
  return out;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('objects read back whole while their packs are written, sealed, reopened and rewritten', async () => {
  const dir = path.join(tempDir(), 'packs');
  const packs = new LocalPacks(dir, sizes);
  const all = objects(240);
  const added: string[] = [];
  for (const [hash, bytes] of all) {
    packs.add(hash, bytes);
    added.push(hash);
    // Read back a few of the earlier ones, wherever they are now.
    for (const h of [added[0], added[Math.floor(added.length / 2)], hash] as string[])
      expect(packs.read(h)?.equals(all.get(h) as Buffer)).toBe(true);
    if (added.length % 10 === 0) {
      // Let the writes finish: the open pack's written chunks are then read from its file.
      await tick();
      await tick();
      for (const h of added.slice(-12)) expect(packs.read(h)?.equals(all.get(h) as Buffer)).toBe(true);
    }
  }
  for (const [hash, bytes] of all) expect(packs.sizeOf(hash)).toBe(bytes.length);
  await packs.finish();

  // Several packs, each a tar whose name is its hash, holding what its index says.
  const names = readdirSync(dir).filter((n) => n.endsWith('.tar'));
  expect(names.length).toBeGreaterThan(5);
  let members = 0;
  for (const name of names) {
    const bytes = readFileSync(path.join(dir, name));
    expect(name).toBe(`pack-${sha(bytes)}.tar`);
    for (const e of parsePack(bytes)) {
      expect(sha(bytes.subarray(e.offset, e.offset + e.size))).toBe(e.hash);
      members++;
    }
  }
  expect(members).toBe(all.size);

  const again = new LocalPacks(dir, sizes);
  expect(again.list().length).toBe(all.size);
  for (const [hash, bytes] of all) expect(again.read(hash)?.equals(bytes)).toBe(true);

  // Dropping every third object rewrites every pack that held one; the others read back intact.
  const gone = new Set([...all.keys()].filter((_, i) => i % 3 === 0));
  expect(await again.remove(gone)).toBe(gone.size);
  const after = new LocalPacks(dir, sizes);
  for (const [hash, bytes] of all) {
    if (gone.has(hash)) expect(after.has(hash)).toBe(false);
    else expect(after.read(hash)?.equals(bytes)).toBe(true);
  }
  expect(after.list().length).toBe(all.size - gone.size);
  expect(after.damaged()).toEqual([]);
});

test('an object added twice is stored once', async () => {
  const dir = path.join(tempDir(), 'packs');
  const packs = new LocalPacks(dir, sizes);
  const bytes = randomBytes(3000);
  packs.add(sha(bytes), bytes);
  packs.add(sha(bytes), bytes);
  await packs.finish();
  packs.add(sha(bytes), bytes);
  await packs.finish();
  expect(readdirSync(dir).filter((n) => n.endsWith('.tar'))).toHaveLength(1);
  expect(new LocalPacks(dir).list()).toEqual([{ hash: sha(bytes), size: 3000 }]);
});
