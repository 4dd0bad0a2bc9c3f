// Streaming SHA-256 of files, read into page-aligned buffers. malloc puts a large buffer 16
// bytes past a page boundary, and on this AMD CPU the kernel's copy out of the page cache into
// such an address runs about 3× slower (0.8–1.1 GB/s instead of 2.5–3.5 in the same runs), which
// was most of the gap between Node's streaming hash and `openssl dgst` on the same OpenSSL.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** The hash of some bytes: lowercase hex SHA-256 and the byte count. */
export interface HashResult {
  hash: string;
  size: number;
}

/** Bytes per read: small enough to stay in a core's L2 cache between the read and the hash. */
export const READ_BLOCK = 128 << 10;
/** Bytes hashed between two turns of the event loop in `hashFile` (about 6 ms). */
const SLICE = 8 << 20;
const WASM_PAGE = 64 << 10;

// The global that Node provides; the compiler's lib here has no WebAssembly types.
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer } };

/**
 * A buffer of at least `size` bytes that starts on a page boundary. WebAssembly memory is the one
 * allocation Node makes with mmap directly; where it cannot be had (an address-space limit), a
 * plain buffer is only slower.
 *
 * @example
 * const scratch = pageAlignedBuffer(1 << 20);
 */
export function pageAlignedBuffer(size: number): Buffer {
  try {
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(size / WASM_PAGE)) });
    return Buffer.from(memory.buffer);
  } catch {
    return Buffer.allocUnsafe(size);
  }
}

// Blocks of finished hashes, reused: concurrent `hashFile` calls each need their own.
const spareBlocks: Buffer[] = [];
let syncBlock: Buffer | undefined;

/** SHA-256 of a buffer or string, lowercase hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Reads exactly `size` bytes at `offset` of an open file (a member of a pack); a file that ends
 * first throws an error with code `ESHORT`.
 *
 * @example
 * const bytes = readExactlySync(fd, 512, 4096);
 */
export function readExactlySync(fd: number, offset: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    const n = fs.readSync(fd, out, done, size - done, offset + done);
    if (n === 0)
      throw Object.assign(new Error(`the file ends before its ${size} bytes at ${offset}`), {
        code: 'ESHORT',
      });
    done += n;
  }
  return out;
}

/**
 * Hashes a file on this thread, letting the event loop run every 8 MiB.
 *
 * Blocking reads, not libuv's: an aligned read from the page cache costs a fifth of hashing the
 * block, so overlapping it on another thread saves little, and with four or eight 128 KiB reads
 * in flight on libuv's threads 1 GiB took 1.7–2.5 s against 1.3–1.5 s for blocking reads here.
 *
 * @example
 * const { hash, size } = await hashFile('data/train.pt');
 */
export async function hashFile(filePath: string): Promise<HashResult> {
  const fd = fs.openSync(filePath, 'r');
  const block = spareBlocks.pop() ?? pageAlignedBuffer(READ_BLOCK);
  try {
    const hasher = createHash('sha256');
    let size = 0;
    for (;;) {
      const sliceEnd = size + SLICE;
      while (size < sliceEnd) {
        const bytesRead = fs.readSync(fd, block, 0, READ_BLOCK, null);
        if (bytesRead === 0) return { hash: hasher.digest('hex'), size };
        hasher.update(bytesRead === READ_BLOCK ? block : block.subarray(0, bytesRead));
        size += bytesRead;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    fs.closeSync(fd);
    if (spareBlocks.length < 4) spareBlocks.push(block);
  }
}

/**
 * Synchronous hashing, for worker threads where blocking is free and the
 * per-call overhead of async fs would dominate on small files. Uses at most
 * `READ_BLOCK` bytes of `scratch` (default: one page-aligned block per thread).
 *
 * @example
 * const { hash } = hashFileSync('/tmp/a.bin');
 */
export function hashFileSync(filePath: string, scratch?: Buffer): HashResult {
  if (!scratch && !syncBlock) syncBlock = pageAlignedBuffer(READ_BLOCK);
  const buffer = (scratch ?? syncBlock) as Buffer;
  const fd = fs.openSync(filePath, 'r');
  try {
    const hasher = createHash('sha256');
    const length = Math.min(buffer.length, READ_BLOCK);
    let size = 0;
    for (;;) {
      const bytesRead = fs.readSync(fd, buffer, 0, length, null);
      if (bytesRead === 0) break;
      hasher.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { hash: hasher.digest('hex'), size };
  } finally {
    fs.closeSync(fd);
  }
}
