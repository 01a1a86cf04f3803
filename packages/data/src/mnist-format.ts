/**
 * The MNIST format (MNIST, Fashion-MNIST) without files: the names of each split's IDX files, the
 * class names, and the checks that turn two decoded IDX arrays into an `ImageDataset`. The Node
 * loaders (mnist.ts) read the files from disk, the browser ones (from-url.ts) fetch them.
 */
import type { ImageDataset } from '@supcon/core';
import type { IdxArray } from './idx';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export type Split = 'train' | 'test';

/** Each split's images and labels files, as upstream names them (`.gz` added when compressed). */
export const MNIST_FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** Throws unless `split` is 'train' or 'test'. */
export function checkSplit(split: Split): void {
  if (split !== 'train' && split !== 'test') throw new Error(`split: expected 'train' or 'test', got '${String(split)}'`);
}

/**
 * The dataset of a split's decoded images `[n, h, w]` and labels `[n]`, checked: ranks, counts,
 * labels inside the classes. `where` names the source, and `imagesFile` / `labelsFile` the files,
 * in errors.
 */
export function mnistDataset(
  images: IdxArray,
  labels: IdxArray,
  classes: string[],
  names: { where: string; imagesFile: string; labelsFile: string; imagesName: string; labelsName: string },
): ImageDataset {
  const { where, imagesFile, labelsFile } = names;
  if (images.shape.length !== 3) throw new Error(`${imagesFile}: expected images [n, h, w], got [${images.shape.join(', ')}]`);
  if (labels.shape.length !== 1) throw new Error(`${labelsFile}: expected labels [n], got [${labels.shape.join(', ')}]`);
  if (images.shape[0] !== labels.shape[0]) {
    throw new Error(`${where}: ${images.shape[0]} images in ${names.imagesName} but ${labels.shape[0]} labels in ${names.labelsName}`);
  }
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i] >= classes.length) throw new Error(`${labelsFile}: label ${labels.data[i]} at index ${i} is outside 0..${classes.length - 1}`);
  }
  const [n, h, w] = images.shape;
  return { size: n, shape: [h, w, 1], images: images.data, labels: labels.data, classes: [...classes] };
}
