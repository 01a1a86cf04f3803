/**
 * MNIST-format datasets (MNIST, Fashion-MNIST) in Node: locating the files, reading them, and the
 * shipped Fashion-MNIST sample.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ImageDataset } from '@supcon/core';
import { cacheDir, obtainDataset } from './fetch';
import type { DownloadSettings } from './fetch';
import { readIdx } from './idx-node';
import { checkSplit, FASHION_MNIST_CLASSES, MNIST_CLASSES, MNIST_FILES as FILES, mnistDataset } from './mnist-format';
import type { Split } from './mnist-format';

export { cacheDir };

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
  checkSplit(split);
  const [imagesBase, labelsBase] = FILES[split];
  const imagesFile = findFile(root, imagesBase);
  const labelsFile = findFile(root, labelsBase);
  if (!imagesFile || !labelsFile) {
    throw new Error(`${root}: missing ${!imagesFile ? imagesBase : labelsBase}(.gz) for the ${split} split`);
  }
  const [images, labels] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  return mnistDataset(images, labels, classes, {
    where: root,
    imagesFile,
    labelsFile,
    imagesName: path.basename(imagesFile),
    labelsName: path.basename(labelsFile),
  });
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
