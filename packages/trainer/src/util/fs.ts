// Atomic file writes: tmp file in the same folder, fsync, rename, fsync of the folder, so a crash leaves
// either the old file or the new one, never a torn one.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `data` to `file` atomically.
 *
 * @example
 * ```ts
 * writeFileAtomicSync('out/model.json', JSON.stringify(model));
 * ```
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array | Uint8Array[]): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    const parts = Array.isArray(data) ? data : [typeof data === 'string' ? Buffer.from(data) : data];
    for (const part of parts) {
      let off = 0;
      while (off < part.length) off += fs.writeSync(fd, part, off, part.length - off);
    }
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}
