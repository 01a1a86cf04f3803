/** Seeded, class-stratified subsets of an in-memory dataset. */
import { createRng } from '@supcon/core';
import type { ImageDataset, Rng } from '@supcon/core';
import type { MultiLabelImageDataset } from './multi-label';

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

/**
 * The subset of a dataset at `indices` (copies the selected images once). A multi-label dataset
 * (MultiLabelImageDataset) keeps the `multiLabels` rows of the selected images.
 */
export function subset(dataset: MultiLabelImageDataset, indices: ArrayLike<number>): MultiLabelImageDataset;
export function subset(dataset: ImageDataset, indices: ArrayLike<number>): ImageDataset;
export function subset(dataset: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const [h, w, c] = dataset.shape;
  const size = h * w * c;
  const images = new Uint8Array(indices.length * size);
  const labels = new (dataset.labels instanceof Int32Array ? Int32Array : Uint8Array)(indices.length);
  for (let i = 0; i < indices.length; i++) {
    images.set(dataset.images.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
    labels[i] = dataset.labels[indices[i]];
  }
  const out: ImageDataset = { size: indices.length, shape: [h, w, c], images, labels, classes: dataset.classes };
  const multi = (dataset as Partial<MultiLabelImageDataset>).multiLabels;
  if (multi instanceof Uint8Array) {
    const C = dataset.classes.length;
    const rows = new Uint8Array(indices.length * C);
    for (let i = 0; i < indices.length; i++) rows.set(multi.subarray(indices[i] * C, (indices[i] + 1) * C), i * C);
    (out as MultiLabelImageDataset).multiLabels = rows;
  }
  return out;
}

export interface LongTailOptions {
  /** n_max / n_min, the ratio of the largest class to the smallest: a finite number ≥ 1 (1 keeps every class at n_max). */
  imbalanceRatio: number;
  /** Seed of the images kept in each class (default 0); ignored when `rng` is given. */
  seed?: number;
  /** A generator to draw from instead of `seed`. */
  rng?: Rng;
  /** n_max, the images class 0 keeps; default the size of the smallest class, so every class can give its share. */
  maxPerClass?: number;
}

/**
 * The images each class keeps in the exponential long-tail profile (Cui et al. 2019, Cao et al.
 * 2019, "CIFAR-10-LT"): class `c` of `C` keeps `n_c = floor(n_max · ratio^(-c / (C - 1)))`, at
 * least 1, so class 0 keeps `n_max` and class `C - 1` keeps `n_max / ratio` (one class: `n_max`).
 */
export function longTailCounts(numClasses: number, maxPerClass: number, imbalanceRatio: number): number[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`longTail: numClasses must be a positive integer, got ${numClasses}`);
  if (!Number.isInteger(maxPerClass) || maxPerClass < 1) throw new RangeError(`longTail.maxPerClass: expected a positive integer, got ${maxPerClass}`);
  if (!Number.isFinite(imbalanceRatio) || imbalanceRatio < 1) throw new RangeError(`longTail.imbalanceRatio: expected a finite number >= 1, got ${imbalanceRatio}`);
  return Array.from({ length: numClasses }, (_, c) =>
    // The epsilon keeps a product that is an integer in exact arithmetic (6000 · 100^-1 = 60) from rounding down to one less.
    numClasses === 1 ? maxPerClass : Math.max(1, Math.floor(maxPerClass * imbalanceRatio ** (-c / (numClasses - 1)) + 1e-9)),
  );
}

/**
 * Indices of a seeded long-tailed subset (e.g. Fashion-MNIST-LT): the distinct labels, in
 * ascending order (the label order, not a permutation: class 0 is the head, the last class the
 * tail), keep `longTailCounts(C, n_max, imbalanceRatio)` images each, i.e.
 * `n_c = floor(n_max · imbalanceRatio^(-c / (C - 1)))` for the c-th smallest label. The images of
 * each class are a seeded random choice; the indices are returned **sorted ascending** (the
 * dataset's order; samplers shuffle). With ratio 100 and 6000 images per class, Fashion-MNIST's
 * ten classes keep 6000, 3596, 2156, 1292, 774, 464, 278, 166, 100 and 60. Errors (RangeError) name `longTail.<option>`.
 */
export function longTailIndices(labels: ArrayLike<number>, options: LongTailOptions): Int32Array {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups.get(labels[i]);
    if (g) g.push(i);
    else groups.set(labels[i], [i]);
  }
  if (groups.size === 0) throw new RangeError('longTail: the dataset has no images');
  const classes = [...groups.keys()].sort((a, b) => a - b);
  const smallest = Math.min(...classes.map((c) => groups.get(c)!.length));
  const counts = longTailCounts(classes.length, options.maxPerClass ?? smallest, options.imbalanceRatio);
  const rng = options.rng ?? createRng(options.seed ?? 0);
  const out: number[] = [];
  classes.forEach((label, c) => {
    const members = groups.get(label)!;
    if (counts[c] > members.length) {
      throw new RangeError(`longTail.maxPerClass: class ${label} has ${members.length} images, fewer than the ${counts[c]} the profile asks (maxPerClass ${options.maxPerClass})`);
    }
    out.push(...rng.shuffle([...members]).slice(0, counts[c]));
  });
  return Int32Array.from(out).sort();
}
