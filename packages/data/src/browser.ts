/**
 * @supcon/data for browsers (the `browser` export condition): everything of the Node entry that
 * needs no file system, and the data plugin with the same dataset types and options, whose files
 * are fetched from `url` (the Fashion-MNIST sample from FASHION_MNIST_SAMPLE_URL by default) and
 * gzip-decompressed with DecompressionStream. `parseIdx` here reads uncompressed IDX only (use
 * `decodeIdx` for gzip). Importing registers nothing.
 */
import { parseRawIdx } from './idx';
import type { IdxArray } from './idx';
import { isGzip } from './gunzip';
import { createDataPlugin } from './plugin-browser';

export * from './api';
export { createDataPlugin } from './plugin-browser';

/** Parses an uncompressed IDX buffer (in browsers; gzip data needs the asynchronous `decodeIdx`). */
export function parseIdx(buffer: Uint8Array, file = '<buffer>'): IdxArray {
  if (isGzip(buffer)) throw new Error(`${file}: gzip-compressed IDX: decompress it with the asynchronous decodeIdx(buffer) in a browser`);
  return parseRawIdx(buffer, file);
}

/** The plugin: datasets `fashion-mnist`, `fashion-mnist-sample`, `mnist`, `cifar10`, `cifar100`, `image-folder` and `multi-label-folder` (Node only). */
export const dataPlugin = /* @__PURE__ */ createDataPlugin();
