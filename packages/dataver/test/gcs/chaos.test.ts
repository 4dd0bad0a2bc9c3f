// A GCS remote as remote construction opens it (GcsStorage inside the one retry layer) through
// real HTTP faults (503, 429, responses cut mid-body) between the client library and the
// emulator: push and fetch of the remote object store complete, nothing lost, nothing corrupt.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openRemoteStorage } from '../../src/core/remotes';
import { RemoteObjectStore } from '../../src/odb/remote';
import { GcsStorage } from '../../src/storage/gcs';
import { useGcsEmulator } from '../helpers/gcs-emulator';
import { makeCache, makeSink } from '../odb/remote-helpers';
import { type ChaosProxy, startChaosProxy } from './chaos-proxy';

const emulator = useGcsEmulator();
const MiB = 1024 * 1024;
let chaos: ChaosProxy;
let root: string;

beforeAll(async () => {
  chaos = await startChaosProxy(emulator().endpoint, 0.05);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'dataver-gcs-chaos-'));
});
afterAll(async () => {
  await chaos?.close();
  await fs.rm(root, { recursive: true, force: true });
});

test('5 % of HTTP requests fail (503, 429, cut mid-body): push and fetch still complete intact', async () => {
  const prefix = `chaos-${randomBytes(4).toString('hex')}`;
  const sizes = Array.from({ length: 400 }, (_, i) => 800 + i * 11).concat([2 * MiB, 3 * MiB, 9 * MiB]);
  const cache = await makeCache(path.join(root, 'cache'), sizes);
  const storage = () =>
    openRemoteStorage(
      'chaos',
      { url: `gs://dataver-chaos/${prefix}`, endpoint: chaos.endpoint },
      {
        repoRoot: root,
        env: {},
        retry: { baseDelayMs: 5, maxDelayMs: 50, retries: 8, stallTimeoutMs: 2000 },
      },
    );
  const pushed = await new RemoteObjectStore(storage(), { maxPackSize: 16 * 1024, jobs: 8 }).push(
    cache.objects,
    cache.path,
  );
  expect(pushed.uploaded).toBe(cache.objects.length);
  const sink = makeSink(path.join(root, 'clone'));
  const result = await new RemoteObjectStore(storage(), { jobs: 8 }).fetch(cache.objects, sink.accept, {
    tmpDir: path.join(root, 'tmp'),
  });
  expect(result).toMatchObject({ fetched: cache.objects.length, missing: [], corrupt: [] });
  for (const o of cache.objects) {
    expect((await fs.readFile(path.join(root, 'clone', o.hash))).equals(cache.bytes.get(o.hash)!)).toBe(true);
  }
  const faults = chaos.injected.status503 + chaos.injected.status429 + chaos.injected.cut;
  expect(faults).toBeGreaterThan(3);
  // The bucket itself (read without the proxy) is complete and intact.
  const direct = new GcsStorage({
    url: `gs://dataver-chaos/${prefix}`,
    endpoint: emulator().endpoint,
    env: {},
  });
  expect(await new RemoteObjectStore(direct).verify()).toMatchObject({
    checked: cache.objects.length,
    missing: [],
    corrupt: [],
  });
});

test('GcsStorage tries each call once and marks a 503 transient; the retry layer retries it', async () => {
  const failing = await startChaosProxy(emulator().endpoint, 1, 3);
  try {
    const bare = new GcsStorage({ url: 'gs://dataver-chaos/once', endpoint: failing.endpoint, env: {} });
    const error = await bare.stat('x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REMOTE_ERROR', data: { transient: true } });
    expect(failing.requests).toBe(1);
    const wrapped = openRemoteStorage(
      'once',
      { url: 'gs://dataver-chaos/once', endpoint: failing.endpoint },
      { repoRoot: root, env: {}, retry: { baseDelayMs: 1, maxDelayMs: 2, retries: 3 } },
    );
    await expect(wrapped.stat('x')).rejects.toMatchObject({ data: { transient: true } });
    expect(failing.requests).toBe(1 + 4);
  } finally {
    await failing.close();
  }
});
