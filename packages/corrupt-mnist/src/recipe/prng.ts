// Seeded, platform-independent randomness: 32-bit integer mixing only (Math.imul, shifts),
// so every machine and OS draws the same numbers for the same seed.

/**
 * A 32-bit avalanche mix (from splitmix/murmur finalizers).
 *
 * @example
 * mix32(1); // a well-mixed 32-bit unsigned integer
 */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * Derives an independent stream seed from a root seed and integer labels.
 *
 * @example
 * new Rng(deriveSeed(seed, split, index));
 */
export function deriveSeed(seed: number, ...labels: number[]): number {
  let h = mix32(seed >>> 0);
  for (const l of labels) h = mix32((h ^ mix32(l >>> 0)) + 0x9e3779b9);
  return h;
}

/**
 * A small splitmix32 generator. `float()` is an exact dyadic rational in [0, 1), so
 * everything derived from it with + − × ÷ is bit-identical across platforms.
 *
 * @example
 * const rng = new Rng(42); rng.int(10); rng.uniform(-1, 1);
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return mix32(this.state);
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Approximately standard normal: Irwin–Hall sum of four uniforms, rescaled (no log/cos needed). */
  normal(): number {
    return (this.float() + this.float() + this.float() + this.float() - 2) * 1.7320508075688772;
  }
}
