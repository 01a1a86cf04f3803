import * as tf from '@tensorflow/tfjs-core';
import {
  BACKEND_NAMES,
  BackendUnavailableError,
  initBackend,
  probeBackends,
  wasmFeatures,
} from './index';

/** sum of [[1,2],[3,4]] @ [[1],[1]] = [3, 7] -> 10, computed on whatever backend is active. */
async function smallResult(): Promise<number> {
  const y = tf.tidy(() =>
    tf.sum(
      tf.matMul(
        tf.tensor2d([
          [1, 2],
          [3, 4],
        ]),
        tf.tensor2d([[1], [1]]),
      ),
    ),
  );
  const v = (await y.data())[0];
  y.dispose();
  return v;
}

describe('initBackend', () => {
  it('starts cpu and computes', async () => {
    await expect(initBackend('cpu')).resolves.toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await smallResult()).toBe(10);
  });

  it('starts wasm, registers the training kernels, and computes', async () => {
    await expect(initBackend('wasm')).resolves.toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(await smallResult()).toBe(10);
    const features = await wasmFeatures();
    expect(typeof features.simd).toBe('boolean');
  });

  it("'auto' skips the absent libtensorflow backends and lands on wasm here", async () => {
    const skipped: string[] = [];
    await expect(initBackend('auto', { onSkip: (b) => skipped.push(b) })).resolves.toBe('wasm');
    expect(skipped).toEqual(['tensorflow-gpu', 'tensorflow']);
  });

  it('an absent tfjs-node gives the install message (real absence)', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(
      /@tensorflow\/tfjs-node is not installed\. Install it in your app with `npm i @tensorflow\/tfjs-node@\^4\.22\.0`/,
    );
    await expect(initBackend('tensorflow-gpu')).rejects.toThrow(
      /tfjs-node-gpu is not installed.*CUDA/,
    );
  });

  it('a tfjs-node that fails to load is reported as such (simulated)', async () => {
    const load = (s: string) => {
      if (s === '@tensorflow/tfjs-node')
        throw new Error('libtensorflow.so.2: cannot open shared object file');
      return undefined;
    };
    const error = await initBackend('tensorflow', { load }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/failed to load: libtensorflow\.so\.2/);
  });

  it('a package that registers no backend is reported (simulated)', async () => {
    await expect(initBackend('tensorflow', { load: () => ({}) })).rejects.toThrow(
      /registered no 'tensorflow' backend/,
    );
  });

  it('rejects unknown names listing the valid ones', async () => {
    await expect(initBackend('gpu' as never)).rejects.toThrow(
      `unknown backend 'gpu': expected one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}`,
    );
  });

  it('refuses webgl in Node with a sentence (webgpu in Node: node/webgpu.test.ts)', async () => {
    await expect(initBackend('webgl')).rejects.toThrow(
      "initBackend('webgl'): WebGL needs a browser (a canvas with a GPU context); in Node use 'tensorflow-gpu' for a GPU, or 'wasm'",
    );
  });

  it('probes which backend packages are installed', () => {
    const probes = probeBackends();
    expect(probes.map((p) => [p.backend, p.installed])).toEqual([
      ['tensorflow-gpu', false],
      ['tensorflow', false],
      ['wasm', true],
      ['cpu', true],
    ]);
    expect(probes[2].version).toBe('4.22.0');
  });
});

describe('probeBackends wasm features', () => {
  it('reports SIMD as the engine validates a SIMD module, and aliases name/available', () => {
    const wasm = probeBackends().find((p) => p.backend === 'wasm');
    expect(wasm?.name).toBe('wasm');
    expect(wasm?.available).toBe(true);
    // Node 20's V8 supports wasm SIMD; tfjs's Node wasm build runs single-threaded.
    expect(wasm?.wasm).toEqual({ simd: true, threads: false });
  });
});
