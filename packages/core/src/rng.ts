/**
 * Seeded randomness shared by everything in supcon that draws random numbers
 * (samplers, augmentations, initialisers, data subsets).
 *
 * The generator is sfc32 (32-bit state words, period ~2^128), seeded through splitmix32.
 * Its whole state is four integers, so it can be saved in a checkpoint and restored
 * exactly (`state()` / `setState()`), and `fork(label)` derives an independent stream for a
 * named consumer without disturbing this one.
 */
export interface RngState {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  /**
   * The second normal of the last Box-Muller pair, not yet returned by `normal()`. Without it a
   * restored generator would draw a different next normal after an odd number of them.
   */
  readonly spare?: number;
}

export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform float in [low, high). */
  uniform(low?: number, high?: number): number;
  /** Uniform integer in [0, n). Throws on n < 1. */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(mean?: number, std?: number): number;
  /** True with probability p. */
  bernoulli(p: number): boolean;
  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T;
  /** A 32-bit unsigned integer, e.g. to seed a tfjs initialiser. */
  uint32(): number;
  /** An independent generator derived from this one's seed and a label; this one is unchanged. */
  fork(label: string): Rng;
  /** The generator's full state, JSON-serialisable. */
  state(): RngState;
  /** Restore a state obtained from `state()`. */
  setState(state: RngState): void;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a hash of a string, for deriving fork seeds from labels. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

class Sfc32 implements Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spare: number | null = null;

  constructor(private readonly seed: number) {
    const sm = splitmix32(seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.uint32() / 4294967296;
  }

  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return mean + std * v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  fork(label: string): Rng {
    return new Sfc32((this.seed ^ hashString(label)) >>> 0);
  }

  state(): RngState {
    // Unsigned, as setState stores them: a saved, restored and saved-again state is the same JSON.
    const words = { a: this.a >>> 0, b: this.b >>> 0, c: this.c >>> 0, d: this.d >>> 0 };
    return this.spare === null ? words : { ...words, spare: this.spare };
  }

  setState(state: RngState): void {
    this.a = state.a >>> 0;
    this.b = state.b >>> 0;
    this.c = state.c >>> 0;
    this.d = state.d >>> 0;
    this.spare = typeof state.spare === 'number' ? state.spare : null;
  }
}

/** A seeded generator. The same seed always gives the same sequence on every platform. */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`createRng: seed must be a finite number, got ${seed}`);
  return new Sfc32(Math.floor(seed) >>> 0);
}
