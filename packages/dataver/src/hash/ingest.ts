// Hash-while-copying into a content-addressed directory (`<root>/ab/cdef…`).
// The hash is taken of the very bytes written to the cache, so a source file
// edited during `add` can never produce a cache object whose name lies.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import path from 'node:path';
import { tmpNameFor } from '@dataver/foundation';
import { type HashResult, READ_BLOCK } from './file.js';

/** Where an object with this hash lives under a content-addressed root. */
export function objectPathIn(root: string, hash: string): string {
  return path.join(root, hash.slice(0, 2), hash.slice(2));
}

/**
 * Writes `bytes`, already known to hash to `hash`, as that object under `root`: read-only, through
 * the temporary name `tmp` beside it (so no rename across folders), creating its folder when
 * missing. An object already there is replaced by the same bytes, which is harmless.
 *
 * @example
 * storeObjectSync('.dataver/cache/sha256', hash, bytes, tmpNameFor(objectPathIn(root, hash)));
 */
export function storeObjectSync(root: string, hash: string, bytes: Uint8Array, tmp: string): void {
  const target = objectPathIn(root, hash);
  try {
    try {
      fs.writeFileSync(tmp, bytes, { mode: 0o444, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(tmp, bytes, { mode: 0o444, flag: 'wx' });
    }
    fs.renameSync(tmp, target);
  } catch (error) {
    // The clean-up may fail for the same reason (a file where the folder should be): the first
    // error is the one to report, and it names the object, not its temporary file.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {}
    throw Object.assign(error as Error, { path: target });
  }
}

/**
 * A temporary name beside `target`, the same for every target of its folder: for synchronous
 * writes, each renamed (or removed) before the next begins, so the name is free again each time;
 * drawing a fresh random name per file costs as much as writing a small one.
 */
export function reusedTmpName(names: Map<string, string>, target: string): string {
  const folder = path.dirname(target);
  let tmp = names.get(folder);
  if (tmp === undefined) {
    tmp = tmpNameFor(target);
    names.set(folder, tmp);
  }
  return tmp;
}

export interface IngestResult extends HashResult {
  /** True when the object was new to the store. */
  added: boolean;
}

/**
 * Copies `source` into `root` under its SHA-256, read-only, atomically (tmp + rename).
 * Synchronous on purpose: it runs in worker threads, where blocking I/O is cheapest.
 *
 * @example
 * const { hash, added } = ingestFileSync('data/a.bin', '.dataver/cache/sha256');
 */
export function ingestFileSync(source: string, root: string, scratch: Buffer): IngestResult {
  const input = fs.openSync(source, 'r');
  try {
    return ingestSmall(input, root, scratch) ?? ingestStreaming(input, root, scratch);
  } finally {
    fs.closeSync(input);
  }
}

/** Temporary names of ingestSmall's writes, one per folder (see reusedTmpName). */
const smallTmpNames = new Map<string, string>();

/**
 * A file that fits in `scratch`: read whole, hashed, and written only when the object is new,
 * as a temporary file beside its final name (no folder shared by every write, no copy of a
 * duplicate). Undefined when the file is larger than `scratch` (or grew while read).
 */
function ingestSmall(input: number, root: string, scratch: Buffer): IngestResult | undefined {
  let size = 0;
  for (;;) {
    const n = fs.readSync(input, scratch, size, scratch.length - size, size);
    if (n === 0) break;
    size += n;
    if (size === scratch.length) return undefined;
  }
  const bytes = scratch.subarray(0, size);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const target = objectPathIn(root, hash);
  if (fs.existsSync(target)) return { hash, size, added: false };
  // In foundation's temp-name shape, so crash clean-up (ObjectCache.removeLeftovers) finds it;
  // one name per folder and thread, as drawing a random name per file cost 5 % of an `add`.
  storeObjectSync(root, hash, bytes, reusedTmpName(smallTmpNames, target));
  return { hash, size, added: true };
}

/** A large file: hashed while copied block by block into a temporary file, then renamed. */
function ingestStreaming(input: number, root: string, scratch: Buffer): IngestResult {
  // The name is not known before the bytes are hashed: the temporary file sits in the root, in
  // foundation's temp-name shape, so crash clean-up (ObjectCache.removeLeftovers) recognises it.
  const tmp = tmpNameFor(path.join(root, 'ingest'));
  let output: number | undefined;
  try {
    output = fs.openSync(tmp, 'wx', 0o444);
    const hasher = createHash('sha256');
    let size = 0;
    // Cache-sized reads (see READ_BLOCK), however large `scratch` is: the small-file path wants it
    // large. ingestSmall read with positions, so the file offset is still at the start.
    const length = Math.min(scratch.length, READ_BLOCK);
    for (;;) {
      const bytesRead = fs.readSync(input, scratch, 0, length, null);
      if (bytesRead === 0) break;
      const block = scratch.subarray(0, bytesRead);
      hasher.update(block);
      let written = 0;
      while (written < bytesRead) written += fs.writeSync(output, block, written, bytesRead - written);
      size += bytesRead;
    }
    fs.closeSync(output);
    output = undefined;
    const hash = hasher.digest('hex');
    const target = objectPathIn(root, hash);
    if (fs.existsSync(target)) {
      fs.unlinkSync(tmp);
      return { hash, size, added: false };
    }
    try {
      fs.renameSync(tmp, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(tmp, target);
    }
    return { hash, size, added: true };
  } catch (error) {
    if (output !== undefined) fs.closeSync(output);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}
