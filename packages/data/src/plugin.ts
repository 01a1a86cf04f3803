/** The data plugin in Node: datasets read from disk (root, the cache, Debian's packages), downloads. */
import { defineFactory, definePlugin } from '@supcon/core';
import type { ImageDataset } from '@supcon/core';
import { loadCifar10, loadCifar100 } from './cifar';
import { datasetPart } from './dataset-part';
import type { DownloadConsent } from './fetch';
import { loadImageFolder } from './folder';
import { loadMultiLabelFolder, readMultiLabelCsv } from './multi-label-folder';
import { loadFashionMnist, loadFashionMnistSample, loadMnist } from './mnist';
import type { Split } from './mnist-format';
import { cifar100Schema, cifar10Schema, DESCRIPTIONS, fashionMnistSampleSchema, fashionMnistSchema, imageFolderSchema, mnistSchema, multiLabelFolderSchema } from './schemas';
import type { DataPluginOptions } from './schemas';
import { stratifiedIndices, subset } from './subsets';

/** The data plugin with `options` (`dataPlugin` is `createDataPlugin()`). */
export function createDataPlugin(options: DataPluginOptions = {}) {
  const consent = (configured: boolean): DownloadConsent => configured || options.download || false;
  return definePlugin({
    name: '@supcon/data',
    version: '0.1.0',
    specificationVersion: 'v1',
    datasets: {
      'fashion-mnist': defineFactory({
        schema: fashionMnistSchema,
        description: DESCRIPTIONS['fashion-mnist'],
        create: (o, ctx) =>
          datasetPart((split) => (o.sample ? loadFashionMnistSample({ split }) : loadFashionMnist({ root: o.root, split, download: consent(o.download) })), o, ctx),
      }),
      'fashion-mnist-sample': defineFactory({
        schema: fashionMnistSampleSchema,
        description: DESCRIPTIONS['fashion-mnist-sample'],
        create: (o, ctx) => datasetPart((split) => loadFashionMnistSample({ split }), o, ctx),
      }),
      mnist: defineFactory({
        schema: mnistSchema,
        description: DESCRIPTIONS.mnist,
        create: (o, ctx) => datasetPart((split) => loadMnist({ root: o.root, split, download: consent(o.download) }), o, ctx),
      }),
      cifar10: defineFactory({
        schema: cifar10Schema,
        description: DESCRIPTIONS.cifar10,
        create: (o, ctx) => datasetPart((split) => loadCifar10({ root: o.root, split, download: consent(o.download) }), o, ctx),
      }),
      cifar100: defineFactory({
        schema: cifar100Schema,
        description: DESCRIPTIONS.cifar100,
        create: (o, ctx) => datasetPart((split) => loadCifar100({ root: o.root, split, labels: o.labels, download: consent(o.download) }), o, ctx),
      }),
      'image-folder': defineFactory({
        schema: imageFolderSchema,
        description: DESCRIPTIONS['image-folder'],
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
      'multi-label-folder': defineFactory({
        schema: multiLabelFolderSchema,
        description: DESCRIPTIONS['multi-label-folder'],
        create: (o, ctx) => {
          let all: ImageDataset | undefined;
          let split: { train: Int32Array; test: Int32Array } | undefined;
          const read = { root: o.root, size: o.size, channels: o.channels };
          const load = async (s: Split): Promise<ImageDataset> => {
            if (o.testLabels) {
              // The test CSV takes the training CSV's classes, so that class indices agree.
              const classes = s === 'test' ? readMultiLabelCsv({ root: o.root, labels: o.labels }).classes : undefined;
              return loadMultiLabelFolder({ ...read, labels: s === 'train' ? o.labels : o.testLabels, classes });
            }
            all ??= loadMultiLabelFolder({ ...read, labels: o.labels });
            if (!split) {
              const test = stratifiedIndices(all.labels, Math.max(1, Math.round(all.size * 0.2)), ctx.rng.fork('multi-label-folder-split'));
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
