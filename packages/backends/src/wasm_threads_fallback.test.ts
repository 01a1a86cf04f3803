import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, initBackend, wasmThreadsInUse } from './index';

/** The real wasm package, but claiming a version the threaded set-up does not know. */
const load = (specifier: string): unknown => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const real = require(specifier) as Record<string, unknown>;
  return specifier === '@tensorflow/tfjs-backend-wasm' ? { ...real, version_wasm: '9.9.9' } : real;
};

describe('threaded wasm that cannot start', () => {
  it('throws by default, naming the reason and the way out', async () => {
    const failure = initBackend('wasm', { threads: 2, load });
    await expect(failure).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(initBackend('wasm', { threads: 2, load })).rejects.toThrow(
      /needs @tensorflow\/tfjs-backend-wasm 4\.22\.x, found 9\.9\.9 \(threads: 1 starts the single-threaded build/,
    );
    expect(tf.findBackend('wasm')).toBeFalsy(); // nothing was started
  });

  it('with onThreadsFallback: starts the single-threaded build and says why', async () => {
    const reasons: string[] = [];
    await expect(
      initBackend('wasm', { threads: 2, load, onThreadsFallback: (r) => reasons.push(r) }),
    ).resolves.toBe('wasm');
    expect(wasmThreadsInUse()).toBe(1);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/found 9\.9\.9/);
    // It works: a convolution on the single-threaded build.
    const y = tf.conv2d(
      tf.ones([1, 4, 4, 1]) as tf.Tensor4D,
      tf.ones([3, 3, 1, 1]) as tf.Tensor4D,
      1,
      'same',
    );
    expect(y.dataSync()[5]).toBe(9);
  });
});
