// The remote object store on the GCS emulator: round trip, objects deleted or
// corrupted in the bucket, and transfers through 5 % injected faults.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RemoteObjectStore } from '../../src/odb/remote';
import { looseKey } from '../../src/odb/remote-index';
import { FaultyStorage } from '../../src/storage/faulty';
import { GcsStorage } from '../../src/storage/gcs';
import { RetryingStorage } from '../../src/storage/retry';
import { useGcsEmulator } from '../helpers/gcs-emulator';
import { makeCache, makeSink } from '../odb/remote-helpers';

const emulator = useGcsEmulator();
const MiB = 1024 * 1024;
let root: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'dataver-gcs-store-'));
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

function gcs(prefix: string): GcsStorage {
  return new GcsStorage({
    url: `gs://dataver-store/${prefix}`,
    endpoint: emulator().endpoint,
    env: {},
  });
}

describe('RemoteObjectStore on GCS (emulator)', () => {
  test('push then fetch in another store: byte-identical, small objects packed', async () => {
    const prefix = `rt-${randomBytes(4).toString('hex')}`;
    const cache = await makeCache(path.join(root, 'cache'), [0, 10, 4096, 300_000, 2 * MiB, 9 * MiB]);
    const pushed = await new RemoteObjectStore(gcs(prefix)).push(cache.objects, cache.path);
    expect(pushed).toMatchObject({ uploaded: 6, packs: 1, skipped: 0 });
    const sink = makeSink(path.join(root, 'clone'));
    const result = await new RemoteObjectStore(gcs(prefix)).fetch(cache.objects, sink.accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(result).toMatchObject({ fetched: 6, missing: [], corrupt: [] });
    for (const o of cache.objects) {
      expect((await fs.readFile(path.join(root, 'clone', o.hash))).equals(cache.bytes.get(o.hash)!)).toBe(
        true,
      );
    }
    const again = await new RemoteObjectStore(gcs(prefix)).push(cache.objects, cache.path);
    expect(again).toMatchObject({ uploaded: 0, skipped: 6 });
  });

  test('an object deleted from the bucket is reported missing', async () => {
    const prefix = `del-${randomBytes(4).toString('hex')}`;
    const cache = await makeCache(path.join(root, 'cache'), [2 * MiB, 3 * MiB, 100]);
    await new RemoteObjectStore(gcs(prefix)).push(cache.objects, cache.path);
    await gcs(prefix).delete(looseKey(cache.objects[0].hash));
    const sink = makeSink(path.join(root, 'clone'));
    const result = await new RemoteObjectStore(gcs(prefix)).fetch(cache.objects, sink.accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(result.missing).toEqual([cache.objects[0].hash]);
    expect(result.fetched).toBe(2);
  });

  test('an object corrupted in the bucket is reported corrupt and never accepted', async () => {
    const prefix = `bad-${randomBytes(4).toString('hex')}`;
    const cache = await makeCache(path.join(root, 'cache'), [2 * MiB, 100]);
    await new RemoteObjectStore(gcs(prefix)).push(cache.objects, cache.path);
    const [victim] = cache.objects;
    const damaged = Buffer.from(cache.bytes.get(victim.hash)!);
    damaged[12345] ^= 0x01;
    await gcs(prefix).put(looseKey(victim.hash), damaged);
    const sink = makeSink(path.join(root, 'clone'));
    const result = await new RemoteObjectStore(gcs(prefix)).fetch(cache.objects, sink.accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(result.corrupt).toEqual([victim.hash]);
    expect(sink.got.has(victim.hash)).toBe(false);
    expect(sink.got.size).toBe(1);
    // The bad copy is dropped from the index: a push uploads the object again.
    const repushed = await new RemoteObjectStore(gcs(prefix)).push(cache.objects, cache.path);
    expect(repushed.uploaded).toBe(1);
    expect(await new RemoteObjectStore(gcs(prefix)).verify()).toMatchObject({ missing: [], corrupt: [] });
  });

  test('5 % injected faults: push and fetch complete, nothing lost or corrupt', async () => {
    const prefix = `faults-${randomBytes(4).toString('hex')}`;
    const sizes = Array.from({ length: 300 }, (_, i) => 1000 + i * 13).concat([2 * MiB, 1.5 * MiB, 3 * MiB]);
    const cache = await makeCache(path.join(root, 'cache'), sizes);
    const faulty = new FaultyStorage(gcs(prefix), { rate: 0.05, seed: 5, stallMs: 20 });
    const storage = new RetryingStorage(faulty, {
      baseDelayMs: 2,
      maxDelayMs: 20,
      retries: 8,
      stallTimeoutMs: 500,
    });
    await new RemoteObjectStore(storage, { maxPackSize: 32 * 1024 }).push(cache.objects, cache.path);
    const sink = makeSink(path.join(root, 'clone'));
    const result = await new RemoteObjectStore(storage).fetch(cache.objects, sink.accept, {
      tmpDir: path.join(root, 'tmp'),
    });
    expect(result).toMatchObject({ fetched: cache.objects.length, missing: [], corrupt: [] });
    for (const o of cache.objects) {
      expect((await fs.readFile(path.join(root, 'clone', o.hash))).equals(cache.bytes.get(o.hash)!)).toBe(
        true,
      );
    }
    expect(faulty.injectedTotal).toBeGreaterThan(2);
    const verified = await new RemoteObjectStore(gcs(prefix)).verify();
    expect(verified).toMatchObject({ checked: cache.objects.length, missing: [], corrupt: [] });
  });
});
