/**
 * Datasets from a base URL, by `fetch`: how the browser entry loads MNIST-format and CIFAR files
 * (and the shipped Fashion-MNIST sample, from a CDN by default). Gzip-compressed IDX files are
 * decompressed with `DecompressionStream`. Works wherever `fetch` does (browsers, workers, Node).
 */
import type { ImageDataset } from '@supcon/core';
import { CIFAR10_CLASSES, cifar100Classes, cifarClassNamesFile, cifarDataset, cifarFiles, classNameLines, parseCifarRecords } from './cifar-records';
import { decodeIdx } from './idx';
import { checkSplit, FASHION_MNIST_CLASSES, MNIST_FILES, mnistDataset } from './mnist-format';
import type { Split } from './mnist-format';

/** The package's version, for the sample's default address (checked against package.json by a test). */
export const DATA_PACKAGE_VERSION = '0.1.0';

/**
 * Where browsers fetch the shipped Fashion-MNIST sample (6000 train / 1000 test) from by default:
 * the copy in this package's npm tarball on jsDelivr. Pass `url` (in a config, `data.url`) to serve
 * it yourself: the folder `node_modules/@supcon/data/sample/fashion-mnist/`, copied next to the
 * page, is what the default points at.
 */
export const FASHION_MNIST_SAMPLE_URL = `https://cdn.jsdelivr.net/npm/@supcon/data@${DATA_PACKAGE_VERSION}/sample/fashion-mnist/`;

/** The subset of the Fetch API the loaders use (`globalThis.fetch` by default). */
export type FetchLike = (url: string) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;

export interface UrlLoadOptions {
  /** Base URL of the folder holding the files: absolute, or relative to the page (`document.baseURI`). */
  url: string;
  split: Split;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
}

/** `name` in the folder `base` (a trailing '/' is added), resolved against the page's address. */
export function fileUrl(base: string, name: string): string {
  const dir = base.endsWith('/') ? base : `${base}/`;
  const page = typeof document === 'object' && document ? document.baseURI : globalThis.location?.href;
  try {
    return new URL(name, page === undefined ? dir : new URL(dir, page)).href;
  } catch {
    throw new Error(`url: '${base}' is not a URL (and there is no page address to resolve it against)`);
  }
}

function fetchOf(options: { fetch?: FetchLike }): FetchLike {
  const f = options.fetch ?? (typeof fetch === 'function' ? (fetch as FetchLike) : undefined);
  if (!f) throw new Error('url: this runtime has no fetch; pass one as the fetch option');
  return f;
}

/**
 * The bytes at the first of `names` (in `base`) that exists, and its URL; undefined when every
 * one answers 404 (other failures throw, naming the URL).
 */
async function fetchFirst(get: FetchLike, base: string, names: string[]): Promise<{ url: string; bytes: Uint8Array } | undefined> {
  for (const name of names) {
    const url = fileUrl(base, name);
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await get(url);
    } catch (error) {
      throw new Error(`GET ${url}: ${(error as Error).message}`, { cause: error });
    }
    if (response.status === 404) continue;
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
    return { url, bytes: new Uint8Array(await response.arrayBuffer()) };
  }
  return undefined;
}

/**
 * An MNIST-format split from the folder at `url`: the upstream file names, `.gz` (tried first) or
 * not. Gzip is detected by its magic bytes, so a server that decodes it on the way is fine too.
 */
export async function fetchMnistFormat(options: UrlLoadOptions, classes: string[]): Promise<ImageDataset> {
  const { url, split } = options;
  checkSplit(split);
  const get = fetchOf(options);
  const [imagesBase, labelsBase] = MNIST_FILES[split];
  const [images, labels] = await Promise.all(
    [imagesBase, labelsBase].map(async (base) => {
      const found = await fetchFirst(get, url, [`${base}.gz`, base]);
      if (!found) throw new Error(`${fileUrl(url, '')}: missing ${base}(.gz) for the ${split} split (HTTP 404)`);
      return { url: found.url, idx: await decodeIdx(found.bytes, found.url) };
    }),
  );
  const name = (u: string) => u.slice(u.lastIndexOf('/') + 1);
  return mnistDataset(images.idx, labels.idx, classes, {
    where: fileUrl(url, ''),
    imagesFile: images.url,
    labelsFile: labels.url,
    imagesName: name(images.url),
    labelsName: name(labels.url),
  });
}

/**
 * A split of the shipped Fashion-MNIST sample, fetched from `url` (default
 * {@link FASHION_MNIST_SAMPLE_URL}).
 */
export async function fetchFashionMnistSample(options: Partial<UrlLoadOptions> & { split: Split }): Promise<ImageDataset> {
  return fetchMnistFormat({ ...options, url: options.url ?? FASHION_MNIST_SAMPLE_URL }, FASHION_MNIST_CLASSES);
}

async function classNames(get: FetchLike, url: string, file: string): Promise<string[] | undefined> {
  const found = await fetchFirst(get, url, [file]);
  return found ? classNameLines(new TextDecoder().decode(found.bytes)) : undefined;
}

/**
 * A CIFAR-10 or CIFAR-100 split from the folder at `url` holding the unpacked binary version
 * (`data_batch_1.bin` ... `test_batch.bin`, or `train.bin` / `test.bin`, and the class names).
 */
export async function fetchCifar(name: 'cifar10' | 'cifar100', options: UrlLoadOptions & { labels?: 'fine' | 'coarse' }): Promise<ImageDataset> {
  const { url, split } = options;
  checkSplit(split);
  const get = fetchOf(options);
  const kind = options.labels ?? 'fine';
  const files = cifarFiles(name, split);
  const parts = await Promise.all(
    files.map(async (file) => {
      const found = await fetchFirst(get, url, [file]);
      if (!found) throw new Error(`${fileUrl(url, '')}: missing ${file} for the ${split} split (HTTP 404)`);
      return name === 'cifar10' ? parseCifarRecords(found.bytes, found.url, 1, 0) : parseCifarRecords(found.bytes, found.url, 2, kind === 'fine' ? 1 : 0);
    }),
  );
  const names = await classNames(get, url, cifarClassNamesFile(name, kind));
  const classes = name === 'cifar10' ? (names ?? CIFAR10_CLASSES) : cifar100Classes(names, kind);
  return cifarDataset(parts, files.map((f) => fileUrl(url, f)), classes);
}
