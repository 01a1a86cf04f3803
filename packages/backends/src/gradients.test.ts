/**
 * initBackend registers tfjs's gradients: nothing in this file does (no tfjs-layers, no
 * `register_all_gradients` import), yet after initBackend('cpu') gradients work.
 *
 * This package needs only @supcon/core's list of backend names (config.ts); core's entries also
 * load tfjs-layers (for models and checkpoints), whose Node bundle registers every gradient when
 * imported. config.ts stands in for core here, so that only initBackend can have registered them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './index';

jest.mock('@supcon/core', () => jest.requireActual('../../core/src/config'));

describe('initBackend registers tfjs gradients', () => {
  it('importing registers none; after initBackend a conv2d and a relu have gradients', async () => {
    expect(tf.getGradient('Relu')).toBeUndefined();
    expect(tf.getGradient('Conv2D')).toBeUndefined();
    await expect(initBackend('cpu')).resolves.toBe('cpu');
    const before = tf.memory().numTensors;

    const x = tf.tensor1d([-1, 2, -3, 4]);
    const dRelu = tf.grad((v: tf.Tensor) => tf.sum(tf.relu(v)))(x);
    expect(Array.from(dRelu.dataSync())).toEqual([0, 1, 0, 1]);

    // d/dfilter of sum(conv2d(ones, filter, 'same')) counts, per tap, the outputs it reaches.
    const image = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const filter = tf.ones([3, 3, 1, 1]);
    const conv = (f: tf.Tensor) => tf.sum(tf.conv2d(image, f as tf.Tensor4D, 1, 'same'));
    const dFilter = tf.grad(conv)(filter);
    expect(Array.from(dFilter.dataSync())).toEqual([9, 12, 9, 12, 16, 12, 9, 12, 9]);
    tf.dispose([x, dRelu, image, filter, dFilter]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a second call keeps them and loads nothing again', async () => {
    const relu = tf.getGradient('Relu');
    await initBackend('cpu');
    expect(tf.getGradient('Relu')).toBe(relu);
  });
});
