import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRegistry, createRng } from '@supcon/core';
import { batchToTensor, dataPlugin, encodeIdx, loadFashionMnist, loadFashionMnistSample, loadMnistFormat, parseIdx, stratifiedIndices } from '../src/index';

beforeAll(() => tf.setBackend('cpu'));

function writeMnist(dir: string, n: number, opts: { gzip?: boolean; labels?: number } = {}) {
  const images = Uint8Array.from({ length: n * 4 }, (_, i) => i % 251);
  const labels = Uint8Array.from({ length: opts.labels ?? n }, (_, i) => i % 3);
  const enc = (b: Uint8Array) => (opts.gzip ? gzipSync(b) : b);
  const suffix = opts.gzip ? '.gz' : '';
  writeFileSync(path.join(dir, `train-images-idx3-ubyte${suffix}`), enc(encodeIdx([n, 2, 2], images)));
  writeFileSync(path.join(dir, `train-labels-idx1-ubyte${suffix}`), enc(encodeIdx([labels.length], labels)));
  return { images, labels };
}

describe('IDX', () => {
  it('reads plain and gzip files (hand-made), as HWC with c = 1', async () => {
    for (const gzip of [false, true]) {
      const dir = mkdtempSync(path.join(tmpdir(), 'idx-'));
      const { images, labels } = writeMnist(dir, 5, { gzip });
      const ds = await loadMnistFormat(dir, 'train', ['a', 'b', 'c']);
      expect(ds.size).toBe(5);
      expect(ds.shape).toEqual([2, 2, 1]);
      expect([...ds.images]).toEqual([...images]);
      expect([...ds.labels]).toEqual([...labels]);
    }
  });

  it('gives clear errors for a wrong magic number, truncated data and count mismatches', async () => {
    expect(() => parseIdx(Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 1, 5]), 'x.idx')).toThrow('x.idx: not an IDX file (wrong magic number 0x01020801');
    expect(() => parseIdx(encodeIdx([3, 2, 2], new Uint8Array(12)).subarray(0, 20), 't.idx')).toThrow(/t\.idx: truncated data: the header promises 3x2x2 = 12 bytes, the file holds 4/);
    const dir = mkdtempSync(path.join(tmpdir(), 'idx-'));
    writeMnist(dir, 5, { labels: 4 });
    await expect(loadMnistFormat(dir, 'train', ['a', 'b', 'c'])).rejects.toThrow(/5 images in train-images-idx3-ubyte but 4 labels in train-labels-idx1-ubyte/);
    await expect(loadMnistFormat(dir, 'test', ['a'])).rejects.toThrow(/missing t10k-images-idx3-ubyte/);
  });
});

describe('Fashion-MNIST', () => {
  const debian = '/usr/share/datasets/fashion-mnist';
  (existsSync(debian) ? it : it.skip)('loads from the Debian package: 60000/10000 images, first labels 9 0 0 3 / 9 2 1 1', async () => {
    const train = await loadFashionMnist({ split: 'train' });
    const test = await loadFashionMnist({ split: 'test' });
    expect([train.size, test.size]).toEqual([60000, 10000]);
    expect(train.shape).toEqual([28, 28, 1]);
    expect([...train.labels.subarray(0, 4)]).toEqual([9, 0, 0, 3]);
    expect([...test.labels.subarray(0, 4)]).toEqual([9, 2, 1, 1]);
    expect(train.classes[9]).toBe('Ankle boot');
  });

  it('loads the shipped sample: 6000/1000, 600/100 per class, classes mixed', async () => {
    const train = await loadFashionMnistSample({ split: 'train' });
    const test = await loadFashionMnistSample({ split: 'test' });
    expect([train.size, test.size]).toEqual([6000, 1000]);
    const counts = (l: ArrayLike<number>) => Array.from({ length: 10 }, (_, c) => Array.from(l).filter((x) => x === c).length);
    expect(counts(train.labels)).toEqual(Array(10).fill(600));
    expect(counts(test.labels)).toEqual(Array(10).fill(100));
    expect(new Set(Array.from(test.labels.subarray(0, 50))).size).toBeGreaterThan(5);
  });
});

describe('subsets and tensors', () => {
  it('stratified subsets keep class shares and are seeded', () => {
    const labels = Int32Array.from({ length: 1000 }, (_, i) => (i < 700 ? 0 : i < 900 ? 1 : 2));
    const idx = stratifiedIndices(labels, 100, createRng(1));
    const counts = [0, 1, 2].map((c) => Array.from(idx).filter((i) => labels[i] === c).length);
    expect(counts).toEqual([70, 20, 10]);
    expect(new Set(idx).size).toBe(100);
    expect([...stratifiedIndices(labels, 100, createRng(1))]).toEqual([...idx]);
  });

  it('batchToTensor gathers uint8 images into [0, 1] float32 and int32 labels', () => {
    const ds = { size: 3, shape: [1, 2, 1] as [number, number, number], images: Uint8Array.from([0, 255, 51, 102, 7, 9]), labels: Uint8Array.from([4, 5, 6]), classes: [] };
    const { images, labels } = batchToTensor(ds, [1, 0]);
    expect(images.shape).toEqual([2, 1, 2, 1]);
    const v = images.dataSync();
    [0.2, 0.4, 0, 1].forEach((x, i) => expect(v[i]).toBeCloseTo(x, 6));
    expect([...labels.dataSync()]).toEqual([5, 4]);
    expect(labels.dtype).toBe('int32');
    tf.dispose([images, labels]);
    expect(() => batchToTensor(ds, [3])).toThrow(/index 3 is outside the dataset \(size 3\)/);
  });

  it('the plugin applies trainSize/testSize and names bad options', async () => {
    const registry = createRegistry([dataPlugin]);
    const part = await registry.build('dataset', { type: 'fashion-mnist-sample', trainSize: 500, testSize: 100 }, { rng: createRng(0) });
    const [train, test] = await Promise.all([part.load('train'), part.load('test')]);
    expect([train.size, test.size]).toEqual([500, 100]);
    await expect(registry.build('dataset', { type: 'fashion-mnist', trainSize: -1 }, { rng: createRng(0) })).rejects.toThrow(/data(set)?\.trainSize/);
    const missing = await registry.build('dataset', { type: 'mnist', root: '/nonexistent/mnist' }, { rng: createRng(0) });
    await expect(missing.load('train')).rejects.toThrow('root: /nonexistent/mnist does not exist');
  });
});
