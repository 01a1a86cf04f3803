/**
 * The browser entry (the `browser` export condition): the same plugin, with a string
 * `corruption.baseline` fetched as a URL instead of read as a file.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRegistry, createRng, type EvalInput, type ImageDataset } from '@supcon/core';
import * as browser from '../src/browser';
import * as node from '../src/index';
import { useCpu } from './helpers';

beforeAll(useCpu);

function input(): EvalInput {
  const data = (n: number): ImageDataset => ({
    size: n,
    shape: [2, 2, 1],
    images: Uint8Array.from({ length: n * 4 }, (_, i) => (Math.floor(i / 4) % 2 === 0 ? 40 : 200)),
    labels: Int32Array.from({ length: n }, (_, i) => i % 2),
    classes: ['dark', 'bright'],
  });
  const encoder = { predict: (x: tf.Tensor4D) => tf.tidy(() => tf.reshape(tf.mean(x, [1, 2, 3]), [-1, 1])) };
  const features = (d: ImageDataset) => tf.tidy(() => encoder.predict(tf.div(tf.tensor4d(d.images, [d.size, 2, 2, 1], 'float32'), 255)) as tf.Tensor2D);
  const train = data(20);
  const test = data(10);
  return {
    encoder: encoder as unknown as EvalInput['encoder'],
    train,
    test,
    trainFeatures: features(train),
    testFeatures: features(test),
    preprocess: (images) => tf.div(tf.cast(images, 'float32'), 255),
    rng: createRng(0),
    logger: { info: () => undefined, warn: () => undefined },
  };
}

describe('@supcon/eval in browsers', () => {
  it('exports the same names as the Node entry', () => {
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
    expect(Object.keys(browser.evalPlugin.evaluators).sort()).toEqual(Object.keys(node.evalPlugin.evaluators).sort());
  });

  it('fetches a string corruption.baseline as a URL', async () => {
    const summary = { eval: { corruption: { corruptions: { brightness: { perSeverity: [0.25, 1] } } } } };
    const requested: string[] = [];
    const fetchMock = jest.fn(async (url: string) => {
      requested.push(url);
      return url.endsWith('/missing.json')
        ? new Response('not found', { status: 404 })
        : new Response(JSON.stringify(summary), { status: 200 });
    });
    const original = globalThis.fetch;
    globalThis.fetch = fetchMock as unknown as typeof fetch;
    try {
      const config = { type: 'corruption', corruptions: ['brightness'], severities: [1, 5] };
      const build = (baseline: unknown) => createRegistry([browser.evalPlugin]).build('evaluator', { ...config, baseline }, { rng: createRng(0) });
      const x = input();
      const withUrl = await (await build('https://runs.example/a/summary.json')).evaluate(x);
      const withRecord = await (await build({ brightness: [0.25, 1] })).evaluate(x);
      expect(withUrl.mCE).toBeCloseTo(withRecord.mCE as number, 12);
      expect(requested).toEqual(['https://runs.example/a/summary.json']);
      await expect((await build('https://runs.example/missing.json')).evaluate(x)).rejects.toThrow(
        "corruption.baseline: cannot read 'https://runs.example/missing.json': GET https://runs.example/missing.json: HTTP 404",
      );
      tf.dispose([x.trainFeatures, x.testFeatures]);
    } finally {
      globalThis.fetch = original;
    }
  });
});
