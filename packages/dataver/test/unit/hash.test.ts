// The hashers agree with node:crypto on any content and size, including block boundaries.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as fc from 'fast-check';
import { hashFile, hashFileSync } from '../../src/hash/file';
import { ingestFileSync, objectPathIn } from '../../src/hash/ingest';
import { hashFiles } from '../../src/hash/pool';
import { tempDir } from '../helpers/cli';

const expected = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('hashing', () => {
  const dir = tempDir();
  const sizes = [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17];

  it.each(sizes)('hashFile / hashFileSync / ingest agree with crypto for %i bytes', (size) => {
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4093) data[i] = i & 0xff;
    const file = path.join(dir, `f${size}`);
    writeFileSync(file, data);
    return hashFile(file).then((r) => {
      expect(r).toEqual({ hash: expected(data), size });
      expect(hashFileSync(file, Buffer.alloc(1 << 16))).toEqual({ hash: expected(data), size });
      const root = path.join(dir, 'objects');
      mkdirSync(root, { recursive: true });
      const ingested = ingestFileSync(file, root, Buffer.alloc(1 << 16));
      expect(ingested.hash).toBe(expected(data));
      expect(readFileSync(objectPathIn(root, ingested.hash)).equals(data)).toBe(true);
      // Ingesting again finds the object and leaves no temporary file.
      expect(ingestFileSync(file, root, Buffer.alloc(1 << 16)).added).toBe(false);
      expect(readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    });
  });

  it('hashFiles returns results in input order for random contents', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 5000 }), { minLength: 1, maxLength: 12 }),
        async (blobs) => {
          const files = blobs.map((b, i) => {
            const p = path.join(dir, `r${i}`);
            writeFileSync(p, b);
            return { path: p, size: b.length };
          });
          const results = await hashFiles(files);
          for (const [i, r] of results.entries()) {
            expect(r).toEqual({ hash: expected(Buffer.from(blobs[i])), size: blobs[i].length });
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('reports an unreadable file as a failure for that file only', async () => {
    const ok = path.join(dir, 'ok');
    writeFileSync(ok, 'ok');
    const results = await hashFiles([
      { path: ok, size: 2 },
      { path: path.join(dir, 'absent'), size: 0 },
    ]);
    expect(results[0]).toEqual({ hash: expected(Buffer.from('ok')), size: 2 });
    expect(results[1]).toMatchObject({ code: 'ENOENT' });
  });
});
