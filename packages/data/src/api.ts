/**
 * What the package exports in Node and in browsers alike: formats, subsets, tensors, the catalogue,
 * loading from a URL, in-memory datasets. index.ts (Node) adds the file readers and downloads;
 * browser.ts the browser's data plugin.
 */
export { decodeIdx, encodeIdx } from './idx';
export type { IdxArray } from './idx';
export { gunzip } from './gunzip';
export { FASHION_MNIST_CLASSES, MNIST_CLASSES } from './mnist-format';
export type { Split } from './mnist-format';
export { stratifiedIndices, subset, longTailIndices, longTailCounts } from './subsets';
export type { LongTailOptions } from './subsets';
export { parseMultiLabelCsv, multiHotBatch, multiHotRows, isMultiLabel } from './multi-label';
export type { MultiLabelImageDataset, MultiLabelCsv, MultiLabelCsvOptions } from './multi-label';
export { batchToTensor } from './tensors';
export { parseCifarRecords, CIFAR10_CLASSES } from './cifar-records';
export { DATASET_SOURCES, MIRROR_ENV, isDatasetName, resolveSource, withMirror, formatBytes } from './catalog';
export type { DatasetName, DatasetSource, SourceFile } from './catalog';
export { FASHION_MNIST_SAMPLE_URL, fetchMnistFormat, fetchFashionMnistSample, fetchCifar } from './from-url';
export type { FetchLike, UrlLoadOptions } from './from-url';
export { imageDatasetFactory, checkImageDataset } from './memory';
export type { ImageSplit, ImageDatasetOptions } from './memory';
export type { DataPluginOptions } from './schemas';
