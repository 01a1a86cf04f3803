import { createRegistry, createRng } from '@supcon/core';
import { dataPlugin, longTailCounts, longTailIndices } from '../src/index';

/** 10 classes of 6000, interleaved (label i % 10), like a balanced Fashion-MNIST training split. */
const labels = Uint8Array.from({ length: 60000 }, (_, i) => i % 10);

function perClass(indices: ArrayLike<number>, of: ArrayLike<number> = labels): number[] {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < indices.length; i++) counts[of[indices[i]]]++;
  return counts;
}

describe('long-tailed subsets', () => {
  it('keeps floor(n_max * ratio^(-c / (C - 1))) images of class c', () => {
    const indices = longTailIndices(labels, { imbalanceRatio: 100, seed: 1 });
    // The formula, computed here on its own (exact powers of 100^(1/9) rounded down).
    const expected = Array.from({ length: 10 }, (_, c) => Math.floor(6000 / Math.pow(100, c / 9) + 1e-9));
    expect(perClass(indices)).toEqual(expected);
    expect(expected).toEqual([6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]);
    expect(perClass(indices)[0]).toBe(6000);
    expect(perClass(indices)[9]).toBe(60);
    expect(indices.length).toBe(expected.reduce((a, b) => a + b, 0));
    expect(longTailCounts(10, 6000, 100)).toEqual(expected);
  });

  it('is seeded, unique and sorted ascending', () => {
    const a = longTailIndices(labels, { imbalanceRatio: 100, seed: 1 });
    expect([...longTailIndices(labels, { imbalanceRatio: 100, seed: 1 })]).toEqual([...a]);
    expect([...longTailIndices(labels, { imbalanceRatio: 100, rng: createRng(1) })]).toEqual([...a]);
    const b = longTailIndices(labels, { imbalanceRatio: 100, seed: 2 });
    expect([...b]).not.toEqual([...a]);
    expect(perClass(b)).toEqual(perClass(a));
    expect(new Set(a).size).toBe(a.length);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeGreaterThan(a[i - 1]);
  });

  it('ratio 1 keeps every class at n_max; n_max defaults to the smallest class', () => {
    expect(perClass(longTailIndices(labels, { imbalanceRatio: 1 }))).toEqual(new Array(10).fill(6000));
    const uneven = Uint8Array.from([...labels.subarray(0, 1000), ...new Uint8Array(500)]); // 100 per class, class 0 has 600
    expect(perClass(longTailIndices(uneven, { imbalanceRatio: 1, seed: 3 }), uneven)).toEqual(new Array(10).fill(100));
    expect(perClass(longTailIndices(labels, { imbalanceRatio: 10, maxPerClass: 1000 }))).toEqual(longTailCounts(10, 1000, 10));
  });

  it('names the bad option', () => {
    expect(() => longTailIndices(labels, { imbalanceRatio: 0.5 })).toThrow(/longTail\.imbalanceRatio: expected a finite number >= 1, got 0.5/);
    expect(() => longTailIndices(labels, { imbalanceRatio: 10, maxPerClass: 7000 })).toThrow(/longTail\.maxPerClass: class 0 has 6000 images, fewer than the 7000/);
    expect(() => longTailIndices([], { imbalanceRatio: 10 })).toThrow(/longTail: the dataset has no images/);
  });

  it('data.longTail long-tails the training split only, after validation', async () => {
    const registry = createRegistry([dataPlugin]);
    const part = await registry.build('dataset', { type: 'fashion-mnist-sample', longTail: { imbalanceRatio: 10, seed: 0 } }, { rng: createRng(0) });
    const [train, test] = [await part.load('train'), await part.load('test')];
    expect(perClass(Int32Array.from({ length: train.size }, (_, i) => i), train.labels)).toEqual(longTailCounts(10, 600, 10));
    expect(perClass(Int32Array.from({ length: test.size }, (_, i) => i), test.labels)).toEqual(new Array(10).fill(100));
    // trainSize then takes a stratified subset of the long-tailed split.
    const small = await registry.build('dataset', { type: 'fashion-mnist-sample', longTail: { imbalanceRatio: 10 }, trainSize: 500 }, { rng: createRng(0) });
    expect((await small.load('train')).size).toBe(500);
    await expect(registry.build('dataset', { type: 'fashion-mnist-sample', longTail: { imbalanceRatio: 0.5 } }, { rng: createRng(0) })).rejects.toThrow(/longTail\.imbalanceRatio/);
    await expect(registry.build('dataset', { type: 'fashion-mnist-sample', longTail: { ratio: 10 } }, { rng: createRng(0) })).rejects.toThrow(/longTail/);
  });
});
