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
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  const lines = sorted.map((e) => JSON.stringify({ path: e.path, hash: e.hash, size: e.size }));
  return Buffer.from(`[\n${lines.join(',\n')}\n]\n`);
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
