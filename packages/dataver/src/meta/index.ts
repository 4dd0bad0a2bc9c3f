// Tensor metadata for `dataver add`: the built-in .pt/.npy/.safetensors readers plus readers
// that plugins contribute (resolved from the repository, so dataver never depends on them).
import * as path from 'node:path';
import { builtinMetaReaders } from './builtin.js';
import type { MetaReader, TensorMeta } from './types.js';

export { builtinMetaReaders } from './builtin.js';
export type { MetaReader, TensorMeta, TensorSummary } from './types.js';

export interface ReadTensorMetaOptions {
  /** Repository root: plugin names are resolved from here (its node_modules). */
  repoRoot: string;
  /** Plugin module names from `.dataver/config.json`, e.g. `some-package/dataver-plugin`. */
  plugins: string[];
  /** Told about files a reader failed on and plugins that failed to load; `add` goes on. */
  onWarning?: (message: string) => void;
}

// Plugin modules are loaded once per (repoRoot, name); a failure is remembered too.
const pluginCache = new Map<string, MetaReader[] | Error>();

function isMetaReader(value: unknown): value is MetaReader {
  const r = value as MetaReader;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.name === 'string' &&
    Array.isArray(r.extensions) &&
    r.extensions.every((e) => typeof e === 'string') &&
    typeof r.read === 'function'
  );
}

/**
 * Loads a plugin's `metaReaders` (resolved with `require.resolve(name, { paths: [repoRoot] })`).
 * Throws with a clear message when it cannot be found or exports no valid readers.
 *
 * @example
 * const readers = loadMetaPlugin('some-package/dataver-plugin', '/path/to/repo');
 */
export function loadMetaPlugin(name: string, repoRoot: string): MetaReader[] {
  const key = `${path.resolve(repoRoot)}\0${name}`;
  const cached = pluginCache.get(key);
  if (cached instanceof Error) throw cached;
  if (cached) return cached;
  try {
    let resolved: string;
    try {
      resolved = require.resolve(name, { paths: [repoRoot] });
    } catch (cause) {
      throw new Error(`meta plugin '${name}' not found from ${repoRoot} (is it installed?)`, { cause });
    }
    const mod = require(resolved) as { metaReaders?: unknown };
    const readers = mod.metaReaders;
    if (!Array.isArray(readers) || !readers.every(isMetaReader)) {
      throw new Error(`meta plugin '${name}' does not export metaReaders: MetaReader[]`);
    }
    const normalized = readers.map((r) => ({ ...r, extensions: r.extensions.map((e) => e.toLowerCase()) }));
    pluginCache.set(key, normalized);
    return normalized;
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    pluginCache.set(key, err);
    throw err;
  }
}

/**
 * The reader for a file: built-ins first, then plugins in the order configured.
 *
 * @example
 * const reader = findMetaReader('x.npy', { repoRoot: '.', plugins: [] });
 */
export function findMetaReader(filePath: string, options: ReadTensorMetaOptions): MetaReader | undefined {
  const ext = path.extname(filePath).toLowerCase();
  if (!ext) return undefined;
  const builtin = builtinMetaReaders.find((r) => r.extensions.includes(ext));
  if (builtin) return builtin;
  for (const name of options.plugins) {
    let readers: MetaReader[];
    try {
      readers = loadMetaPlugin(name, options.repoRoot);
    } catch (error) {
      options.onWarning?.((error as Error).message);
      continue;
    }
    const found = readers.find((r) => r.extensions.includes(ext));
    if (found) return found;
  }
  return undefined;
}

/**
 * Tensor metadata (dtype, shape, mean/std/min/max to 6 significant digits) of a file, or
 * undefined when no reader handles its extension or the reader fails (reported via `onWarning`).
 * Never throws: a bad tensor file must not stop `dataver add`.
 *
 * @example
 * const meta = await readTensorMeta('data/processed/train_images.pt', {
 *   repoRoot: process.cwd(),
 *   plugins: [],
 *   onWarning: (m) => console.warn(m),
 * });
 */
export async function readTensorMeta(
  filePath: string,
  options: ReadTensorMetaOptions,
): Promise<TensorMeta | undefined> {
  let reader: MetaReader | undefined;
  try {
    reader = findMetaReader(filePath, options);
  } catch (error) {
    options.onWarning?.(`${filePath}: ${(error as Error).message}`);
    return undefined;
  }
  if (!reader) return undefined;
  try {
    const meta = await reader.read(filePath);
    if (!meta || typeof meta.format !== 'string' || !Array.isArray(meta.tensors)) {
      throw new Error(`reader '${reader.name}' returned malformed metadata`);
    }
    return meta;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // messages from our readers may already name the file
    options.onWarning?.(
      message.includes(filePath)
        ? `no tensor metadata: ${message}`
        : `no tensor metadata for ${filePath}: ${message}`,
    );
    return undefined;
  }
}

/**
 * Forgets loaded plugins (tests, long-running processes after an install).
 *
 * @example
 * clearMetaPluginCache(); // the next readTensorMeta loads plugins again
 */
export function clearMetaPluginCache(): void {
  pluginCache.clear();
}
