// ObjectCache.removeLeftovers: one crash clean-up for every temporary name dataver writes in the
// cache (foundation's `.dv-<pid>-<hex>.tmp`, and the names older versions used); placing files on
// worker threads; reading a manifest checked once and then vouched for by its file's identity.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpNameFor } from '@dataver/foundation';
import { ObjectCache } from '../../src/odb/cache';
import { tempDir } from '../helpers/cli';

test('removes the leftovers of dead writers, wherever the cache writes them, and keeps live ones', async () => {
  const root = tempDir();
  const cache = new ObjectCache(path.join(root, 'cache'), path.join(root, 'tmp'));
  await cache.ensureDirs();
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  const dead = (dir: string) => path.join(dir, `.dv-${deadPid}-0123456789ab.tmp`);
  const objectDir = path.join(cache.objectsDir, 'ab');
  for (const dir of [objectDir, cache.downloadDir]) mkdirSync(dir, { recursive: true });
  const leftovers = [
    dead(cache.objectsDir), // an ingest
    dead(objectDir), // a manifest (putBuffer)
    dead(cache.downloadDir), // a download
    path.join(cache.objectsDir, '.ingest.123.0.7.tmp'), // older versions
    path.join(cache.downloadDir, 'fetch-0123456789abcdef-00ff00ff'),
  ];
  const live = tmpNameFor(path.join(cache.downloadDir, 'x')); // this process: still writing
  const object = path.join(objectDir, 'c'.repeat(62));
  for (const file of [...leftovers, live, object]) writeFileSync(file, 'x');
  expect(await cache.removeLeftovers()).toBe(leftovers.length);
  expect(readdirSync(objectDir)).toEqual(['c'.repeat(62)]);
  expect(readdirSync(cache.downloadDir)).toEqual([path.basename(live)]);
  expect(readdirSync(cache.objectsDir)).toEqual(['ab']);
});

describe('placing many files on worker threads (the built pool: workers need compiled scripts)', () => {
  test('two threads, folder by folder: every file arrives whole, a failure is its own, results in input order', async () => {
    const { placeFiles } = require('../../dist/hash/pool.js') as typeof import('../../src/hash/pool');
    const dir = tempDir('dataver-place-');
    const sources: string[] = [];
    const dests: string[] = [];
    mkdirSync(path.join(dir, 'src'));
    for (let i = 0; i < 1500; i++) {
      const source = path.join(dir, 'src', `o${i}`);
      writeFileSync(source, `object ${i}\n`);
      sources.push(source);
      // Folders of a few hundred files and of a dozen, so the shares must be balanced.
      const dest = path.join(dir, 'out', `d${i < 1000 ? i % 3 : 3 + (i % 40)}`, `f${i}`);
      mkdirSync(path.dirname(dest), { recursive: true });
      dests.push(dest);
    }
    dests[7] = path.join(dir, 'no-such-folder', 'f7');
    const seen = new Set<number>();
    const results = await placeFiles(
      sources.map((p) => ({ path: p, size: 0 })),
      dests,
      'copy',
      { workers: 2, onFile: (i) => seen.add(i) },
    );
    expect(results).toHaveLength(1500);
    expect(results[7]).toMatchObject({ code: 'ENOENT' });
    for (const [i, d] of dests.entries()) {
      if (i === 7) continue;
      expect(results[i]).not.toHaveProperty('error');
      expect(readFileSync(d, 'utf8')).toBe(`object ${i}\n`);
    }
    expect(seen.size).toBe(1500);
  });
});

describe('readManifestChecked', () => {
  const setUp = async () => {
    const root = tempDir();
    const cache = new ObjectCache(path.join(root, 'cache'), path.join(root, 'tmp'));
    await cache.ensureDirs();
    const bytes = Buffer.from('[\n{"path":"a.bin","hash":"00","size":1}\n]\n');
    const hash = await cache.putBuffer(bytes);
    expect(hash).toBe(createHash('sha256').update(bytes).digest('hex'));
    return { cache, hash, file: cache.objectPath(hash) };
  };

  test('checks the bytes against the hash, and again whenever the file is not the one checked', async () => {
    const { cache, hash, file } = await setUp();
    const first = cache.readManifestChecked(hash);
    expect(first.bytes.toString()).toContain('a.bin');
    expect(cache.readManifestChecked(hash, first.identity).identity).toBe(first.identity);
    // Damaged in place, same size: the ctime moves, so the old identity no longer vouches.
    chmodSync(file, 0o644);
    writeFileSync(file, readFileSync(file, 'utf8').replace('a.bin', 'b.bin'));
    expect(() => cache.readManifestChecked(hash, first.identity)).toThrow(/is corrupt/);
    expect(() => cache.readManifestChecked(hash)).toThrow(/is corrupt/);
  });

  test('an identity that matches is trusted without hashing (the memo), a missing object is named', async () => {
    const { cache, hash, file } = await setUp();
    chmodSync(file, 0o644);
    writeFileSync(file, readFileSync(file, 'utf8').replace('a.bin', 'b.bin'));
    const damaged = fstatIdentity(file);
    expect(cache.readManifestChecked(hash, damaged).bytes.toString()).toContain('b.bin');
    expect(() => cache.readManifestChecked('f'.repeat(64))).toThrow(/is not in the cache/);
  });
});

function fstatIdentity(file: string): string {
  const st = statSync(file);
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
