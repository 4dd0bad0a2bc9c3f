// sin/cos by fixed polynomials evaluated with IEEE-exact + and × only, because Math.sin/cos
// may differ between engines and CPUs and their results feed the data set's bytes.

/**
 * sin(x) for |x| ≤ π/2 by its Taylor series to x¹⁵ (error < 1e-12 on the range used).
 *
 * @example
 * sinPoly(radians(30)); // 0.5 (to 1e-15)
 */
export function sinPoly(x: number): number {
  const x2 = x * x;
  return (
    x *
    (1 +
      x2 *
        (-1 / 6 +
          x2 *
            (1 / 120 +
              x2 *
                (-1 / 5040 +
                  x2 *
                    (1 / 362880 +
                      x2 * (-1 / 39916800 + x2 * (1 / 6227020800 + x2 * (-1 / 1307674368000))))))))
  );
}

/**
 * cos(x) for |x| ≤ π/2 by its Taylor series to x¹⁶.
 *
 * @example
 * cosPoly(0); // 1
 */
export function cosPoly(x: number): number {
  const x2 = x * x;
  return (
    1 +
    x2 *
      (-1 / 2 +
        x2 *
          (1 / 24 +
            x2 *
              (-1 / 720 +
                x2 *
                  (1 / 40320 +
                    x2 *
                      (-1 / 3628800 +
                        x2 * (1 / 479001600 + x2 * (-1 / 87178291200 + x2 / 20922789888000)))))))
  );
}

/**
 * Degrees → radians (Math.PI is a constant, not a computed value).
 *
 * @example
 * radians(180); // Math.PI
 */
export function radians(deg: number): number {
  return (deg * Math.PI) / 180;
}
