/**
 * The browser entry (the `browser` export condition): the data plugin fetches the files from a
 * URL, gzip goes through DecompressionStream. `fetch` is mocked to serve real files from disk
 * (the shipped sample, CIFAR batches written here), and what the browser loaders return is
 * compared with what the Node loaders read from the same files.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createRegistry, createRng, definePlugin } from '@supcon/core';
import type { ImageDataset } from '@supcon/core';
import * as browser from '../src/browser';
import * as node from '../src/index';
import type { FetchLike } from '../src/browser';

const SAMPLE = path.join(__dirname, '..', 'sample', 'fashion-mnist');

/**
 * A fetch that serves `dir` under the base URL `base`: 404 for anything else. `transform`
 * changes a file's bytes on the way (a server that decodes gzip, say); `log` collects the URLs.
 */
function serve(base: string, dir: string, log: string[] = [], transform: (name: string, b: Uint8Array) => Uint8Array | undefined = (_, b) => b): FetchLike {
  return (url: string) => {
    log.push(url);
    const file = url.startsWith(base) ? path.join(dir, decodeURIComponent(url.slice(base.length))) : '';
    const bytes = file && existsSync(file) ? transform(path.basename(file), new Uint8Array(readFileSync(file))) : undefined;
    return Promise.resolve(
      bytes === undefined
        ? new Response('not found', { status: 404 })
        : new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200 }),
    );
  };
}

function expectSameDataset(actual: ImageDataset, expected: ImageDataset): void {
  expect(actual.size).toBe(expected.size);
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.classes).toEqual(expected.classes);
  expect(actual.labels.constructor).toBe(expected.labels.constructor);
  expect(Buffer.from(actual.labels.buffer, actual.labels.byteOffset, actual.labels.byteLength).equals(Buffer.from(expected.labels.buffer, expected.labels.byteOffset, expected.labels.byteLength))).toBe(true);
  expect(Buffer.from(actual.images).equals(Buffer.from(expected.images))).toBe(true);
}

async function withFetch<T>(f: FetchLike, run: () => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  globalThis.fetch = f as unknown as typeof fetch;
  try {
    return await run();
  } finally {
    globalThis.fetch = original;
  }
}

