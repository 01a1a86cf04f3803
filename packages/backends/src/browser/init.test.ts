/**
 * The browser entry's initBackend, run in Node (the page itself is tested in Chromium by
 * ../browser.test.ts): which backends it starts, its errors, `wasmPaths`, and one thread where
 * the page is not cross-origin isolated.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  BackendUnavailableError,
  initBackend,
  wasmKernelsInfo,
  wasmThreadsInUse,
} from '../browser';

const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));

describe('initBackend (browser entry)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(tmpdir(), 'supcon-wasm-paths-'));
    for (const file of fs.readdirSync(wasmDist).filter((f) => f.endsWith('.wasm')))
      fs.copyFileSync(path.join(wasmDist, file), path.join(dir, file));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses the libtensorflow backends, which need Node', async () => {
    const error = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(
      /initBackend\('tensorflow'\): @tensorflow\/tfjs-node runs libtensorflow in a Node addon, so it cannot run in a browser; use 'wasm' or 'cpu'/,
    );
    await expect(initBackend('tensorflow-gpu')).rejects.toThrow(
      /tfjs-node-gpu .* cannot run in a browser/,
    );
  });

  it('refuses webgl and webgpu with a sentence where the page has no GPU API', async () => {
    // jsdom-free jest: no document, no OffscreenCanvas, no navigator.gpu.
    await expect(initBackend('webgpu')).rejects.toThrow(
      /initBackend\('webgpu'\): this environment has no WebGPU \(navigator\.gpu is undefined\)/,
    );
    await expect(initBackend('webgl')).rejects.toThrow(
      /initBackend\('webgl'\): no WebGL context could be created/,
    );
  });

  it('says how to make a GPU backend available when its package is not loaded', async () => {
    const nav = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', {
      configurable: true,
      value: { gpu: { requestAdapter: async () => ({}) } },
    });
    try {
      await expect(initBackend('webgpu')).rejects.toThrow(
        /@tensorflow\/tfjs-backend-webgpu is not loaded\. supcon does not import it in a browser .*`npm i @tensorflow\/tfjs-backend-webgpu@\^4\.22\.0`, then `import '@tensorflow\/tfjs-backend-webgpu'`/,
      );
      (globalThis.navigator as unknown as { gpu: unknown }).gpu = { requestAdapter: async () => null };
      await expect(initBackend('webgpu')).rejects.toThrow(/no WebGPU adapter was found/);
    } finally {
      if (nav) Object.defineProperty(globalThis, 'navigator', nav);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });

  it('rejects bad thread counts before starting anything', async () => {
    await expect(initBackend('wasm', { threads: 0 })).rejects.toThrow(
      /threads must be an integer from 1 to 8, got 0/,
    );
  });

  it('starts wasm from wasmPaths, on one thread when not cross-origin isolated, with the kernels', async () => {
    expect(globalThis.crossOriginIsolated).toBeUndefined();
    const read = jest.spyOn(fs, 'readFileSync');
    const reasons: string[] = [];
    await expect(
      initBackend('wasm', {
        wasmPaths: dir,
        threads: 2,
        onThreadsFallback: (r) => reasons.push(r),
      }),
    ).resolves.toBe('wasm');
    const wasmReads = read.mock.calls
      .map(([file]) => String(file))
      .filter((file) => file.endsWith('.wasm'));
    read.mockRestore();
    expect(wasmReads).toEqual([path.join(dir, 'tfjs-backend-wasm-simd.wasm')]);
    expect(reasons).toEqual([
      expect.stringMatching(
        /threads: 2.*not cross-origin isolated, so the wasm backend runs one thread/,
      ),
    ]);
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmThreadsInUse()).toBe(1);
    expect(wasmKernelsInfo()).toEqual({ active: true, threads: 1 });
    // A convolution's filter gradient: supcon's wasm kernel and tfjs's registered gradients.
    const x = tf.ones([1, 4, 4, 4]) as tf.Tensor4D;
    const filter = tf.ones([3, 3, 4, 4]);
    const dFilter = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'same')))(
      filter,
    );
    expect(Array.from(dFilter.dataSync()).slice(0, 4)).toEqual([9, 9, 9, 9]);
    tf.dispose([x, filter, dFilter]);
  });

  it("'auto' skips the libtensorflow backends and lands on wasm", async () => {
    const skipped: string[] = [];
    await expect(initBackend('auto', { onSkip: (b) => skipped.push(b) })).resolves.toBe('wasm');
    expect(skipped).toEqual(['tensorflow-gpu', 'tensorflow']);
  });

  it('starts cpu', async () => {
    await expect(initBackend('cpu')).resolves.toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
