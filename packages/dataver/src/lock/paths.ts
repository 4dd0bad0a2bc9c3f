// Validation of the repository-relative paths that lock files and manifests hold.
// A path from a lock is data from a possibly hostile commit: it must never
// point outside the repository, into .git/ or .dataver/, or at the files that
// describe the repository itself.

/** Top-level names that are never data: dataver's and git's own files. */
export const RESERVED_TOP_LEVEL = new Set([
  '.git',
  '.dataver',
  'data.lock.json',
  'dataver.yaml',
  '.gitignore',
  '.gitattributes',
]);

/**
 * True for a normalized, relative, `/`-separated path with no empty, `.` or `..` segment,
 * no `.git` segment, and no control characters or backslashes.
 */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.length > 4096) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (p.startsWith('/') || p.includes('\\') || /[\x00-\x1f\x7f]/.test(p) || /^[A-Za-z]:/.test(p))
    return false;
  return p
    .split('/')
    .every((segment) => segment !== '' && segment !== '.' && segment !== '..' && segment !== '.git');
}

/** A safe path that also does not name a reserved top-level entry (for outputs in a lock). */
export function isTrackablePath(p: string): boolean {
  const [top = ''] = p.split('/');
  return isSafeRelativePath(p) && !RESERVED_TOP_LEVEL.has(top);
}

/** True when `inner` equals `outer` or lies inside it (both repository-relative). */
export function isSameOrInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
}

/** The first pair of paths where one equals or contains the other, if any. */
export function findOverlap(paths: string[]): [string, string] | undefined {
  const sorted = [...paths].sort();
  // Sorted, a path that lies inside another comes right after it (or after another path inside it).
  for (const [i, p] of sorted.entries()) {
    const previous = sorted[i - 1];
    if (previous !== undefined && isSameOrInside(p, previous)) return [previous, p];
  }
  return undefined;
}
