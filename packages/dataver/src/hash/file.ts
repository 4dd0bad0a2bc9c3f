// Streaming SHA-256 of files. Reads overlap with hashing: while OpenSSL hashes
// one block on this thread, the next block is already being read by libuv.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';

/** The hash of some bytes: lowercase hex SHA-256 and the byte count. */
export interface HashResult {
  hash: string;
  size: number;
}

const BLOCK = 1 << 20;
/** SHA-256 of a buffer or string, lowercase hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Hashes a file with double-buffered reads (read of block n+1 overlaps hashing of block n).
 *
 * @example
 * const { hash, size } = await hashFile('data/train.pt');
 */
export async function hashFile(filePath: string): Promise<HashResult> {
  const handle = await fsp.open(filePath, 'r');
  try {
    const hasher = createHash('sha256');
    let filling = Buffer.allocUnsafe(BLOCK);
    let spare = Buffer.allocUnsafe(BLOCK);
    let size = 0;
    let pending = handle.read(filling, 0, BLOCK, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const block = filling;
      filling = spare;
      spare = block;
      // Start the next read before hashing this block, into the other buffer.
      pending = handle.read(filling, 0, BLOCK, null);
      hasher.update(bytesRead === BLOCK ? block : block.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { hash: hasher.digest('hex'), size };
  } finally {
    await handle.close();
  }
}

/**
 * Synchronous hashing, for worker threads where blocking is free and the
 * per-call overhead of async fs would dominate on small files.
 *
 * @example
 * const { hash } = hashFileSync('/tmp/a.bin');
 */
export function hashFileSync(filePath: string, scratch: Buffer = Buffer.allocUnsafe(BLOCK)): HashResult {
  const fd = fs.openSync(filePath, 'r');
  try {
    const hasher = createHash('sha256');
    let size = 0;
    for (;;) {
      const bytesRead = fs.readSync(fd, scratch, 0, scratch.length, null);
      if (bytesRead === 0) break;
      hasher.update(bytesRead === scratch.length ? scratch : scratch.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { hash: hasher.digest('hex'), size };
  } finally {
    fs.closeSync(fd);
  }
}
