// The Storage contract (see src/storage/types.ts) as one jest suite that every
// implementation runs: local folder, fault-injecting and retry wrappers, GCS on the emulator.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { type DataverError, type ErrorCode, isDataverError } from '@dataver/foundation';
import type { Storage, StorageDescription, StorageEntry } from '../../src/storage/types';

export interface StorageFixture {
  storage: Storage;
  /** Frees what the fixture made (temp folders, bucket prefixes); `storage.close` is called before it. */
  dispose?: () => Promise<void>;
  /** What `describe()` must say of this storage (beyond what every storage must say). */
  description?: Partial<StorageDescription>;
}

export interface ContractOptions {
  /** Size of the streamed large object (default 12 MiB: above GCS's resumable threshold). */
  largeSize?: number;
  /** How many concurrent same-key puts race (default 6). */
  racers?: number;
}

/** Reads a stream to one buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect(iterable: AsyncIterable<StorageEntry>): Promise<StorageEntry[]> {
  const out: StorageEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Asserts that a promise rejects with a DataverError of `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<DataverError> {
  try {
    await promise;
  } catch (error) {
    if (!isDataverError(error, code)) throw error;
    return error;
  }
  throw new Error(`expected a DataverError ${code}, but it resolved`);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Registers the Storage contract tests for one implementation.
 *
 * @example
 * describeStorageContract('LocalStorage', async () => ({ storage: new LocalStorage(await tmpDir()) }));
 */
