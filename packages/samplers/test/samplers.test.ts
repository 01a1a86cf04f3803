import { createRegistry, createRng } from '@supcon/core';
import { classWeightedSampler, mPerClassSampler, randomSampler, samplersPlugin } from '../src/index';

const labels = Int32Array.from({ length: 103 }, (_, i) => i % 5);
const epoch = (s: ReturnType<typeof randomSampler>, e: number, l: ArrayLike<number> = labels) => [...s.epoch(l, e)].map((b) => [...b]);

describe('random', () => {
  it('covers every index exactly once per epoch, in batches of batchSize (last one partial)', () => {
    const s = randomSampler(createRng(1), { batchSize: 10 });
    const batches = epoch(s, 0);
    expect(batches).toHaveLength(11);
    expect(s.batchesPerEpoch(labels)).toBe(11);
    expect(batches.slice(0, 10).every((b) => b.length === 10)).toBe(true);
    expect(batches[10]).toHaveLength(3);
    expect(batches.flat().sort((a, b) => a - b)).toEqual([...Array(103).keys()]);
  });
  it('dropLast drops the partial batch', () => {
    const s = randomSampler(createRng(1), { batchSize: 10, dropLast: true });
    expect(epoch(s, 0)).toHaveLength(10);
    expect(s.batchesPerEpoch(labels)).toBe(10);
  });
  it('is deterministic per (seed, epoch) and differs across epochs and seeds', () => {
    const a = randomSampler(createRng(1), { batchSize: 10 });
    const b = randomSampler(createRng(1), { batchSize: 10 });
    expect(epoch(a, 3)).toEqual(epoch(b, 3));
    // Calling epochs out of order does not change them (resume at epoch e replays it).
    expect(epoch(a, 1)).toEqual(epoch(b, 1));
    expect(epoch(a, 0)).not.toEqual(epoch(a, 1));
    expect(epoch(randomSampler(createRng(2), { batchSize: 10 }), 0)).not.toEqual(epoch(a, 0));
  });
});

describe('m-per-class', () => {
  it('every batch holds exactly m images of each of batchSize/m distinct classes', () => {
    const s = mPerClassSampler(createRng(3), { m: 4, batchSize: 12 });
    const batches = epoch(s, 0);
    expect(batches).toHaveLength(Math.floor(103 / 12));
    for (const b of batches) {
      const counts = new Map<number, number>();
      for (const i of b) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
      expect([...counts.values()]).toEqual([4, 4, 4]);
      expect(new Set(b).size).toBe(12); // no repeats when classes are large enough
    }
    expect(epoch(s, 0)).toEqual(batches);
    expect(epoch(s, 1)).not.toEqual(batches);
  });
  it('a class smaller than m repeats its images (stated rule)', () => {
    const small = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2]);
    const s = mPerClassSampler(createRng(0), { m: 3, batchSize: 9, batchesPerEpoch: 20 });
    let sawSmall = false;
    for (const b of epoch(s, 0, small)) {
      const twos = b.filter((i) => small[i] === 2);
      if (twos.length) {
        sawSmall = true;
        expect(twos).toEqual([10, 10, 10]);
      }
    }
    expect(sawSmall).toBe(true);
  });
  it('checks its options, naming them', () => {
    expect(() => mPerClassSampler(createRng(0), { m: 4, batchSize: 10 })).toThrow('m-per-class.batchSize: must be a multiple of m (4), got 10');
    expect(() => epoch(mPerClassSampler(createRng(0), { m: 2, batchSize: 20 }), 0)).toThrow(/10 classes per batch, but the labels have only 5 classes/);
  });
});

describe('class-weighted', () => {
  it('balances an imbalanced dataset (power 1) and reproduces it (power 0)', () => {
    const imbalanced = Int32Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0 : 1));
    const s = classWeightedSampler(createRng(5), { batchSize: 100, batchesPerEpoch: 50 });
    const drawn = epoch(s, 0, imbalanced).flat();
    const share1 = drawn.filter((i) => imbalanced[i] === 1).length / drawn.length;
    expect(share1).toBeGreaterThan(0.46);
    expect(share1).toBeLessThan(0.54);
    const u = classWeightedSampler(createRng(5), { batchSize: 100, batchesPerEpoch: 50, power: 0 });
    const shareU = epoch(u, 0, imbalanced).flat().filter((i) => imbalanced[i] === 1).length / 5000;
    expect(shareU).toBeGreaterThan(0.07);
    expect(shareU).toBeLessThan(0.13);
  });
});

describe('plugin', () => {
  it('takes batchSize from train.batchSize and validates options', async () => {
    const registry = createRegistry([samplersPlugin]);
    const s = await registry.build('sampler', { type: 'random' }, { rng: createRng(0), batchSize: 25 });
    expect(s.batchesPerEpoch(labels)).toBe(5);
    await expect(registry.build('sampler', { type: 'm-per-class', m: 0 }, { rng: createRng(0), batchSize: 8 })).rejects.toThrow(/sampler\.m/);
    await expect(registry.build('sampler', { type: 'random' }, { rng: createRng(0) })).rejects.toThrow(/no batchSize/);
  });
});
