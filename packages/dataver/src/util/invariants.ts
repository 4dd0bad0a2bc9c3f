// Internal invariants said out loud. Where the code's own structure guarantees that a value is
// there (an entry of a map built from the same list, a group of a regex that matched, one result
// per input of a batch), these state it and fail with a clear internal error, instead of a `!`
// that would let an undefined through.

/**
 * `value`, which the caller's structure guarantees; throws an internal error naming `what` if not.
 *
 * @example
 * const up = present(upstream.get(name), `upstream of stage ${name}`);
 */
export function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal error: ${what} is missing`);
  return value;
}

/**
 * Pairs two lists of the same length (a batch's inputs and its results, in order); a length
 * mismatch is an internal error.
 *
 * @example
 * for (const [file, result] of zip(files, await hashFiles(jobs))) use(file, result);
 */
export function zip<A, B>(a: readonly A[], b: readonly B[]): Array<[A, B]> {
  if (a.length !== b.length) throw new Error(`internal error: ${a.length} inputs but ${b.length} results`);
  return a.map((x, i) => [x, b[i] as B]);
}
