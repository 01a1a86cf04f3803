/**
 * @supcon/data: dataset readers (IDX for MNIST / Fashion-MNIST), the Fashion-MNIST sample
 * shipped with the package, seeded stratified subsets, and batches as tensors. Importing
 * registers nothing.
 */
import { defineFactory, definePlugin } from '@supcon/core';
import type { BuildContext, DatasetPart, ImageDataset } from '@supcon/core';
import { z } from 'zod';
import { loadFashionMnist, loadFashionMnistSample, loadMnist, stratifiedIndices, subset } from './mnist';
import type { Split } from './mnist';
import { loadCifar10, loadCifar100 } from './cifar';
import type { DownloadConsent, DownloadOffer } from './fetch';
import { loadImageFolder } from './folder';

export { parseIdx, readIdx, encodeIdx } from './idx';
export type { IdxArray } from './idx';
export {
  loadFashionMnist,
  loadMnist,
  loadFashionMnistSample,
  loadMnistFormat,
  fashionMnistSamplePath,
  cacheDir,
  stratifiedIndices,
  subset,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
} from './mnist';
export type { LoadOptions, Split } from './mnist';
export { batchToTensor } from './tensors';
export { loadCifar10, loadCifar100, parseCifarRecords, CIFAR10_CLASSES } from './cifar';
export type { CifarLoadOptions } from './cifar';
export { loadImageFolder } from './folder';
export { downloadFile } from './download';
export type { DownloadOptions } from './download';
export { DATASET_SOURCES, MIRROR_ENV, isDatasetName, resolveSource, withMirror, formatBytes } from './catalog';
export type { DatasetName, DatasetSource, SourceFile } from './catalog';
export { ensureDataset, downloadOffer, datasetDir, howToDownload } from './fetch';
export type { DownloadOffer, DownloadConsent, DownloadSettings, EnsureDatasetOptions } from './fetch';
export type { ImageFolderOptions } from './folder';

const sizes = {
  trainSize: z.number().int().positive().optional(),
  testSize: z.number().int().positive().optional(),
};

/** A DatasetPart that loads each split once and takes the seeded stratified subsets asked for. */
function datasetPart(load: (split: Split) => Promise<ImageDataset>, options: { trainSize?: number; testSize?: number }, context: BuildContext): DatasetPart {
  const cache = new Map<Split, Promise<ImageDataset>>();
  return {
    load(split) {
      let p = cache.get(split);
      if (!p) {
        p = load(split).then((full) => {
          const size = split === 'train' ? options.trainSize : options.testSize;
          if (size === undefined) return full;
          if (size > full.size) {
            // Clamped to the whole split: say so, rather than silently train on fewer images.
            context.logger?.warn(
              `data.${split === 'train' ? 'trainSize' : 'testSize'}: ${size} images requested, but the ${split} split has only ${full.size}: using all ${full.size}`,
            );
          }
          return subset(full, stratifiedIndices(full.labels, size, context.rng.fork(split)));
        });
        cache.set(split, p);
      }
      return p;
    },
  };
}

export interface DataPluginOptions {
  /**
   * For datasets whose config leaves `download` false: called when the dataset is not found, to
   * ask whether to download it (the CLI asks on a TTY). Default: never download.
   */
  download?: (offer: DownloadOffer) => boolean | Promise<boolean>;
}

/** The data plugin with `options` (`dataPlugin` is `createDataPlugin()`). */
export function createDataPlugin(options: DataPluginOptions = {}) {
  const consent = (configured: boolean): DownloadConsent => configured || options.download || false;
  return definePlugin({
    name: '@supcon/data',
    version: '0.1.0',
    specificationVersion: 'v1',
    datasets: {
      'fashion-mnist': defineFactory({
        schema: z.strictObject({ root: z.string().optional(), sample: z.boolean().default(false), download: z.boolean().default(false), ...sizes }),
        description: 'Fashion-MNIST from root, the cache or /usr/share/datasets/fashion-mnist (sample: true = the shipped sample; download: true = download it into the cache when missing)',
        create: (o, ctx) =>
          datasetPart((split) => (o.sample ? loadFashionMnistSample({ split }) : loadFashionMnist({ root: o.root, split, download: consent(o.download) })), o, ctx),
      }),
      'fashion-mnist-sample': defineFactory({
        schema: z.strictObject(sizes),
        description: 'The Fashion-MNIST sample shipped with @supcon/data (6000 train / 1000 test)',
        create: (o, ctx) => datasetPart((split) => loadFashionMnistSample({ split }), o, ctx),
      }),
      mnist: defineFactory({
        schema: z.strictObject({ root: z.string().optional(), download: z.boolean().default(false), ...sizes }),
        description: 'MNIST from root, the cache or /usr/share/datasets/mnist (download: true = download it into the cache when missing)',
        create: (o, ctx) => datasetPart((split) => loadMnist({ root: o.root, split, download: consent(o.download) }), o, ctx),
      }),
      cifar10: defineFactory({
        schema: z.strictObject({ root: z.string().optional(), download: z.boolean().default(false), ...sizes }),
        description: 'CIFAR-10 binary batches from root, the cache or /usr/share/datasets/cifar10 (download: true = download it into the cache when missing)',
        create: (o, ctx) => datasetPart((split) => loadCifar10({ root: o.root, split, download: consent(o.download) }), o, ctx),
      }),
      cifar100: defineFactory({
        schema: z.strictObject({ root: z.string().optional(), labels: z.enum(['fine', 'coarse']).default('fine'), download: z.boolean().default(false), ...sizes }),
        description: 'CIFAR-100 binary (train.bin/test.bin), fine (100) or coarse (20) labels (download: true = download it into the cache when missing)',
        create: (o, ctx) => datasetPart((split) => loadCifar100({ root: o.root, split, labels: o.labels, download: consent(o.download) }), o, ctx),
      }),
      'image-folder': defineFactory({
        schema: z.strictObject({
          root: z.string().min(1),
          testRoot: z.string().min(1).optional(),
          size: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
          channels: z.union([z.literal(1), z.literal(3)]).default(3),
          ...sizes,
        }),
        description: 'root/<class>/<image>.png|jpg; test split from testRoot, else a seeded stratified 20% of root',
        create: (o, ctx) => {
          let all: ImageDataset | undefined;
          let split: { train: Int32Array; test: Int32Array } | undefined;
          const load = async (s: Split): Promise<ImageDataset> => {
            if (o.testRoot) return loadImageFolder({ root: s === 'train' ? o.root : o.testRoot, size: o.size, channels: o.channels });
            all ??= loadImageFolder({ root: o.root, size: o.size, channels: o.channels });
            if (!split) {
              const test = stratifiedIndices(all.labels, Math.max(1, Math.round(all.size * 0.2)), ctx.rng.fork('image-folder-split'));
              const inTest = new Set(test);
              split = { train: Int32Array.from({ length: all.size }, (_, i) => i).filter((i) => !inTest.has(i)), test };
            }
            return subset(all, split[s]);
          };
          return datasetPart(load, o, ctx);
        },
      }),
    },
  });
}

/** The plugin: datasets `fashion-mnist`, `fashion-mnist-sample`, `mnist`, `cifar10`, `cifar100`, `image-folder`. */
export const dataPlugin = /* @__PURE__ */ createDataPlugin();
