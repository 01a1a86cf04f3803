/**
 * The data plugin in browsers: the same dataset types and options as in Node (plugin.ts), with the
 * files fetched from `url` instead of read from disk. The Fashion-MNIST sample (`sample: true`, or
 * type `fashion-mnist-sample`) comes from FASHION_MNIST_SAMPLE_URL unless `url` says otherwise;
 * the other datasets need `url`. `image-folder` and `multi-label-folder` read folders and are Node only: pass in-memory
 * images with `imageDatasetFactory` instead.
 */
import { defineFactory, definePlugin } from '@supcon/core';
import type { DatasetPart } from '@supcon/core';
import { datasetPart } from './dataset-part';
import { fetchCifar, fetchFashionMnistSample, fetchMnistFormat } from './from-url';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES } from './mnist-format';
import { cifar100Schema, cifar10Schema, DESCRIPTIONS, fashionMnistSampleSchema, fashionMnistSchema, imageFolderSchema, mnistSchema, multiLabelFolderSchema } from './schemas';
import type { DataPluginOptions } from './schemas';

/** `url`, or an error saying that a browser needs it (and that `root` is for Node). */
function needUrl(type: string, o: { url?: string; root?: string }): string {
  if (o.url !== undefined) return o.url;
  const root = o.root === undefined ? '' : ` (root '${o.root}' is a folder on disk, read in Node only)`;
  throw new Error(`data.url: in a browser, dataset '${type}' is fetched from a base URL: pass url, the address of the folder with its files${root}`);
}

/** The data plugin with `options` (`dataPlugin` is `createDataPlugin()`). */
export function createDataPlugin(options: DataPluginOptions = {}) {
  const { fetch } = options;
  return definePlugin({
    name: '@supcon/data',
    version: '0.1.0',
    specificationVersion: 'v1',
    datasets: {
      'fashion-mnist': defineFactory({
        schema: fashionMnistSchema,
        description: DESCRIPTIONS['fashion-mnist'],
        create: (o, ctx) => {
          if (o.sample) return datasetPart((split) => fetchFashionMnistSample({ split, url: o.url, fetch }), o, ctx);
          const url = needUrl('fashion-mnist', o);
          return datasetPart((split) => fetchMnistFormat({ split, url, fetch }, FASHION_MNIST_CLASSES), o, ctx);
        },
      }),
      'fashion-mnist-sample': defineFactory({
        schema: fashionMnistSampleSchema,
        description: DESCRIPTIONS['fashion-mnist-sample'],
        create: (o, ctx) => datasetPart((split) => fetchFashionMnistSample({ split, url: o.url, fetch }), o, ctx),
      }),
      mnist: defineFactory({
        schema: mnistSchema,
        description: DESCRIPTIONS.mnist,
        create: (o, ctx) => {
          const url = needUrl('mnist', o);
          return datasetPart((split) => fetchMnistFormat({ split, url, fetch }, MNIST_CLASSES), o, ctx);
        },
      }),
      cifar10: defineFactory({
        schema: cifar10Schema,
        description: DESCRIPTIONS.cifar10,
        create: (o, ctx) => {
          const url = needUrl('cifar10', o);
          return datasetPart((split) => fetchCifar('cifar10', { split, url, fetch }), o, ctx);
        },
      }),
      cifar100: defineFactory({
        schema: cifar100Schema,
        description: DESCRIPTIONS.cifar100,
        create: (o, ctx) => {
          const url = needUrl('cifar100', o);
          return datasetPart((split) => fetchCifar('cifar100', { split, url, labels: o.labels, fetch }), o, ctx);
        },
      }),
      'image-folder': defineFactory({
        schema: imageFolderSchema,
        description: DESCRIPTIONS['image-folder'],
        create: (o): DatasetPart => {
          throw new Error(
            `dataset 'image-folder' reads the folder ${o.root} from disk and works in Node only: in a browser, decode the images yourself and pass them with imageDatasetFactory({ train, test })`,
          );
        },
      }),
      'multi-label-folder': defineFactory({
        schema: multiLabelFolderSchema,
        description: DESCRIPTIONS['multi-label-folder'],
        create: (o): DatasetPart => {
          throw new Error(
            `dataset 'multi-label-folder' reads the folder ${o.root} and its ${o.labels} from disk and works in Node only: in a browser, parse the CSV with parseMultiLabelCsv, decode the images yourself and pass them with imageDatasetFactory({ train, test })`,
          );
        },
      }),
    },
  });
}
