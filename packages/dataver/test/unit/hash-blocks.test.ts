// Every hasher agrees with node:crypto at the read-block boundaries, and the pool with real
// worker threads (the built dist/, as the CLI runs it) keeps input order and per-file failures.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hashFile, hashFileSync, READ_BLOCK } from '../../src/hash/file';
import { ingestFileSync, objectPathIn } from '../../src/hash/ingest';
import type * as Pool from '../../src/hash/pool';
import { assertBuilt, tempDir } from '../helpers/cli';

const expected = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Bytes that differ at every offset, so a skipped or repeated block changes the hash. */
function content(size: number, seed: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  return data;
}

describe('hashing at read-block boundaries', () => {
  const dir = tempDir();
  const sizes = [0, 1, READ_BLOCK - 1, READ_BLOCK, READ_BLOCK + 1, 5 * READ_BLOCK + 3, (9 << 20) + 7];

  it.each(sizes)('hashFile, hashFileSync and ingest agree with crypto for %i bytes', async (size) => {
    const data = content(size, size + 1);
    const file = path.join(dir, `b${size}`);
    writeFileSync(file, data);
    expect(await hashFile(file)).toEqual({ hash: expected(data), size });
    expect(hashFileSync(file)).toEqual({ hash: expected(data), size });
    // A scratch larger than a block, as the worker passes, reads the same bytes.
    expect(hashFileSync(file, Buffer.alloc(3 * READ_BLOCK))).toEqual({ hash: expected(data), size });
    const root = path.join(dir, 'objects');
    mkdirSync(root, { recursive: true });
    const ingested = ingestFileSync(file, root, Buffer.alloc(1 << 20));
    expect(ingested).toMatchObject({ hash: expected(data), size });
    expect(readFileSync(objectPathIn(root, ingested.hash)).equals(data)).toBe(true);
  });

  it('hashFile rejects for a missing file', async () => {
    await expect(hashFile(path.join(dir, 'absent'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the worker pool', () => {
  const dir = tempDir();
  // The built pool: its workers run dist/hash/worker.js, which the sources do not have.
  const load = (): typeof Pool => {
    assertBuilt();
    return require('../../dist/hash/pool.js');
  };

  it('hashes many files of mixed sizes on two workers, in input order, with failures in place', async () => {
    const { hashFiles, isFailure } = load();
    const mixed = [0, 1, READ_BLOCK - 1, READ_BLOCK, READ_BLOCK + 1, 3 << 20, 17 << 20, 100, 4096];
    const files: Pool.FileJob[] = [];
    const want: Array<string | undefined> = [];
    for (let i = 0; i < 300; i++) {
      const size = mixed[i % mixed.length] as number;
      const p = path.join(dir, `m${i}`);
      if (i % 97 === 13) {
        files.push({ path: p, size });
        want.push(undefined);
        continue;
      }
      const data = content(size, i + 7);
      writeFileSync(p, data);
      files.push({ path: p, size });
      want.push(expected(data));
    }
    const results = await hashFiles(files, { workers: 2 });
    expect(results).toHaveLength(files.length);
    for (const [i, r] of results.entries()) {
      if (want[i] === undefined) {
        expect(isFailure(r) && r.code).toBe('ENOENT');
      } else {
        expect(r).toEqual({ hash: want[i], size: (files[i] as Pool.FileJob).size });
      }
    }
  });

  it('ingests on workers: objects whole and named by their hash', async () => {
    const { ingestFiles, isFailure } = load();
    const root = path.join(dir, 'cache');
    mkdirSync(root);
    // Over 8 MiB in all, so the files make more than one batch and the workers start.
    const blobs = [0, 5, READ_BLOCK + 1, 5 << 20, 5 << 20].map((size, i) => content(size, i % 4));
    const files = blobs.map((b, i) => {
      const p = path.join(dir, `i${i}`);
      writeFileSync(p, b);
      return { path: p, size: b.length };
    });
    const results = await ingestFiles(files, root, { workers: 2 });
    for (const [i, r] of results.entries()) {
      if (isFailure(r)) throw new Error(r.error);
      expect(r.hash).toBe(expected(blobs[i] as Buffer));
      expect(readFileSync(objectPathIn(root, r.hash)).equals(blobs[i] as Buffer)).toBe(true);
    }
  });
});
