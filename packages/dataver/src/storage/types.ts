// The Storage interface: a flat key → bytes store. The local cache, a local
// folder remote and a GCS bucket are all Storages; the object database and the
// remote layer are written against this interface only.
import type { Readable } from 'node:stream';

/** What a `put` uploads: bytes in memory or a file on disk (re-readable, so retries work). */
export type PutSource = Buffer | { filePath: string };

export interface StorageEntry {
  /** Key relative to the storage root, `/`-separated, never starting with `/`. */
  key: string;
  size: number;
}

export interface PutOptions {
  /** Known size in bytes (lets an implementation choose simple vs resumable upload). */
  size?: number;
  /** Called with the number of bytes sent so far. */
  onProgress?: (bytesSent: number) => void;
}

export interface GetOptions {
  /** Byte range [start, end] inclusive, like HTTP Range. */
  start?: number;
  end?: number;
}

/**
 * A flat key/value byte store.
 *
 * Contract (checked by `test/storage/contract.ts` for every implementation):
 * - `put` is atomic: a reader sees the old value, nothing, or the whole new value, never a part.
 * - `put` of an existing key replaces it.
 * - `get`/`stat` of a missing key: `get` rejects with DataverError `NOT_FOUND`, `stat` resolves `undefined`.
 * - `delete` of a missing key succeeds.
 * - `list(prefix)` yields every key that starts with `prefix` (a plain string prefix), in any order.
 * - Errors of the medium (network, auth) are DataverErrors with a `REMOTE_*` code.
 */
export interface Storage {
  /** Human-readable location, safe to print (never contains secrets). */
  readonly url: string;
  put(key: string, source: PutSource, options?: PutOptions): Promise<void>;
  get(key: string, options?: GetOptions): Promise<Readable>;
  /** Reads a whole (small) object into memory. */
  getBuffer(key: string): Promise<Buffer>;
  stat(key: string): Promise<StorageEntry | undefined>;
  list(prefix: string): AsyncIterable<StorageEntry>;
  delete(key: string): Promise<void>;
  /** Releases sockets, timers, … */
  close?(): Promise<void>;
}
