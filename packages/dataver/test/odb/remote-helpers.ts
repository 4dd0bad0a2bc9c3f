// Shared fixtures for remote object store tests: a fake local cache of objects
// and a Storage wrapper that counts requests.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { TransferObject } from '../../src/odb/remote';
import type {
  GetOptions,
  PutOptions,
  PutSource,
  Storage,
  StorageDescription,
  StorageEntry,
} from '../../src/storage/types';

export interface FakeCache {
  dir: string;
  objects: TransferObject[];
  path: (hash: string) => string;
  bytes: Map<string, Buffer>;
}

/** Writes objects of the given sizes (random bytes) into `dir` named by hash. */
export async function makeCache(dir: string, sizes: number[]): Promise<FakeCache> {
  await fs.mkdir(dir, { recursive: true });
  const bytes = new Map<string, Buffer>();
  const objects: TransferObject[] = [];
  for (const size of sizes) {
    const data = randomBytes(size);
    const hash = createHash('sha256').update(data).digest('hex');
    bytes.set(hash, data);
    objects.push({ hash, size });
    await fs.writeFile(path.join(dir, hash), data);
  }
  return { dir, objects, path: (h) => path.join(dir, h), bytes };
}

/** An `accept` that moves verified files into `dir` and remembers what it got. */
export function makeSink(dir: string): {
  accept: (hash: string, tmp: string) => Promise<void>;
  got: Set<string>;
} {
  const got = new Set<string>();
  return {
    got,
    accept: async (hash, tmp) => {
      await fs.mkdir(dir, { recursive: true });
      await fs.rename(tmp, path.join(dir, hash));
      got.add(hash);
    },
  };
}

/** Counts calls per method, to prove how few requests a transfer makes. */
export class CountingStorage implements Storage {
  readonly url: string;
  counts = { put: 0, get: 0, getBuffer: 0, stat: 0, list: 0, delete: 0 };
  /** Every `get`, with the range asked for. */
  gets: Array<{ key: string } & GetOptions> = [];
  constructor(readonly inner: Storage) {
    this.url = inner.url;
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
  reset(): void {
    for (const k of Object.keys(this.counts) as (keyof CountingStorage['counts'])[]) this.counts[k] = 0;
  }
  put(key: string, source: PutSource, options?: PutOptions): Promise<void> {
    this.counts.put++;
    return this.inner.put(key, source, options);
  }
  get(key: string, options?: GetOptions): Promise<Readable> {
    this.counts.get++;
    this.gets.push({ key, ...options });
    return this.inner.get(key, options);
  }
  getBuffer(key: string): Promise<Buffer> {
    this.counts.getBuffer++;
    return this.inner.getBuffer(key);
  }
  stat(key: string): Promise<StorageEntry | undefined> {
    this.counts.stat++;
    return this.inner.stat(key);
  }
  list(prefix: string): AsyncIterable<StorageEntry> {
    this.counts.list++;
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(key);
  }
  describe(): Promise<StorageDescription> {
    return this.inner.describe();
  }
}

export async function listKeys(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of storage.list(prefix)) keys.push(e.key);
  return keys.sort();
}
