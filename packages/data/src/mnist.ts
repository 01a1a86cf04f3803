/**
 * MNIST-format datasets (MNIST, Fashion-MNIST): locating the files, reading them, the shipped
 * Fashion-MNIST sample, and seeded stratified subsets.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ImageDataset, Rng } from '@supcon/core';
import { cacheDir, obtainDataset } from './fetch';
import type { DownloadSettings } from './fetch';
import { readIdx } from './idx';

export { cacheDir };

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

export type Split = 'train' | 'test';

/** Folder of the Fashion-MNIST sample shipped in this package (IDX, gzip). */
export function fashionMnistSamplePath(): string {
  return path.join(__dirname, '..', 'sample', 'fashion-mnist');
}

function findFile(root: string, base: string): string | undefined {
  for (const name of [`${base}.gz`, base]) {
    const file = path.join(root, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Reads an MNIST-format split from `root` (files named as upstream, `.gz` or not). */
export async function loadMnistFormat(root: string, split: Split, classes: string[]): Promise<ImageDataset> {
  if (split !== 'train' && split !== 'test') throw new Error(`split: expected 'train' or 'test', got '${String(split)}'`);
  const [imagesBase, labelsBase] = FILES[split];
  const imagesFile = findFile(root, imagesBase);
  const labelsFile = findFile(root, labelsBase);
  if (!imagesFile || !labelsFile) {
    throw new Error(`${root}: missing ${!imagesFile ? imagesBase : labelsBase}(.gz) for the ${split} split`);
  }
  const [images, labels] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  if (images.shape.length !== 3) throw new Error(`${imagesFile}: expected images [n, h, w], got [${images.shape.join(', ')}]`);
  if (labels.shape.length !== 1) throw new Error(`${labelsFile}: expected labels [n], got [${labels.shape.join(', ')}]`);
  if (images.shape[0] !== labels.shape[0]) {
    throw new Error(`${root}: ${images.shape[0]} images in ${path.basename(imagesFile)} but ${labels.shape[0]} labels in ${path.basename(labelsFile)}`);
  }
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i] >= classes.length) throw new Error(`${labelsFile}: label ${labels.data[i]} at index ${i} is outside 0..${classes.length - 1}`);
  }
  const [n, h, w] = images.shape;
  return { size: n, shape: [h, w, 1], images: images.data, labels: labels.data, classes: [...classes] };
}

export interface LoadOptions extends DownloadSettings {
  /** Folder with the IDX files (never downloads); default: the cache, then `/usr/share/datasets/<name>`. */
  root?: string;
  split: Split;
}

/**
 * The folder to read: `root`, else the first of the cache and `/usr/share/datasets/<name>` that
 * holds the split's files, else what `download` allows (see `obtainDataset`).
 */
async function locate(name: 'fashion-mnist' | 'mnist', options: LoadOptions): Promise<string> {
  const { root, split } = options;
  if (root) {
    if (!existsSync(root)) throw new Error(`root: ${root} does not exist`);
    return root;
  }
  const candidates = [path.join(cacheDir(), name), path.join('/usr/share/datasets', name)];
  const found = candidates.find((dir) => (FILES[split] ?? FILES.train).every((base) => findFile(dir, base)));
  if (found) return found;
  const sample = name === 'fashion-mnist' ? `, or use the shipped sample (dataset type 'fashion-mnist-sample')` : '';
  return obtainDataset(name, candidates, options, `pass root: '/path/to/${name}', install Debian's dataset-${name} package or put the IDX files in ${candidates[0]}${sample}`);
}

/** Fashion-MNIST (60000 train / 10000 test, 28x28x1, 10 classes); `download` fetches it into the cache when missing. */
export async function loadFashionMnist(options: LoadOptions): Promise<ImageDataset> {
  return loadMnistFormat(await locate('fashion-mnist', options), options.split, FASHION_MNIST_CLASSES);
}

/** MNIST (60000 / 10000, 28x28x1); `download` fetches it into the cache when missing. */
export async function loadMnist(options: LoadOptions): Promise<ImageDataset> {
  return loadMnistFormat(await locate('mnist', options), options.split, MNIST_CLASSES);
}

/** The shipped, class-stratified Fashion-MNIST sample (6000 train / 1000 test). */
export async function loadFashionMnistSample(options: { split: Split }): Promise<ImageDataset> {
  return loadMnistFormat(fashionMnistSamplePath(), options.split, FASHION_MNIST_CLASSES);
}

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
