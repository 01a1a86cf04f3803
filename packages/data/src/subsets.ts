/** Seeded, class-stratified subsets of an in-memory dataset. */
import type { ImageDataset, Rng } from '@supcon/core';

/**
 * Indices of a seeded, class-stratified subset of `size` items: each class keeps its share
 * (largest remainders), order shuffled so the classes are mixed.
 */
export function stratifiedIndices(labels: ArrayLike<number>, size: number, rng: Rng): Int32Array {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`subset size: expected a positive integer, got ${size}`);
  if (size >= labels.length) return rng.shuffle(Int32Array.from({ length: labels.length }, (_, i) => i));
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups.get(labels[i]);
    if (g) g.push(i);
    else groups.set(labels[i], [i]);
  }
  const classes = [...groups.keys()].sort((a, b) => a - b);
  const exact = classes.map((c) => (groups.get(c)!.length * size) / labels.length);
  const counts = exact.map(Math.floor);
  let left = size - counts.reduce((a, b) => a + b, 0);
  const order = classes.map((_, i) => i).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const i of order) {
    if (left-- <= 0) break;
    counts[i]++;
  }
  const out: number[] = [];
  classes.forEach((c, i) => out.push(...rng.shuffle([...groups.get(c)!]).slice(0, counts[i])));
  return rng.shuffle(Int32Array.from(out));
}

/** The subset of a dataset at `indices` (copies the selected images once). */
export function subset(dataset: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const [h, w, c] = dataset.shape;
  const size = h * w * c;
  const images = new Uint8Array(indices.length * size);
  const labels = new (dataset.labels instanceof Int32Array ? Int32Array : Uint8Array)(indices.length);
  for (let i = 0; i < indices.length; i++) {
    images.set(dataset.images.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
    labels[i] = dataset.labels[indices[i]];
  }
  return { size: indices.length, shape: [h, w, c], images, labels, classes: dataset.classes };
}
