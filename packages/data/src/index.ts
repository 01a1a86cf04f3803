/**
 * @supcon/data: dataset readers (IDX for MNIST / Fashion-MNIST, CIFAR binary, image folders,
 * multi-label image folders with a labels CSV), downloads with checksums and a cache, the
 * Fashion-MNIST sample shipped with the package, seeded stratified and long-tailed subsets, and
 * batches as tensors. This is the Node entry (the `node` export condition and the default);
 * browsers get browser.ts, where the data plugin fetches files from a URL. Importing registers
 * nothing.
 */
import { createDataPlugin } from './plugin';

export * from './api';
export { parseIdx, readIdx } from './idx-node';
export { loadFashionMnist, loadMnist, loadFashionMnistSample, loadMnistFormat, fashionMnistSamplePath, cacheDir } from './mnist';
export type { LoadOptions } from './mnist';
export { loadCifar10, loadCifar100 } from './cifar';
export type { CifarLoadOptions } from './cifar';
export { loadImageFolder } from './folder';
export type { ImageFolderOptions } from './folder';
export { loadMultiLabelFolder, readMultiLabelCsv } from './multi-label-folder';
export type { MultiLabelFolderOptions } from './multi-label-folder';
export { downloadFile } from './download';
export type { DownloadOptions } from './download';
export { ensureDataset, downloadOffer, datasetDir, howToDownload } from './fetch';
export type { DownloadOffer, DownloadConsent, DownloadSettings, EnsureDatasetOptions } from './fetch';
export { createDataPlugin };

/** The plugin: datasets `fashion-mnist`, `fashion-mnist-sample`, `mnist`, `cifar10`, `cifar100`, `image-folder`, `multi-label-folder`. */
export const dataPlugin = /* @__PURE__ */ createDataPlugin();
