// The remote object store over a local folder: packs, the segmented index,
// verification on fetch, damage detection and repair, concurrent writers.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DataverError, isDataverError } from '@dataver/foundation';
import { openRemote } from '../../src/core/remotes';
import { RemoteObjectStore } from '../../src/odb/remote';
import { looseKey, packKey, segmentKey } from '../../src/odb/remote-index';
import { FaultyStorage } from '../../src/storage/faulty';
import { LocalStorage } from '../../src/storage/local';
import { RetryingStorage } from '../../src/storage/retry';
import { makeTempDir } from '../storage/contract';
import { CountingStorage, listKeys, makeCache, makeSink } from './remote-helpers';

const KiB = 1024;
const MiB = 1024 * KiB;

let root: string;
let dispose: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, dispose } = await makeTempDir('dataver-remote-'));
});
afterEach(() => dispose());

const remoteDir = () => path.join(root, 'remote');
const newStore = (options = {}) =>
  new RemoteObjectStore(new LocalStorage(remoteDir(), { fsync: false }), options);

describe('RemoteObjectStore over a folder', () => {
  test('push then fetch round-trips small (packed), large (loose) and empty objects', async () => {
    const cache = await makeCache(path.join(root, 'cache'), [
      0,
      1,
      100,
      4 * KiB,
      600 * KiB,
      2 * MiB,
      1 * MiB,
    ]);
    const store = newStore();
    const pushed = await store.push(cache.objects, cache.path);
    expect(pushed).toEqual({
      uploaded: 7,
      bytes: cache.objects.reduce((n, o) => n + o.size, 0),
      packs: 1,
      skipped: 0,
    });
    expect((await store.has(cache.objects.map((o) => o.hash))).size).toBe(7);

    const other = newStore();
    const sink = makeSink(path.join(root, 'clone'));
    const progress: number[] = [];
    const result = await other.fetch(cache.objects, sink.accept, {
      tmpDir: path.join(root, 'tmp'),
      onProgress: (p) => progress.push(p.objects),
    });
    expect(result).toEqual({ fetched: 7, bytes: result.bytes, resumedBytes: 0, missing: [], corrupt: [] });
    for (const o of cache.objects) {
      expect((await fs.readFile(path.join(root, 'clone', o.hash))).equals(cache.bytes.get(o.hash)!)).toBe(
        true,
      );
    }
    expect(progress.at(-1)).toBe(7);
    // Large objects are loose, small ones are not.
    const big = cache.objects.find((o) => o.size === 2 * MiB)!;
    const small = cache.objects.find((o) => o.size === 100)!;
    expect(await store.storage.stat(looseKey(big.hash))).toBeDefined();
    expect(await store.storage.stat(looseKey(small.hash))).toBeUndefined();
  });

  test('a second push uploads nothing and needs only a few requests', async () => {
    const cache = await makeCache(
      path.join(root, 'cache'),
      Array.from({ length: 300 }, (_, i) => 100 + i),
    );
    await newStore().push(cache.objects, cache.path);
    const counting = new CountingStorage(new LocalStorage(remoteDir()));
    const store = new RemoteObjectStore(counting);
    const again = await store.push(cache.objects, cache.path);
    expect(again).toEqual({ uploaded: 0, bytes: 0, packs: 0, skipped: 300 });
    expect(counting.counts.put).toBe(0);
    expect(counting.total).toBeLessThanOrEqual(5);
  });

  test('many small objects travel in a handful of requests', async () => {
    const cache = await makeCache(
      path.join(root, 'cache'),
      Array.from({ length: 2000 }, () => 2 * KiB),
    );
    const counting = new CountingStorage(new LocalStorage(remoteDir(), { fsync: false }));
    const store = new RemoteObjectStore(counting);
    await store.push(cache.objects, cache.path);
    expect(counting.total).toBeLessThan(12);
    counting.reset();
    const sink = makeSink(path.join(root, 'clone'));
    const all = await new RemoteObjectStore(counting).fetch(cache.objects, sink.accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(all.fetched).toBe(2000);
    expect(counting.total).toBeLessThan(12);
    // A few scattered objects are read by ranges, not whole packs.
    counting.reset();
    const few = [cache.objects[5], cache.objects[1500]];
    const some = await new RemoteObjectStore(counting).fetch(few, makeSink(path.join(root, 'c2')).accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(some.fetched).toBe(2);
    expect(counting.counts.get).toBeLessThanOrEqual(2);
  });

  test('an object deleted from the remote is reported missing and dropped from the index', async () => {
    const cache = await makeCache(path.join(root, 'cache'), [2 * MiB, 3 * MiB, 10]);
    const store = newStore();
    await store.push(cache.objects, cache.path);
    const [gone, kept] = cache.objects;
    await fs.rm(path.join(remoteDir(), ...looseKey(gone.hash).split('/')));
    const sink = makeSink(path.join(root, 'clone'));
    const result = await newStore().fetch(cache.objects, sink.accept, { tmpDir: path.join(root, 'tmp') });
    expect(result.missing).toEqual([gone.hash]);
    expect(result.fetched).toBe(2);
    expect(sink.got.has(kept.hash)).toBe(true);
    // The index no longer claims it, so a push uploads it again.
    const fresh = newStore();
    expect((await fresh.has([gone.hash])).size).toBe(0);
    expect((await fresh.push(cache.objects, cache.path)).uploaded).toBe(1);
    expect((await newStore().verify()).missing).toEqual([]);
  });

  test('a corrupt object is reported and never passed to accept', async () => {
    const cache = await makeCache(path.join(root, 'cache'), [2 * MiB, 500, 700]);
    const store = newStore();
    await store.push(cache.objects, cache.path);
    const [bigOne, smallOne] = cache.objects;
    const looseFile = path.join(remoteDir(), ...looseKey(bigOne.hash).split('/'));
    const bytes = await fs.readFile(looseFile);
    bytes[1000] ^= 0xff;
    await fs.writeFile(looseFile, bytes);
    // Flip one byte of one object inside the pack.
    const packName = (await listKeys(store.storage, 'packs/')).find((k) => k.endsWith('.tar'))!;
    const packFile = path.join(remoteDir(), ...packName.split('/'));
    const pack = await fs.readFile(packFile);
    const offset = pack.indexOf(cache.bytes.get(smallOne.hash)!);
    pack[offset + 10] ^= 0xff;
    await fs.writeFile(packFile, pack);

    const sink = makeSink(path.join(root, 'clone'));
    const result = await newStore().fetch(cache.objects, sink.accept, { tmpDir: path.join(root, 'tmp') });
    expect(result.corrupt.sort()).toEqual([bigOne.hash, smallOne.hash].sort());
    expect(result.fetched).toBe(1);
    expect([...sink.got]).toEqual([cache.objects[2].hash]);
    expect(await fs.readdir(path.join(root, 'tmp'))).toEqual([]);

    // The fetch dropped the bad copies from the index, so a push uploads them again.
    expect((await newStore().has([bigOne.hash, smallOne.hash])).size).toBe(0);
    expect((await newStore().push(cache.objects, cache.path)).uploaded).toBe(2);
    const clean = await newStore().verify();
    expect(clean).toMatchObject({ missing: [], corrupt: [], repaired: false });
    // The bad entry stays in its (immutable) pack: a rebuild from a listing must not pick it again.
    const rebuilt = newStore();
    await rebuilt.index.rebuild();
    const again = await rebuilt.fetch(cache.objects, makeSink(path.join(root, 'c2')).accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(again).toMatchObject({ fetched: 3, corrupt: [] });
  });

  test('verify --remote finds corrupt objects, repairs the index, and a push then fixes the remote', async () => {
    const cache = await makeCache(path.join(root, 'cache'), [2 * MiB, 500, 700]);
    await newStore().push(cache.objects, cache.path);
    const [bigOne, smallOne] = cache.objects;
    const looseFile = path.join(remoteDir(), ...looseKey(bigOne.hash).split('/'));
    const bytes = await fs.readFile(looseFile);
    bytes[5] ^= 0xff;
    await fs.writeFile(looseFile, bytes);
    const packName = (await listKeys(new LocalStorage(remoteDir()), 'packs/')).find((k) =>
      k.endsWith('.tar'),
    )!;
    const packFile = path.join(remoteDir(), ...packName.split('/'));
    const pack = await fs.readFile(packFile);
    pack[pack.indexOf(cache.bytes.get(smallOne.hash)!) + 3] ^= 0xff;
    await fs.writeFile(packFile, pack);
    const verified = await newStore().verify();
    expect(verified.corrupt.sort()).toEqual([bigOne.hash, smallOne.hash].sort());
    expect(verified.repaired).toBe(true);
    expect((await newStore().push(cache.objects, cache.path)).uploaded).toBe(2);
    expect(await newStore().verify()).toMatchObject({
      checked: 3,
      missing: [],
      corrupt: [],
      repaired: false,
    });
  });

  test('a damaged index segment is detected by its name and rebuilt from a listing', async () => {
    const cache = await makeCache(path.join(root, 'cache'), [100, 200, 2 * MiB]);
    await newStore().push(cache.objects, cache.path);
    const [segment] = await listKeys(new LocalStorage(remoteDir()), 'index/');
    const file = path.join(remoteDir(), ...segment.split('/'));
    await fs.writeFile(file, '{"version":1,"loose":[],"packs":[]}\n'); // valid JSON, wrong content
    const store = newStore();
    expect((await store.has(cache.objects.map((o) => o.hash))).size).toBe(3);
    // The rebuilt segment may have the same name (same content): what matters is that it is valid now.
    const segments = await listKeys(store.storage, 'index/');
    expect(segments).toHaveLength(1);
    const bytes = await fs.readFile(path.join(remoteDir(), ...segments[0].split('/')));
    expect(segments[0]).toBe(segmentKey(createHash('sha256').update(bytes).digest('hex')));
  });

  test('objects that are missing from the index but stored (an interrupted push) are adopted', async () => {
    const cache = await makeCache(path.join(root, 'cache'), [100, 2 * MiB]);
    await newStore().push(cache.objects, cache.path);
    for (const key of await listKeys(new LocalStorage(remoteDir()), 'index/')) {
      await fs.rm(path.join(remoteDir(), ...key.split('/')));
    }
    const result = await newStore().fetch(cache.objects, makeSink(path.join(root, 'c')).accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(result).toMatchObject({ fetched: 2, missing: [], corrupt: [] });
    expect(await listKeys(new LocalStorage(remoteDir()), 'index/')).toHaveLength(1);
  });

  test('concurrent pushes from two clones keep both sets of index entries', async () => {
    const a = await makeCache(
      path.join(root, 'a'),
      Array.from({ length: 50 }, (_, i) => 1000 + i).concat([2 * MiB]),
    );
    const b = await makeCache(
      path.join(root, 'b'),
      Array.from({ length: 50 }, (_, i) => 3000 + i).concat([3 * MiB]),
    );
    await Promise.all([newStore().push(a.objects, a.path), newStore().push(b.objects, b.path)]);
    const all = [...a.objects, ...b.objects];
    expect((await newStore().has(all.map((o) => o.hash))).size).toBe(all.length);
  });

  test('four clones pushing and compacting at the same time lose no entries', async () => {
    const clones = await Promise.all(
      [0, 1, 2, 3].map((c) =>
        Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            makeCache(path.join(root, `clone${c}-${i}`), [50 + c * 100 + i, 2000]),
          ),
        ),
      ),
    );
    await Promise.all(
      clones.map(async (batches) => {
        const store = newStore();
        for (const cache of batches) await store.push(cache.objects, cache.path);
      }),
    );
    const all = clones.flat().flatMap((c) => c.objects.map((o) => o.hash));
    expect((await newStore().has(all)).size).toBe(new Set(all).size);
    expect((await newStore().verify()).missing).toEqual([]);
    // 24 pushes wrote 24 segments: compaction ran meanwhile.
    expect((await listKeys(new LocalStorage(remoteDir()), 'index/')).length).toBeLessThan(24);
  });

  test('index segments already read are kept in a local cache and re-checked before use', async () => {
    const cache = await makeCache(path.join(root, 'cache'), [100, 200]);
    await newStore().push(cache.objects, cache.path);
    const indexCacheDir = path.join(root, 'index-cache');
    const counting = new CountingStorage(new LocalStorage(remoteDir()));
    const hashes = cache.objects.map((o) => o.hash);
    expect((await new RemoteObjectStore(counting, { indexCacheDir }).has(hashes)).size).toBe(2);
    expect(counting.counts.getBuffer).toBe(1);
    counting.reset();
    expect((await new RemoteObjectStore(counting, { indexCacheDir }).has(hashes)).size).toBe(2);
    expect(counting.counts.getBuffer).toBe(0);
    // A damaged cached copy is ignored and replaced.
    const [name] = await fs.readdir(indexCacheDir);
    await fs.writeFile(path.join(indexCacheDir, name), '{"version":1,"loose":[],"packs":[]}\n');
    counting.reset();
    expect((await new RemoteObjectStore(counting, { indexCacheDir }).has(hashes)).size).toBe(2);
    expect(counting.counts.getBuffer).toBe(1);
  });

  test('a failing accept (e.g. a full disk) fails the fetch with its error, after in-flight work settles', async () => {
    const cache = await makeCache(
      path.join(root, 'cache'),
      Array.from({ length: 200 }, (_, i) => 100 + i),
    );
    await newStore().push(cache.objects, cache.path);
    let calls = 0;
    let settledAfterError = true;
    let failedAt = 0;
    const error = await newStore()
      .fetch(
        cache.objects,
        async (_hash, tmp) => {
          calls++;
          await fs.rm(tmp);
          if (calls === 50) {
            failedAt = calls;
            throw new DataverError('NO_SPACE', 'no space left on device');
          }
        },
        { tmpDir: path.join(root, 'tmp') },
      )
      .catch((e: unknown) => e);
    const callsAtReturn = calls;
    await new Promise((r) => setTimeout(r, 50));
    settledAfterError = calls === callsAtReturn;
    expect(isDataverError(error, 'NO_SPACE')).toBe(true);
    expect(failedAt).toBe(50);
    expect(calls).toBeLessThan(200);
    expect(settledAfterError).toBe(true);
  });

  test('segments are compacted without losing entries', async () => {
    const store = newStore();
    const all = [];
    for (let i = 0; i < 20; i++) {
      const cache = await makeCache(path.join(root, `c${i}`), [100 + i]);
      all.push(...cache.objects);
      await store.push(cache.objects, cache.path);
    }
    expect((await listKeys(store.storage, 'index/')).length).toBeLessThanOrEqual(17);
    expect((await newStore().has(all.map((o) => o.hash))).size).toBe(20);
  });

  test('compaction interrupted after the merged segment is stored loses nothing and finishes later', async () => {
    const counting = new CountingStorage(new LocalStorage(remoteDir(), { fsync: false }));
    // The first deletion of a merged input fails, as a crash right after the merged put would.
    let failDeletes = true;
    const deleteOf = counting.delete.bind(counting);
    counting.delete = async (key: string) => {
      if (failDeletes) throw new DataverError('REMOTE_UNREACHABLE', 'gone');
      return deleteOf(key);
    };
    const store = new RemoteObjectStore(counting);
    const all = [];
    for (let i = 0; i < 8; i++) {
      const cache = await makeCache(path.join(root, `c${i}`), [100 + i]);
      all.push(...cache.objects);
      await store.push(cache.objects, cache.path);
    }
    // Eight inputs and the merged segment: every entry listed twice, none lost.
    expect((await listKeys(counting, 'index/')).length).toBe(9);
    expect((await newStore().has(all.map((o) => o.hash))).size).toBe(8);
    failDeletes = false;
    const next = await makeCache(path.join(root, 'next'), [200]);
    await newStore().push(next.objects, next.path);
    // The leftover inputs were merged again, with the new segment: the duplicates are gone.
    expect((await listKeys(counting, 'index/')).length).toBe(2);
    expect((await newStore().has([...all, ...next.objects].map((o) => o.hash))).size).toBe(9);
  });

  test('a missing or corrupt object in the local cache fails the push loudly', async () => {
    const cache = await makeCache(path.join(root, 'cache'), [100, 2 * MiB]);
    await fs.rm(cache.path(cache.objects[1].hash));
    const error = await newStore()
      .push(cache.objects, cache.path)
      .catch((e: unknown) => e);
    expect(isDataverError(error, 'OBJECT_MISSING')).toBe(true);
    // What finished before the failure is recorded, so it is not sent again.
    expect((await newStore().has([cache.objects[0].hash])).size).toBe(1);
    const other = await makeCache(path.join(root, 'other'), [300]);
    await fs.writeFile(other.path(other.objects[0].hash), 'tampered');
    const error2 = await newStore()
      .push(other.objects, other.path)
      .catch((e: unknown) => e);
    expect(isDataverError(error2, 'OBJECT_CORRUPT')).toBe(true);
  });

  test('with 5 % injected faults push and fetch complete, nothing lost or corrupt', async () => {
    const sizes = Array.from({ length: 400 }, (_, i) => 500 + i * 7).concat([2 * MiB, 3 * MiB, 1.5 * MiB]);
    const cache = await makeCache(path.join(root, 'cache'), sizes);
    const faulty = new FaultyStorage(new LocalStorage(remoteDir(), { fsync: false }), {
      rate: 0.05,
      seed: 11,
    });
    const storage = new RetryingStorage(faulty, {
      baseDelayMs: 1,
      maxDelayMs: 10,
      retries: 8,
      stallTimeoutMs: 200,
    });
    const store = new RemoteObjectStore(storage, { packThreshold: MiB, maxPackSize: 16 * KiB });
    await store.push(cache.objects, cache.path);
    const sink = makeSink(path.join(root, 'clone'));
    const result = await new RemoteObjectStore(storage, { packThreshold: MiB }).fetch(
      cache.objects,
      sink.accept,
      {
        tmpDir: path.join(root, 'tmp'),
      },
    );
    expect(result).toMatchObject({ fetched: cache.objects.length, missing: [], corrupt: [] });
    for (const o of cache.objects) {
      expect((await fs.readFile(path.join(root, 'clone', o.hash))).equals(cache.bytes.get(o.hash)!)).toBe(
        true,
      );
    }
    expect(faulty.injectedTotal).toBeGreaterThan(5);
    expect((await newStore().verify()).checked).toBe(cache.objects.length);
  });

  test('openRemote resolves local paths against the repository root and file:// URLs', async () => {
    // A folder remote must exist: a typo must not become a new folder.
    expect(() => openRemote('origin', { url: 'store' }, { repoRoot: root, env: {} })).toThrow(
      /does not exist/,
    );
    await fs.mkdir(path.join(root, 'store'));
    await fs.mkdir(path.join(root, 'x'));
    const store = openRemote('origin', { url: 'store' }, { repoRoot: root, env: {} });
    expect(store.url).toBe(path.join(root, 'store'));
    const viaUrl = openRemote('origin', { url: `file://${root}/x` }, { repoRoot: '/', env: {} });
    expect(viaUrl.url).toBe(path.join(root, 'x'));
    expect(() => openRemote('origin', { url: 's3://b/p' }, { repoRoot: root, env: {} })).toThrow(
      /unsupported/,
    );
    // Every remote is reached through the one retry layer.
    expect(store.storage).toBeInstanceOf(RetryingStorage);
    const gcs = openRemote('origin', { url: 'gs://bucket/p' }, { repoRoot: root, env: {} });
    expect(gcs.storage).toBeInstanceOf(RetryingStorage);
    expect(await gcs.storage.describe()).toEqual({
      kind: 'gcs',
      location: 'gs://bucket/p',
      credentialSource: 'application default credentials',
    });
  });

  test('a missing pack makes its objects missing, other packs still deliver', async () => {
    const cache = await makeCache(
      path.join(root, 'cache'),
      Array.from({ length: 40 }, () => 3000),
    );
    const store = new RemoteObjectStore(new LocalStorage(remoteDir()), { maxPackSize: 40 * KiB });
    await store.push(cache.objects, cache.path);
    const packs = (await listKeys(store.storage, 'packs/')).filter((k) => k.endsWith('.tar'));
    expect(packs.length).toBeGreaterThan(1);
    await fs.rm(path.join(remoteDir(), ...packs[0].split('/')));
    const result = await newStore().fetch(cache.objects, makeSink(path.join(root, 'c')).accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(result.missing.length).toBeGreaterThan(0);
    expect(result.fetched + result.missing.length).toBe(40);
    expect(packKey('x')).toBe('packs/pack-x.tar');
    expect(segmentKey('y')).toBe('index/seg-y.json');
  });
});
