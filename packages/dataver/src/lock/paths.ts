// Validation of the repository-relative paths that lock files and manifests hold.
// A path from a lock is data from a possibly hostile commit: it must never
// point outside the repository.

/** True for a normalized, relative, `/`-separated path with no `.`/`..` segments. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.length > 4096) return false;
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0') || /^[A-Za-z]:/.test(p)) return false;
  return p.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** True when `inner` equals `outer` or lies inside it (both repository-relative). */
export function isSameOrInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
}
