// The Storage interface: a flat key → bytes store. Remotes (a GCS bucket, a local folder) are
// Storages, and the remote object store (odb/remote.ts) is written against this interface only.
// The local cache is not a Storage: it is a folder of read-only objects that odb/cache.ts reads
// and writes with node:fs directly, because its hot paths (hash-while-copying in worker threads,
// reflinks and hardlinks into the workspace, rename of verified downloads, syncfs once per batch)
// are file-system operations that a key → bytes interface cannot express.
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
  /** Called with the number of bytes sent so far (from 0 again when an upload is retried). */
  onProgress?: (bytesSent: number) => void;
}

export interface GetOptions {
  /** Byte range [start, end] inclusive, like HTTP Range. */
  start?: number;
  end?: number;
}

/** What a Storage is, for `dataver remote test` and messages; never holds a secret. */
export interface StorageDescription {
  /** `gcs`: a bucket (and prefix) through the GCS JSON API; `local`: a folder of this machine. */
  kind: 'gcs' | 'local';
  /** Where: `gs://bucket/prefix`, or the folder's absolute path (the Storage's `url`). */
  location: string;
  /** The custom endpoint in use (an emulator, a private deployment), if any. */
  endpoint?: string;
  /**
   * Where the credentials come from: for GCS `remote config (credentials key file)`,
   * `DATAVER_GCS_CREDENTIALS`, `GOOGLE_APPLICATION_CREDENTIALS`, `application default
   * credentials` or `none (emulator)`; `file system` for a folder.
   */
  credentialSource: string;
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
 * - Errors of the medium (network, auth) are DataverErrors with a `REMOTE_*` code; `data.transient`
 *   says whether trying again may succeed. A Storage tries each call once: retries are the job of
 *   the one retry layer (`storage/retry.ts`), which decides by that flag.
 * - `describe()` says what the storage is (kind, location, endpoint, credential source), never a secret.
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
  /** What this storage is (asynchronous: a GCS remote finds its credential source on first use). */
  describe(): Promise<StorageDescription>;
  /** Releases sockets, timers, … */
  close?(): Promise<void>;
}
