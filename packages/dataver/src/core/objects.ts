// The set of objects a lock needs: file objects, directory manifests and the
// files they list. Push, fetch, gc and status --remote all start from this.
import { isDataverError } from '@dataver/foundation';
import type { Lock } from '../lock/schema.js';
import type { ManifestEntry } from '../odb/manifest.js';
import type { Repo } from './repo.js';
import { selectOutputs } from './status.js';

export interface NeededObject {
  hash: string;
  size: number;
  /** The output path (and file inside a directory) it belongs to, for messages. */
  path: string;
  /**
   * Further workspace paths with the same content (files with equal bytes share one object);
   * absent for most objects, so a million of them cost no array each. See {@link pathsOf}.
   */
  morePaths?: string[];
}

/**
 * Every workspace path whose content an object is.
 *
 * @example
 * const where = pathsOf(object); // ['data/a.bin', 'data/copy-of-a.bin']
 */
export function pathsOf(o: NeededObject): string[] {
  return o.morePaths ? [o.path, ...o.morePaths] : [o.path];
}

export interface NeededObjects {
  objects: NeededObject[];
  /** Manifests referenced by the lock that the cache lacks (their files are unknown until fetched). */
  missingManifests: Array<{ hash: string; path: string }>;
}

/**
 * Collects the objects referenced by the selected outputs of a lock, deduplicated. With
 * `manifests`, the directory manifests it parses are kept there by hash (and taken from there), so
 * that a caller going on to the same outputs (pull's checkout) neither parses them again nor holds
 * a second copy of every file's hash.
 *
 * @example
 * const { objects } = await neededObjects(repo, lock);
 */
export async function neededObjects(
  repo: Pick<Repo, 'cache'>,
  lock: Lock,
  repoPaths?: string[],
  manifests?: Map<string, ManifestEntry[]>,
): Promise<NeededObjects> {
  const seen = new Map<string, NeededObject>();
  const missingManifests: Array<{ hash: string; path: string }> = [];
  const need = (hash: string, size: number, path: string) => {
    const known = seen.get(hash);
    if (!known) seen.set(hash, { hash, size, path });
    else if (known.morePaths) known.morePaths.push(path);
    else known.morePaths = [path];
  };
  for (const [outPath, entry] of selectOutputs(lock, repoPaths)) {
    if (entry.kind === 'file') {
      need(entry.hash, entry.size, outPath);
      continue;
    }
    try {
      const manifest = manifests?.get(entry.hash) ?? (await repo.cache.readManifest(entry.hash));
      manifests?.set(entry.hash, manifest);
      need(entry.hash, repo.cache.sizeOf(entry.hash), outPath);
      for (const e of manifest) need(e.hash, e.size, `${outPath}/${e.path}`);
    } catch (error) {
      if (!isDataverError(error, 'OBJECT_MISSING')) throw error;
      missingManifests.push({ hash: entry.hash, path: outPath });
    }
  }
  return { objects: [...seen.values()], missingManifests };
}
