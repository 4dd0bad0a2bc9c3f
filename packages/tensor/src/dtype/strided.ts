// Strided views: copying the elements a (shape, stride, offset) view selects out of raw storage
// bytes into dense C order, before decoding, so one byte-level loop serves every dtype.

/**
 * Dense C-order bytes of the view `shape`/`stride` (in elements) starting at element `offset`
 * of `src`, whose elements are `elementSize` bytes. The caller has checked the view's bounds.
 *
 * @example
 * // the transpose of a 2×3 uint8 matrix stored row by row
 * gatherBytes(Uint8Array.from([1, 2, 3, 4, 5, 6]), 1, 0, [3, 2], [1, 3]); // 1 4 2 5 3 6
 */
export function gatherBytes(
  src: Uint8Array,
  elementSize: number,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
): Uint8Array {
  const nd = shape.length;
  let numel = 1;
  for (const d of shape) numel *= d;
  const out = new Uint8Array(numel * elementSize);
  if (numel === 0) return out;
  const es = elementSize;
  const inner = nd === 0 ? 1 : (shape[nd - 1] ?? 1);
  const innerStep = nd === 0 ? 0 : (stride[nd - 1] ?? 0) * es;
  const idx = new Array<number>(nd).fill(0);
  let base = offset * es;
  let o = 0;
  while (o < out.length) {
    for (let j = 0, k = base; j < inner; j++, k += innerStep) {
      for (let b = 0; b < es; b++) out[o++] = src[k + b] ?? 0;
    }
    // odometer over the outer dimensions
    for (let dim = nd - 2; dim >= 0; dim--) {
      const size = shape[dim] ?? 1;
      const step = (stride[dim] ?? 0) * es;
      const i = (idx[dim] ?? 0) + 1;
      if (i < size) {
        idx[dim] = i;
        base += step;
        break;
      }
      idx[dim] = 0;
      base -= step * (size - 1);
    }
  }
  return out;
}
