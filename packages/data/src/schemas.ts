/**
 * The options of the data plugin's datasets, the same in Node and in browsers (so that one config
 * validates in both, and `defineConfig` infers the same types): each entry's plugin reads them its
 * way. `url` is for browsers (Node reads files from disk and ignores it); `root` and `download`
 * are for Node.
 */
import { z } from 'zod';
import type { DownloadOffer } from './fetch';
import type { FetchLike } from './from-url';

const sizes = {
  trainSize: z.number().int().positive().optional(),
  testSize: z.number().int().positive().optional(),
  /**
   * A long-tailed training split (longTailIndices: class c keeps n_max · imbalanceRatio^(-c/(C-1))
   * images), taken before `trainSize`; the test split stays as it is. `seed` defaults to the run's.
   */
  longTail: z.strictObject({ imbalanceRatio: z.number().finite().min(1), seed: z.number().int().optional() }).optional(),
};

/**
 * Browsers only: base URL of the folder holding the dataset's files (absolute, or relative to the
 * page). For the Fashion-MNIST sample it defaults to FASHION_MNIST_SAMPLE_URL.
 */
const url = z.string().min(1).optional();

export const fashionMnistSchema = z.strictObject({ root: z.string().optional(), sample: z.boolean().default(false), download: z.boolean().default(false), url, ...sizes });
export const fashionMnistSampleSchema = z.strictObject({ url, ...sizes });
export const mnistSchema = z.strictObject({ root: z.string().optional(), download: z.boolean().default(false), url, ...sizes });
export const cifar10Schema = z.strictObject({ root: z.string().optional(), download: z.boolean().default(false), url, ...sizes });
export const cifar100Schema = z.strictObject({ root: z.string().optional(), labels: z.enum(['fine', 'coarse']).default('fine'), download: z.boolean().default(false), url, ...sizes });
export const imageFolderSchema = z.strictObject({
  root: z.string().min(1),
  testRoot: z.string().min(1).optional(),
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
  channels: z.union([z.literal(1), z.literal(3)]).default(3),
  ...sizes,
});

export const multiLabelFolderSchema = z.strictObject({
  root: z.string().min(1),
  /** The labels CSV (header `file,labels`), relative to root. */
  labels: z.string().min(1).default('labels.csv'),
  /** A CSV of the test split (paths relative to root); without it a seeded stratified 20% of labels. */
  testLabels: z.string().min(1).optional(),
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
  channels: z.union([z.literal(1), z.literal(3)]).default(3),
  ...sizes,
});

export const DESCRIPTIONS = {
  'fashion-mnist': 'Fashion-MNIST from root, the cache or /usr/share/datasets/fashion-mnist (sample: true = the shipped sample; download: true = download it into the cache when missing)',
  'fashion-mnist-sample': 'The Fashion-MNIST sample shipped with @supcon/data (6000 train / 1000 test)',
  mnist: 'MNIST from root, the cache or /usr/share/datasets/mnist (download: true = download it into the cache when missing)',
  cifar10: 'CIFAR-10 binary batches from root, the cache or /usr/share/datasets/cifar10 (download: true = download it into the cache when missing)',
  cifar100: 'CIFAR-100 binary (train.bin/test.bin), fine (100) or coarse (20) labels (download: true = download it into the cache when missing)',
  'image-folder': 'root/<class>/<image>.png|jpg; test split from testRoot, else a seeded stratified 20% of root',
  'multi-label-folder':
    'images under root listed in a CSV (labels, default labels.csv: file,labels with labels separated by ; or |), multi-hot labels; test split from testLabels, else a seeded stratified 20%',
} as const;

export interface DataPluginOptions {
  /**
   * Node: for datasets whose config leaves `download` false, called when the dataset is not
   * found, to ask whether to download it (the CLI asks on a TTY). Default: never download.
   */
  download?: (offer: DownloadOffer) => boolean | Promise<boolean>;
  /** Browsers: how to fetch the files (default `globalThis.fetch`). */
  fetch?: FetchLike;
}
