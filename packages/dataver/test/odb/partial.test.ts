// Partial downloads: a large object interrupted half-way is resumed by range from the prefix
// whose chunk hashes still verify; a damaged or foreign prefix is never trusted.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PARTIAL_CHUNK, PartialDownload, partialDownloads, RESUMABLE_MIN } from '../../src/odb/partial';
import { RemoteObjectStore } from '../../src/odb/remote';
import { looseKey } from '../../src/odb/remote-index';
import { LocalStorage } from '../../src/storage/local';
import { CountingStorage, makeCache, makeSink } from './remote-helpers';

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'dataver-partial-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Writes the first `bytes` of `data` as an interrupted download would leave them. */
async function interrupted(dir: string, data: Buffer, bytes: number): Promise<void> {
  const download = await PartialDownload.open(dir, sha(data));
  await download.write(data.subarray(0, bytes));
  await download.suspend();
}

test('only whole chunks whose hashes verify are kept', async () => {
  const data = randomBytes(3 * PARTIAL_CHUNK);
  const hash = sha(data);
  await interrupted(root, data, 2 * PARTIAL_CHUNK + 1000);
  let download = await PartialDownload.open(root, hash);
  expect(download.resumedFrom).toBe(2 * PARTIAL_CHUNK); // the unfinished third chunk is not trusted
  await download.suspend();
  // A flipped byte in the second chunk (a torn write, a bad disk): only the first chunk stays.
  const file = path.join(root, 'partial', hash);
  const bytes = await fs.readFile(file);
  bytes[PARTIAL_CHUNK + 5] ^= 0xff;
  await fs.writeFile(file, bytes);
  download = await PartialDownload.open(root, hash);
  expect(download.resumedFrom).toBe(PARTIAL_CHUNK);
  await download.write(data.subarray(PARTIAL_CHUNK));
  expect(await download.finish()).toBe(hash);
  await download.discard();
  expect(await partialDownloads(root)).toEqual([]);
});

test('a fetch resumes an interrupted download by range, and the object is whole', async () => {
  const cache = await makeCache(path.join(root, 'cache'), [RESUMABLE_MIN + PARTIAL_CHUNK + 123]);
  const [object] = cache.objects;
  const remoteDir = path.join(root, 'remote');
  await fs.mkdir(remoteDir);
  await new RemoteObjectStore(new LocalStorage(remoteDir)).push(cache.objects, cache.path);
  const data = cache.bytes.get(object.hash) as Buffer;
  const tmpDir = path.join(root, 'tmp');
  await interrupted(tmpDir, data, 2 * PARTIAL_CHUNK + 77);

  const counting = new CountingStorage(new LocalStorage(remoteDir));
  const sink = makeSink(path.join(root, 'clone'));
  const result = await new RemoteObjectStore(counting).fetch(cache.objects, sink.accept, { tmpDir });
  expect(result).toMatchObject({ fetched: 1, resumedBytes: 2 * PARTIAL_CHUNK, missing: [], corrupt: [] });
  expect(counting.gets.filter((g) => g.key === looseKey(object.hash))).toEqual([
    { key: looseKey(object.hash), start: 2 * PARTIAL_CHUNK },
  ]);
  expect(sha(await fs.readFile(path.join(root, 'clone', object.hash)))).toBe(object.hash);
  expect(await partialDownloads(tmpDir)).toEqual([]);
});

test('a prefix that verifies but belongs to other bytes is dropped, and the object downloaded again', async () => {
  const cache = await makeCache(path.join(root, 'cache'), [RESUMABLE_MIN + 10]);
  const [object] = cache.objects;
  const remoteDir = path.join(root, 'remote');
  await fs.mkdir(remoteDir);
  await new RemoteObjectStore(new LocalStorage(remoteDir)).push(cache.objects, cache.path);
  // Consistent chunk hashes, wrong content (e.g. a partial file written by hand).
  const tmpDir = path.join(root, 'tmp');
  const other = randomBytes(PARTIAL_CHUNK);
  const download = await PartialDownload.open(tmpDir, object.hash);
  await download.write(other);
  await download.suspend();
  const sink = makeSink(path.join(root, 'clone'));
  const result = await new RemoteObjectStore(new LocalStorage(remoteDir)).fetch(cache.objects, sink.accept, {
    tmpDir,
  });
  expect(result).toMatchObject({ fetched: 1, corrupt: [], missing: [] });
  expect(sha(await fs.readFile(path.join(root, 'clone', object.hash)))).toBe(object.hash);
  // A remote copy that is itself corrupt is reported, and no partial is left behind.
  const loose = path.join(remoteDir, ...looseKey(object.hash).split('/'));
  const bytes = await fs.readFile(loose);
  bytes[bytes.length - 1] ^= 0xff;
  await fs.writeFile(loose, bytes);
  const again = await new RemoteObjectStore(new LocalStorage(remoteDir)).fetch(
    cache.objects,
    makeSink(path.join(root, 'c2')).accept,
    { tmpDir },
  );
  expect(again.corrupt).toEqual([object.hash]);
  expect(await partialDownloads(tmpDir)).toEqual([]);
});
