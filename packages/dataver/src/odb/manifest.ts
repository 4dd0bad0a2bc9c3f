// Directory manifests: a tracked directory is stored as a JSON object listing
// its files, sorted by path; the directory's hash is the manifest's own hash.
import { DataverError } from '@dataver/foundation';
import { sha256 } from '../hash/file.js';
import { isSafeRelativePath } from '../lock/paths.js';

export interface ManifestEntry {
  /** `/`-separated path relative to the directory. */
  path: string;
  hash: string;
  size: number;
}

/** Compares paths by UTF-16 code units, the same on every platform. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The canonical bytes of a manifest: entries sorted by path, keys in a fixed order.
 *
 * @example
 * const bytes = serializeManifest([{ path: 'a.txt', hash, size: 3 }]);
 */
export function serializeManifest(entries: ManifestEntry[]): Buffer {
  let sorted = entries;
  for (let i = 1; i < entries.length; i++) {
    if (comparePaths((entries[i - 1] as ManifestEntry).path, (entries[i] as ManifestEntry).path) > 0) {
      sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
      break;
    }
  }
  // Written in pieces of about 64 KiB into large chunks: a million entries never make one
  // string of the whole manifest, nor a million strings at once.
  const out = new ChunkWriter();
  let text = '[\n';
  sorted.forEach((e, i) => {
    text += `${i === 0 ? '' : ',\n'}{"path":${JSON.stringify(e.path)},"hash":${JSON.stringify(e.hash)},"size":${JSON.stringify(e.size)}}`;
    if (text.length > 1 << 16) {
      out.write(text);
      text = '';
    }
  });
  out.write(`${text}\n]\n`);
  return out.concat();
}

/** Text appended into 1 MiB buffers. */
class ChunkWriter {
  private readonly chunks: Buffer[] = [];
  private current = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  write(text: string): void {
    if (this.used + text.length * 3 > this.current.length) {
      this.chunks.push(this.current.subarray(0, this.used));
      this.current = Buffer.allocUnsafe(Math.max(1 << 20, text.length * 3));
      this.used = 0;
    }
    this.used += this.current.write(text, this.used, 'utf8');
  }

  concat(): Buffer {
    return Buffer.concat([...this.chunks, this.current.subarray(0, this.used)]);
  }
}

/** The hash and bytes of a manifest. */
export function manifestObject(entries: ManifestEntry[]): { hash: string; bytes: Buffer } {
  const bytes = serializeManifest(entries);
  return { hash: sha256(bytes), bytes };
}

/**
 * Parses and validates manifest bytes (paths must stay inside the directory).
 *
 * @example
 * const entries = parseManifest(bytes, hash);
 */
export function parseManifest(bytes: Buffer, hash: string): ManifestEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new DataverError('OBJECT_CORRUPT', `directory manifest ${hash} is not valid JSON`, {
      hint: 'run `dataver verify` and `dataver pull` to restore it',
    });
  }
  if (!Array.isArray(raw)) {
    throw new DataverError('OBJECT_CORRUPT', `directory manifest ${hash} is not a list`);
  }
  return raw.map((entry: unknown) => {
    const e = entry as Partial<ManifestEntry>;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.path !== 'string' ||
      !isSafeRelativePath(e.path) ||
      typeof e.hash !== 'string' ||
      !/^[0-9a-f]{64}$/.test(e.hash) ||
      typeof e.size !== 'number'
    ) {
      throw new DataverError('OBJECT_CORRUPT', `directory manifest ${hash} has an invalid entry`, {
        hint: 'the manifest may be hand-crafted: do not trust it; restore it from a remote',
      });
    }
    return { path: e.path, hash: e.hash, size: e.size };
  });
}
