import { createRng } from '../src';

describe('createRng', () => {
  it('is deterministic: the same seed gives the same sequence; different seeds differ', () => {
    const a = createRng(123);
    const b = createRng(123);
    const xs = Array.from({ length: 100 }, () => a.uint32());
    expect(Array.from({ length: 100 }, () => b.uint32())).toEqual(xs);
    const c = createRng(124);
    expect(Array.from({ length: 100 }, () => c.uint32())).not.toEqual(xs);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    // fractional seeds floor: 123.9 is seed 123
    expect(createRng(123.9).uint32()).toBe(xs[0]);
    expect(() => createRng(Number.NaN)).toThrow('createRng: seed must be a finite number, got NaN');
  });

  it('fork gives an independent stream per label and leaves the parent unchanged', () => {
    const parent = createRng(7);
    const reference = createRng(7);
    const f1 = parent.fork('sampler');
    const f2 = parent.fork('augment');
    expect(parent.uint32()).toBe(reference.uint32()); // forking did not advance the parent
    const s1 = Array.from({ length: 50 }, () => f1.uint32());
    const s2 = Array.from({ length: 50 }, () => f2.uint32());
    expect(s1).not.toEqual(s2);
    // the same label forks the same stream, regardless of the parent's position
    const again = createRng(7);
    for (let i = 0; i < 10; i++) again.uint32();
    expect(Array.from({ length: 50 }, () => again.fork('sampler').uint32()).slice(0, 1)).toEqual([s1[0]]);
    // drawing from one fork does not change another
    const g = createRng(7).fork('augment');
    expect(Array.from({ length: 50 }, () => g.uint32())).toEqual(s2);
    // streams are uncorrelated: agreement of bits is ~50%
    let same = 0;
    for (let i = 0; i < 50; i++) for (let bit = 0; bit < 32; bit++) same += ((s1[i] >>> bit) & 1) === ((s2[i] >>> bit) & 1) ? 1 : 0;
    expect(same / (50 * 32)).toBeGreaterThan(0.45);
    expect(same / (50 * 32)).toBeLessThan(0.55);
  });

  it('state round trip continues the exact sequence, including a pending normal', () => {
    const rng = createRng(99);
    for (let i = 0; i < 17; i++) rng.next();
    rng.normal(); // leaves the pair's second value pending
    const state = JSON.parse(JSON.stringify(rng.state()));
    expect(typeof state.spare).toBe('number');
    const expected = [rng.normal(), rng.uniform(2, 3), rng.int(10), rng.uint32(), rng.normal()];
    const other = createRng(1);
    other.setState(state);
    expect([other.normal(), other.uniform(2, 3), other.int(10), other.uint32(), other.normal()]).toEqual(expected);
    // a state without a pending normal restores without one
    const fresh = createRng(5);
    const s = fresh.state();
    expect(s).toEqual({ a: s.a, b: s.b, c: s.c, d: s.d });
    const n = fresh.normal();
    const copy = createRng(0);
    copy.setState(s);
    expect(copy.normal()).toBe(n);
  });

  it('has sane distributions', () => {
    const rng = createRng(2024);
    const n = 100000;
    let sum = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      sum += u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    // mean of U(0,1) is 0.5 with standard error 1/sqrt(12 n) ~ 0.0009
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);

    // ints cover [0, k) evenly: chi-square with k - 1 = 9 dof stays below 27.9 (p = 0.001)
    const k = 10;
    const counts = new Array(k).fill(0);
    for (let i = 0; i < n; i++) counts[rng.int(k)]++;
    expect(counts.every((c) => c > 0)).toBe(true);
    const chi2 = counts.reduce((s, c) => s + (c - n / k) ** 2 / (n / k), 0);
    expect(chi2).toBeLessThan(27.9);
    expect(() => rng.int(0)).toThrow('rng.int: n must be a positive integer, got 0');

    // normal: mean ~ 0, variance ~ 1; with mean/std arguments shifted and scaled
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s1 += z;
      s2 += z * z;
    }
    expect(Math.abs(s1 / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
    let t = 0;
    for (let i = 0; i < 10000; i++) t += rng.normal(5, 0.1);
    expect(t / 10000).toBeCloseTo(5, 1);

    // uniform(low, high) stays in range; bernoulli(p) frequency ~ p
    for (let i = 0; i < 1000; i++) {
      const u = rng.uniform(-2, 3);
      expect(u >= -2 && u < 3).toBe(true);
    }
    let heads = 0;
    for (let i = 0; i < n; i++) heads += rng.bernoulli(0.3) ? 1 : 0;
    expect(Math.abs(heads / n - 0.3)).toBeLessThan(0.01);
  });

  it('shuffle is a seeded permutation, uniform over positions', () => {
    const a = createRng(3).shuffle([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...a].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(createRng(3).shuffle([0, 1, 2, 3, 4, 5, 6, 7])).toEqual(a);
    const typed = createRng(3).shuffle(Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]));
    expect(Array.from(typed)).toEqual(a);
    // element 0 lands in each of 4 positions ~1/4 of the time
    const rng = createRng(11);
    const where = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) where[rng.shuffle([0, 1, 2, 3]).indexOf(0)]++;
    for (const w of where) expect(Math.abs(w / 20000 - 0.25)).toBeLessThan(0.015);
  });
});
