// File names that every operating system can hold. A path written on Linux lands in
// data.lock.json and must check out on Windows too, so the stage paths of dataver.yaml and the
// paths an import brings in are checked against Windows' rules on every OS.

const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
const FORBIDDEN = /[<>:"|?*]/;

/**
 * Why a `/`-separated path cannot be held on Windows, or undefined when it can.
 *
 * @example
 * windowsNameProblem('data/aux.txt'); // "'aux.txt' is a reserved name on Windows (AUX)"
 * windowsNameProblem('data/raw'); // undefined
 */
export function windowsNameProblem(p: string): string | undefined {
  for (const segment of p.split('/')) {
    const reserved = RESERVED.exec(segment);
    if (reserved) return `'${segment}' is a reserved name on Windows (${(reserved[1] ?? '').toUpperCase()})`;
    const bad = FORBIDDEN.exec(segment);
    if (bad) return `'${segment}' holds '${bad[0]}', which Windows does not allow in file names`;
    if (/[. ]$/.test(segment) && segment !== '.' && segment !== '..')
      return `'${segment}' ends with a dot or a space, which Windows drops`;
  }
  return undefined;
}

/**
 * The first two paths that differ only in letter case (one file on Windows and macOS), if any.
 *
 * @example
 * caseClash(['data/Raw', 'data/raw']); // ['data/Raw', 'data/raw']
 */
export function caseClash(paths: Iterable<string>): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const p of paths) {
    const folded = p.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined && other !== p) return [other, p];
    seen.set(folded, p);
  }
  return undefined;
}
