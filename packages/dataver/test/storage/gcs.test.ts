// GcsStorage against the emulator: the shared Storage contract, for the bare Storage and for
// the stack remote construction opens (GcsStorage inside the retry layer).
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { openRemoteStorage } from '../../src/core/remotes';
import { GcsStorage, parseGsUrl } from '../../src/storage/gcs';
import { useGcsEmulator } from '../helpers/gcs-emulator';
import { describeStorageContract } from './contract';

const emulator = useGcsEmulator();

describeStorageContract('GcsStorage (emulator)', async () => {
  const url = `gs://dataver-test/contract-${randomBytes(4).toString('hex')}`;
  return {
    storage: new GcsStorage({ url, endpoint: emulator().endpoint, env: {} }),
    description: {
      kind: 'gcs',
      location: url,
      endpoint: emulator().endpoint,
      credentialSource: 'none (emulator)',
    },
  };
});

describeStorageContract('a gs:// remote as remote construction opens it (emulator)', async () => {
  const url = `gs://dataver-test/remote-${randomBytes(4).toString('hex')}`;
  return {
    storage: openRemoteStorage(
      'origin',
      { url, endpoint: emulator().endpoint },
      { repoRoot: os.tmpdir(), env: {}, retry: { baseDelayMs: 5 } },
    ),
    description: {
      kind: 'gcs',
      location: url,
      endpoint: emulator().endpoint,
      credentialSource: 'none (emulator)',
    },
  };
});

describe('parseGsUrl', () => {
  test('splits bucket and prefix', () => {
    expect(parseGsUrl('gs://b-1/a/b/')).toEqual({ bucket: 'b-1', prefix: 'a/b' });
    expect(parseGsUrl('gs://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(() => parseGsUrl('gs://Bad_Bucket!/x')).toThrow(/not a valid GCS URL/);
  });
});

describe('GcsStorage uploads', () => {
  test('a buffer above the resumable threshold (a full pack) round-trips', async () => {
    const storage = new GcsStorage({
      url: `gs://dataver-test/big-${randomBytes(4).toString('hex')}`,
      endpoint: emulator().endpoint,
      env: {},
    });
    const data = randomBytes(9 * 1024 * 1024 + 3);
    let progress = 0;
    await storage.put('pack', data, { onProgress: (n) => (progress = n) });
    expect(progress).toBe(data.length);
    expect((await storage.getBuffer('pack')).equals(data)).toBe(true);
    expect((await storage.stat('pack'))?.size).toBe(data.length);
  });
});
