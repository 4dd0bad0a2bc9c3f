// The optional native walker (native/walk.c, built into dist/native/walk.node when a C compiler
// and Node's headers are there). Loaded once; absent, broken or disabled with DATAVER_NATIVE=0,
// callers walk in JavaScript instead.
import { availableParallelism } from 'node:os';
import path from 'node:path';

/** Numbers per entry in `meta`: kind, size, mtimeMs, ctimeMs, ino, dev, nlink. */
export const META = 7;
/** `meta` kinds. */
export const KIND_FILE = 1;
export const KIND_DIR = 2;
export const KIND_SYMLINK = 3;

export interface NativeListing {
  /** Paths relative to the walked folder, `/`-separated, each ended by a NUL byte, in no order. */
  names: Buffer;
  meta: Float64Array;
  /**
   * Depends on the set of entries (path, kind, size, mtimeMs, ctimeMs, ino, dev) alone, not on
   * their order nor on hard-link counts: two 64-bit multiply-mix hashes of each entry summed over
   * the entries, and their count, computed on the walking threads.
   */
  digest: string;
  /** The latest mtimeMs or ctimeMs of a file; 0 without files. */
  newest: number;
  /** A symlink was found. */
  links: boolean;
}

interface NativeModule {
  walk(root: string, threads: number): NativeListing;
}

let loaded: NativeModule | null | undefined;

function load(): NativeModule | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.DATAVER_NATIVE === '0') return loaded;
  try {
    // From dist/util (the CLI) and from src/util (tests on the sources) alike.
    loaded = require(path.join(__dirname, '..', '..', 'dist', 'native', 'walk.node')) as NativeModule;
  } catch {
    // Not built here (no compiler, Windows) or built for another platform.
  }
  return loaded;
}

/** True when the native walker is in use (for `dataver doctor` and `--verbose`). */
export function nativeWalkAvailable(): boolean {
  return load() !== null;
}

/**
 * Every entry below `root` (files with their metadata; symlinks and others by kind only), read
 * on up to two threads per core (or `threads`); undefined when the native walker is not available. Throws
 * the system error of the first folder or file it could not read.
 *
 * @example
 * const listing = nativeWalk('/repo/data'); // { names, meta } or undefined
 */
export function nativeWalk(root: string, threads?: number): NativeListing | undefined {
  return load()?.walk(root, threads ?? Math.min(8, Math.max(2, availableParallelism())));
}