describe('@supcon/data in browsers', () => {
  it('the sample default URL names this package version', () => {
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(browser.FASHION_MNIST_SAMPLE_URL).toBe(`https://cdn.jsdelivr.net/npm/@supcon/data@${version}/sample/fashion-mnist/`);
  });

  it('fetches the shipped sample (gzip, DecompressionStream) from the default URL: the same images and labels as the Node loader', async () => {
    const log: string[] = [];
    const fetch = serve(browser.FASHION_MNIST_SAMPLE_URL, SAMPLE, log);
    for (const split of ['train', 'test'] as const) {
      const fetched = await browser.fetchFashionMnistSample({ split, fetch });
      expectSameDataset(fetched, await node.loadFashionMnistSample({ split }));
      expect(fetched.size).toBe(split === 'train' ? 6000 : 1000);
    }
    expect(log.sort()).toEqual(
      ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) => browser.FASHION_MNIST_SAMPLE_URL + f).sort(),
    );
  });

  it("the browser plugin's { type: 'fashion-mnist', sample: true, trainSize, testSize, url } gives the subsets the Node plugin gives", async () => {
    const config = { type: 'fashion-mnist', sample: true, trainSize: 1000, testSize: 500, url: 'https://app.example/assets/fashion-mnist' };
    const log: string[] = [];
    const fetched = await withFetch(serve('https://app.example/assets/fashion-mnist/', SAMPLE, log), async () => {
      const part = await createRegistry([browser.dataPlugin]).build('dataset', config, { rng: createRng(3) });
      return Promise.all([part.load('train'), part.load('test')]);
    });
    expect(log).toHaveLength(4);
    const part = await createRegistry([node.dataPlugin]).build('dataset', config, { rng: createRng(3) });
    const read = await Promise.all([part.load('train'), part.load('test')]);
    expect([fetched[0].size, fetched[1].size]).toEqual([1000, 500]);
    expectSameDataset(fetched[0], read[0]);
    expectSameDataset(fetched[1], read[1]);
    // fashion-mnist-sample too, and a fetch passed to createDataPlugin instead of the global one
    const plugin = browser.createDataPlugin({ fetch: serve(browser.FASHION_MNIST_SAMPLE_URL, SAMPLE) });
    const sample = await createRegistry([plugin]).build('dataset', { type: 'fashion-mnist-sample', testSize: 500 }, { rng: createRng(3) });
    expectSameDataset(await sample.load('test'), read[1]);
  });

  it('reads uncompressed files, and gzip files a server already decoded', async () => {
    const base = 'https://data.example/fm/';
    const plain = mkdtempSync(path.join(tmpdir(), 'fm-plain-'));
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(path.join(plain, f), gunzipSync(readFileSync(path.join(SAMPLE, `${f}.gz`))));
    const expected = await node.loadFashionMnistSample({ split: 'test' });
    const log: string[] = [];
    expectSameDataset(await browser.fetchMnistFormat({ url: base, split: 'test', fetch: serve(base, plain, log) }, browser.FASHION_MNIST_CLASSES), expected);
    expect(log).toEqual(expect.arrayContaining([`${base}t10k-images-idx3-ubyte.gz`, `${base}t10k-images-idx3-ubyte`]));
    const decoded = serve(base, SAMPLE, [], (_, b) => new Uint8Array(gunzipSync(b)));
    expectSameDataset(await browser.fetchMnistFormat({ url: base, split: 'test', fetch: decoded }, browser.FASHION_MNIST_CLASSES), expected);
  });

  it('says which file is missing, which request failed, and that other datasets need url', async () => {
    const base = 'https://data.example/empty/';
    const empty = mkdtempSync(path.join(tmpdir(), 'fm-empty-'));
    await expect(browser.fetchMnistFormat({ url: base, split: 'train', fetch: serve(base, empty) }, browser.MNIST_CLASSES)).rejects.toThrow(
      'https://data.example/empty/: missing train-images-idx3-ubyte(.gz) for the train split (HTTP 404)',
    );
    const failing: FetchLike = () => Promise.resolve(new Response('', { status: 500 }));
    await expect(browser.fetchFashionMnistSample({ split: 'test', fetch: failing })).rejects.toThrow(`GET ${browser.FASHION_MNIST_SAMPLE_URL}t10k-images-idx3-ubyte.gz: HTTP 500`);
    const offline: FetchLike = () => Promise.reject(new TypeError('Failed to fetch'));
    await expect(browser.fetchFashionMnistSample({ split: 'test', fetch: offline })).rejects.toThrow(/GET https:\/\/cdn.jsdelivr.net\/.*: Failed to fetch/);
    const corrupt = serve(base, SAMPLE, [], (_, b) => b.subarray(0, 100));
    await expect(browser.fetchMnistFormat({ url: base, split: 'test', fetch: corrupt }, browser.FASHION_MNIST_CLASSES)).rejects.toThrow(/t10k-(images|labels)-idx[13]-ubyte\.gz: corrupt gzip data/);
    const registry = createRegistry([browser.dataPlugin]);
    await expect(registry.build('dataset', { type: 'mnist' }, { rng: createRng(0) })).rejects.toThrow("data.url: in a browser, dataset 'mnist' is fetched from a base URL: pass url");
    await expect(registry.build('dataset', { type: 'fashion-mnist', root: '/data/fm' }, { rng: createRng(0) })).rejects.toThrow("(root '/data/fm' is a folder on disk, read in Node only)");
    await expect(registry.build('dataset', { type: 'image-folder', root: 'photos' }, { rng: createRng(0) })).rejects.toThrow(/works in Node only: .*imageDatasetFactory/);
    await expect(registry.build('dataset', { type: 'fashion-mnist', sample: true, url: 3 }, { rng: createRng(0) })).rejects.toThrow(/url/);
  });

  it('fetches CIFAR-10 and CIFAR-100 batches from a URL, as the Node loaders read them', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cifar-url-'));
    const record = (labels: number[], seed: number) => {
      const r = new Uint8Array(labels.length + 3072);
      r.set(labels);
      for (let i = 0; i < 3072; i++) r[labels.length + i] = (i * 7 + seed) % 256;
      return r;
    };
    for (let b = 1; b <= 5; b++) writeFileSync(path.join(root, `data_batch_${b}.bin`), Buffer.concat([record([b], b), record([0], 0)]));
    writeFileSync(path.join(root, 'test_batch.bin'), record([9], 1));
    writeFileSync(path.join(root, 'train.bin'), Buffer.concat([record([3, 42], 5), record([19, 99], 6)]));
    writeFileSync(path.join(root, 'test.bin'), record([1, 7], 7));
    writeFileSync(path.join(root, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n'));
    const base = 'https://data.example/cifar/';
    const fetch = serve(base, root);
    for (const split of ['train', 'test'] as const) {
      expectSameDataset(await browser.fetchCifar('cifar10', { url: base, split, fetch }), await node.loadCifar10({ root, split }));
      for (const labels of ['fine', 'coarse'] as const)
        expectSameDataset(await browser.fetchCifar('cifar100', { url: base, split, labels, fetch }), await node.loadCifar100({ root, split, labels }));
    }
    const part = await createRegistry([browser.createDataPlugin({ fetch })]).build('dataset', { type: 'cifar100', labels: 'coarse', url: base }, { rng: createRng(0) });
    expect((await part.load('train')).classes[19]).toBe('super19');
  });

  it('decodeIdx decompresses gzip anywhere; the browser parseIdx reads uncompressed IDX and points to decodeIdx for gzip', async () => {
    const idx = node.encodeIdx([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6]));
    for (const bytes of [idx, new Uint8Array(gzipSync(idx))]) {
      const decoded = await browser.decodeIdx(bytes, 'x.idx');
      expect(decoded.shape).toEqual([2, 3]);
      expect([...decoded.data]).toEqual([1, 2, 3, 4, 5, 6]);
    }
    expect([...browser.parseIdx(idx).data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => browser.parseIdx(new Uint8Array(gzipSync(idx)), 'x.idx.gz')).toThrow('x.idx.gz: gzip-compressed IDX: decompress it with the asynchronous decodeIdx(buffer) in a browser');
    await expect(browser.decodeIdx(Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), 'bad.gz')).rejects.toThrow(/bad\.gz: corrupt gzip data/);
  });

  it('imageDatasetFactory: in-memory images as a dataset type, with trainSize/testSize and checks', async () => {
    const images = (n: number): ImageDataset => ({
      size: n,
      shape: [2, 2, 1],
      images: Uint8Array.from({ length: n * 4 }, (_, i) => i % 256),
      labels: Int32Array.from({ length: n }, (_, i) => i % 4),
      classes: ['a', 'b', 'c', 'd'],
    });
    const plugin = definePlugin({ name: 'mine', datasets: { 'my-images': browser.imageDatasetFactory({ train: images(40), test: () => Promise.resolve(images(12)) }) } });
    const part = await createRegistry([plugin]).build('dataset', { type: 'my-images', trainSize: 8 }, { rng: createRng(0) });
    const [train, test] = await Promise.all([part.load('train'), part.load('test')]);
    expect([train.size, test.size]).toEqual([8, 12]);
    expect([...train.labels].sort()).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    const bad = definePlugin({ name: 'bad', datasets: { bad: browser.imageDatasetFactory({ train: { ...images(3), labels: Int32Array.from([0, 1, 7]) }, test: images(1) }) } });
    const badPart = await createRegistry([bad]).build('dataset', { type: 'bad' }, { rng: createRng(0) });
    await expect(badPart.load('train')).rejects.toThrow('train split.labels: label 7 at index 2 is outside 0..3 (4 classes)');
    expect(() => browser.checkImageDataset({ ...images(3), images: new Uint8Array(5) })).toThrow('dataset.images: expected a Uint8Array of 3 x 2 x 2 x 1 = 12 values (HWC), got 5');
  });

  it('exports what the Node entry does, less the file readers and downloads', () => {
    const nodeOnly = [
      'cacheDir',
      'createDataPlugin', // in both, but a different function
      'dataPlugin',
      'datasetDir',
      'downloadFile',
      'downloadOffer',
      'ensureDataset',
      'fashionMnistSamplePath',
      'howToDownload',
      'loadCifar10',
      'loadCifar100',
      'loadFashionMnist',
      'loadFashionMnistSample',
      'loadImageFolder',
      'loadMultiLabelFolder',
      'loadMnist',
      'loadMnistFormat',
      'parseIdx', // in both: gzip in Node only
      'readIdx',
      'readMultiLabelCsv',
    ];
    const inBoth = ['createDataPlugin', 'dataPlugin', 'parseIdx'];
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).filter((k) => !nodeOnly.includes(k) || inBoth.includes(k)).sort());
    expect(Object.keys(browser.dataPlugin.datasets)).toEqual(Object.keys(node.dataPlugin.datasets));
    for (const [type, factory] of Object.entries(node.dataPlugin.datasets))
      expect(browser.dataPlugin.datasets[type as keyof typeof browser.dataPlugin.datasets].schema).toBe(factory.schema);
  });
});