export function describeStorageContract(
  name: string,
  makeStorage: () => Promise<StorageFixture>,
  options: ContractOptions = {},
): void {
  const largeSize = options.largeSize ?? 12 * 1024 * 1024;
  const racers = options.racers ?? 6;

  describe(`Storage contract: ${name}`, () => {
    let fixture: StorageFixture;
    let storage: Storage;

    beforeEach(async () => {
      fixture = await makeStorage();
      storage = fixture.storage;
    });
    afterEach(async () => {
      await storage.close?.();
      await fixture.dispose?.();
    });

    test('put then get/getBuffer/stat round-trips the bytes', async () => {
      const data = Buffer.from('hello, dataver\n');
      await storage.put('a/b/c.txt', data);
      expect(await storage.getBuffer('a/b/c.txt')).toEqual(data);
      expect(await readAll(await storage.get('a/b/c.txt'))).toEqual(data);
      expect(await storage.stat('a/b/c.txt')).toEqual({ key: 'a/b/c.txt', size: data.length });
      expect(typeof storage.url).toBe('string');
    });

    test('describe says what the storage is, where, and whose credentials; never a secret', async () => {
      const description = await storage.describe();
      expect(['gcs', 'local']).toContain(description.kind);
      expect(description.location).toBe(storage.url);
      expect(typeof description.credentialSource).toBe('string');
      expect(description.credentialSource).not.toBe('');
      if (fixture.description) expect(description).toMatchObject(fixture.description);
      const text = JSON.stringify(description);
      expect(text).not.toMatch(/PRIVATE KEY|private_key|Bearer|ya29\./);
    });

    test('put of an existing key replaces it', async () => {
      await storage.put('k', Buffer.from('first value, longer'));
      await storage.put('k', Buffer.from('second'));
      expect((await storage.getBuffer('k')).toString()).toBe('second');
      expect((await storage.stat('k'))?.size).toBe(6);
    });

    test('missing key: get and getBuffer reject NOT_FOUND, stat is undefined', async () => {
      await expectCode(storage.get('nope/missing'), 'NOT_FOUND');
      await expectCode(storage.getBuffer('nope/missing'), 'NOT_FOUND');
      expect(await storage.stat('nope/missing')).toBeUndefined();
    });

    test('list yields every key with the prefix and nothing else', async () => {
      const keys = ['p/x/1', 'p/x/2', 'p/xy/3', 'p/y/4', 'q/5', 'p/x/deep/er/6'];
      await Promise.all(keys.map((k, i) => storage.put(k, Buffer.alloc(i + 1, i))));
      expect((await collect(storage.list('p/x/'))).map((e) => e.key)).toEqual([
        'p/x/1',
        'p/x/2',
        'p/x/deep/er/6',
      ]);
      // A plain string prefix, not a folder: `p/x` also matches `p/xy/…`.
      expect((await collect(storage.list('p/x'))).map((e) => e.key)).toEqual([
        'p/x/1',
        'p/x/2',
        'p/x/deep/er/6',
        'p/xy/3',
      ]);
      const all = await collect(storage.list(''));
      expect(all).toEqual([...keys].sort().map((key) => ({ key, size: keys.indexOf(key) + 1 })));
      expect(await collect(storage.list('none/'))).toEqual([]);
    });

    test('delete removes the key and is idempotent', async () => {
      await storage.put('d/1', Buffer.from('x'));
      await storage.put('d/2', Buffer.from('y'));
      await storage.delete('d/1');
      await storage.delete('d/1');
      await storage.delete('never/existed');
      expect(await storage.stat('d/1')).toBeUndefined();
      expect((await collect(storage.list('d/'))).map((e) => e.key)).toEqual(['d/2']);
    });

    test('concurrent puts of one key never leave a partial value', async () => {
      const values = Array.from({ length: racers }, (_, i) => Buffer.alloc(512 * 1024 + i * 1000, 65 + i));
      const hashes = new Set(values.map(sha));
      let reads = 0;
      let done = false;
      const reader = (async () => {
        while (!done) {
          try {
            const got = await storage.getBuffer('race/key');
            reads++;
            expect(hashes.has(sha(got))).toBe(true);
          } catch (error) {
            if (!isDataverError(error, 'NOT_FOUND')) throw error;
          }
          await new Promise((r) => setImmediate(r));
        }
      })();
      await Promise.all(values.map((v) => storage.put('race/key', v)));
      done = true;
      await reader;
      const final = await storage.getBuffer('race/key');
      expect(hashes.has(sha(final))).toBe(true);
      expect(reads).toBeGreaterThanOrEqual(0);
      // No temporary files become visible keys.
      expect((await collect(storage.list('race/'))).map((e) => e.key)).toEqual(['race/key']);
    });

    test('ranged get returns the inclusive byte range', async () => {
      const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      await storage.put('r', data);
      expect(await readAll(await storage.get('r', { start: 10, end: 19 }))).toEqual(data.subarray(10, 20));
      expect(await readAll(await storage.get('r', { start: 990 }))).toEqual(data.subarray(990));
      expect(await readAll(await storage.get('r', { start: 0, end: 0 }))).toEqual(data.subarray(0, 1));
      expect(await readAll(await storage.get('r', { start: 500, end: 999 }))).toEqual(data.subarray(500));
    });

    test('binary data and a 0-byte object survive unchanged', async () => {
      const binary = randomBytes(70_001);
      await storage.put('bin', binary);
      expect(sha(await storage.getBuffer('bin'))).toBe(sha(binary));
      await storage.put('empty', Buffer.alloc(0));
      expect(await storage.stat('empty')).toEqual({ key: 'empty', size: 0 });
      expect((await storage.getBuffer('empty')).length).toBe(0);
      expect((await readAll(await storage.get('empty'))).length).toBe(0);
    });

    test('a large object put from a file streams back intact', async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dataver-contract-'));
      try {
        const file = path.join(dir, 'large.bin');
        const chunk = randomBytes(1024 * 1024);
        const handle = await fs.open(file, 'w');
        const expected = createHash('sha256');
        for (let written = 0; written < largeSize; written += chunk.length) {
          const part = chunk.subarray(0, Math.min(chunk.length, largeSize - written));
          part[0] = written & 0xff; // make every MiB differ
          await handle.write(part);
          expected.update(part);
        }
        await handle.close();
        let progress = 0;
        await storage.put(
          'large/obj',
          { filePath: file },
          { size: largeSize, onProgress: (n) => (progress = n) },
        );
        expect(progress).toBe(largeSize);
        expect((await storage.stat('large/obj'))?.size).toBe(largeSize);
        const actual = createHash('sha256');
        let bytes = 0;
        for await (const c of await storage.get('large/obj')) {
          actual.update(c as Buffer);
          bytes += (c as Buffer).length;
        }
        expect(bytes).toBe(largeSize);
        expect(actual.digest('hex')).toBe(expected.digest('hex'));
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });
}

/** A fresh temp folder and a function that removes it. */
export async function makeTempDir(
  label = 'dataver-storage-',
): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), label));
  return { dir, dispose: () => fs.rm(dir, { recursive: true, force: true }) };
}
