// The one seeded PRNG of the project: sfc32 (128-bit state, 32-bit integer operations only), so
// that every machine and OS draws the same numbers for the same seed, and a generator's state can
// be saved in a checkpoint and resumed exactly. `float()` is an exact dyadic rational in [0, 1),
// so whatever is derived from it with + − × ÷ is bit-identical across platforms.

/** Serializable generator state, restored with `Rng.fromState`. */
export type RngState = [number, number, number, number];

/**
 * A 32-bit avalanche mix (the murmur3 / splitmix finalizer).
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
 * Derives an independent stream seed from a root seed and integer labels, so that each part of
 * a computation (a split, an image, a worker) draws from its own stream whatever the order.
 *
 * @example
 * new Rng(deriveSeed(seed, split, index));
 */
export function deriveSeed(seed: number, ...labels: number[]): number {
  let h = mix32(seed >>> 0);
  for (const label of labels) h = mix32((h ^ mix32(label >>> 0)) + 0x9e3779b9);
  return h;
}

/**
 * Seeded pseudo-random generator (sfc32).
 *
 * @example
 * const rng = new Rng(42);
 * rng.float(); // uniform in [0, 1)
 * rng.int(10); // 0..9
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.uint32();
  }

  /**
   * A generator that continues exactly where `state()` was taken.
   *
   * @example
   * const resumed = Rng.fromState(rng.state());
   */
  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    [rng.a, rng.b, rng.c, rng.d] = state;
    return rng;
  }

  /** Next unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Approximately standard normal: Irwin–Hall sum of four uniforms, rescaled (no log or cos, so exact everywhere). */
  normal(): number {
    return (this.float() + this.float() + this.float() + this.float() - 2) * 1.7320508075688772;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** Current state, to resume with `Rng.fromState`. */
  state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }
}
