// Partial downloads of large objects, kept across crashes so the next fetch resumes them by range.
// Beside the bytes (`partial/<hash>`) a sidecar (`partial/<hash>.json`) lists the sha256 of every
// complete chunk written so far; a resumed download keeps only the prefix whose chunks still hash
// to what was recorded (a torn write, a power cut or a hand edit ends the trusted prefix there),
// so the object's own hash, checked at the end, is computed over bytes that were each verified.
import { createHash, type Hash } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '@dataver/foundation';

/** Bytes per verified chunk. */
export const PARTIAL_CHUNK = 8 * 1024 * 1024;
/** Objects at least this big are downloaded resumably. */
export const RESUMABLE_MIN = 2 * PARTIAL_CHUNK;
/** Received bytes are written in batches of about this size. */
const FLUSH_BYTES = 1024 * 1024;

const HASH_RE = /^[0-9a-f]{64}$/;

interface Sidecar {
  version: 1;
  chunk: number;
  /** sha256 of each complete chunk, in order. */
  chunks: string[];
}

function partialDir(downloadDir: string): string {
  return path.join(downloadDir, 'partial');
}

/**
 * The partial downloads kept in a download folder, with their sizes on disk.
 *
 * @example
 * const partials = await partialDownloads(cache.downloadDir);
 */
export async function partialDownloads(downloadDir: string): Promise<Array<{ hash: string; size: number }>> {
  const dir = partialDir(downloadDir);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const out: Array<{ hash: string; size: number }> = [];
  for (const name of names.filter((n) => HASH_RE.test(n)).sort()) {
    const st = await fsp.stat(path.join(dir, name)).catch(() => undefined);
    if (st?.isFile()) out.push({ hash: name, size: st.size });
  }
  return out;
}

/**
 * Deletes every partial download (gc, or a cache that is reset).
 *
 * @example
 * await removePartials(cache.downloadDir);
 */
export async function removePartials(downloadDir: string): Promise<number> {
  const partials = await partialDownloads(downloadDir);
  await fsp.rm(partialDir(downloadDir), { recursive: true, force: true });
  return partials.length;
}

async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<Sidecar>;
    if (v.version !== 1 || v.chunk !== PARTIAL_CHUNK || !Array.isArray(v.chunks)) return undefined;
    if (!v.chunks.every((c) => typeof c === 'string' && HASH_RE.test(c))) return undefined;
    return v as Sidecar;
  } catch {
    return undefined;
  }
}

/**
 * A download being written to `partial/<hash>`: resumes after the verified prefix of an earlier
 * attempt, records each complete chunk's hash, and hashes the whole object as it goes.
 *
 * @example
 * const download = await PartialDownload.open(cache.downloadDir, hash);
 * for await (const chunk of await storage.get(key, { start: download.offset })) await download.write(chunk);
 * if ((await download.finish()) === hash) await accept(hash, download.file);
 */
export class PartialDownload {
  private chunkHasher = createHash('sha256');
  private inChunk = 0;
  /** Bytes received but not yet written, and where the file ends on disk. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written: number;

  private constructor(
    readonly file: string,
    private readonly sidecarFile: string,
    private readonly handle: FileHandle,
    private readonly objectHasher: Hash,
    private readonly chunks: string[],
    /** Bytes already there, verified, when the download was opened. */
    readonly resumedFrom: number,
  ) {
    this.written = resumedFrom;
  }

  /** Where the next byte goes (the first byte to request from the remote). */
  get offset(): number {
    return this.chunks.length * PARTIAL_CHUNK + this.inChunk;
  }

  /** Opens (or starts) the partial download of `hash`, keeping only its verified prefix. */
  static async open(downloadDir: string, hash: string): Promise<PartialDownload> {
    const dir = partialDir(downloadDir);
    await fsp.mkdir(dir, { recursive: true });
    const file = path.join(dir, hash);
    const sidecarFile = `${file}.json`;
    const recorded = (await readSidecar(sidecarFile))?.chunks ?? [];
    const handle = await fsp.open(file, fsConstants.O_RDWR | fsConstants.O_CREAT);
    const objectHasher = createHash('sha256');
    const kept: string[] = [];
    const buffer = Buffer.allocUnsafe(PARTIAL_CHUNK);
    try {
      for (const expected of recorded) {
        const { bytesRead } = await handle.read(buffer, 0, PARTIAL_CHUNK, kept.length * PARTIAL_CHUNK);
        if (bytesRead !== PARTIAL_CHUNK) break;
        if (createHash('sha256').update(buffer).digest('hex') !== expected) break;
        objectHasher.update(buffer);
        kept.push(expected);
      }
      await handle.truncate(kept.length * PARTIAL_CHUNK);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new PartialDownload(file, sidecarFile, handle, objectHasher, kept, kept.length * PARTIAL_CHUNK);
  }

  /** Appends downloaded bytes (buffered: small network chunks are written together). */
  async write(data: Buffer): Promise<void> {
    let pos = 0;
    while (pos < data.length) {
      const take = Math.min(PARTIAL_CHUNK - this.inChunk, data.length - pos);
      const part = data.subarray(pos, pos + take);
      this.objectHasher.update(part);
      this.chunkHasher.update(part);
      this.pending.push(part);
      this.pendingBytes += take;
      this.inChunk += take;
      pos += take;
      if (this.inChunk === PARTIAL_CHUNK) {
        await this.flush();
        this.chunks.push(this.chunkHasher.digest('hex'));
        this.chunkHasher = createHash('sha256');
        this.inChunk = 0;
        this.written = this.chunks.length * PARTIAL_CHUNK;
        // No fsync: a resumed download re-verifies every chunk against these hashes anyway.
        await writeFileAtomic(
          this.sidecarFile,
          JSON.stringify({ version: 1, chunk: PARTIAL_CHUNK, chunks: this.chunks } satisfies Sidecar),
          { sync: false },
        );
      } else if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
    }
  }

  /** Writes the buffered bytes at their place in the file. */
  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(this.pending, this.written);
      this.written += bytesWritten;
      let left = bytesWritten;
      // A short write: drop what went out and write the rest.
      while (left > 0 && this.pending.length > 0) {
        const first = this.pending[0] as Buffer;
        if (first.length <= left) {
          left -= first.length;
          this.pending.shift();
        } else {
          this.pending[0] = first.subarray(left);
          left = 0;
        }
      }
    }
    this.pendingBytes = 0;
  }

  /** Closes the file and returns the sha256 of everything in it; the partial stays until accepted or discarded. */
  async finish(): Promise<string> {
    await this.flush();
    await this.handle.close();
    return this.objectHasher.digest('hex');
  }

  /** Closes the file, keeping what was written for a later resume (after a failed transfer). */
  async suspend(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  /** Deletes the partial (after it was accepted into the cache, or found corrupt). */
  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fsp.rm(this.file, { force: true });
    await fsp.rm(this.sidecarFile, { force: true });
  }
}
