import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRegistry, createRng, resolveConfig } from '@supcon/core';
import { alignUniformLoss, alignUniformPlugin } from './index';

beforeAll(() => tf.setBackend('cpu'));

describe('align-uniform example plugin', () => {
  it('matches a hand-computed case', () => {
    // Two images, two views, 2-D unit vectors: image 0 views (1,0),(0,1); image 1 views (-1,0),(-1,0).
    const f = tf.tensor3d([[[1, 0], [0, 1]], [[-1, 0], [-1, 0]]]);
    // align: ||(1,-1)||^2 = 2 and 0 -> mean 1.
    // uniformity rows (order is irrelevant): (1,0),(0,1),(-1,0),(-1,0)
    // pair squared distances: (0,1)=2 (0,2)=4 (0,3)=4 (1,2)=2 (1,3)=2 (2,3)=0
    const expectedUniform = Math.log((2 * Math.exp(-4) + 2 * Math.exp(-8) + Math.exp(-4) + Math.exp(0)) / 6);
    const loss = alignUniformLoss(f);
    expect(loss.dataSync()[0]).toBeCloseTo(1 + expectedUniform, 5);
    tf.dispose([f, loss]);
  });

  it('leaks no tensors and checks shapes', () => {
    const f = tf.randomNormal([4, 2, 3]) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const loss = alignUniformLoss(f);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([f, loss]);
    const bad = tf.zeros([4, 1, 3]) as tf.Tensor3D;
    expect(() => alignUniformLoss(bad)).toThrow(/views >= 2.*\[4, 1, 3\]/);
    bad.dispose();
  });

  it('is used from a config like a built-in loss, with validated options', async () => {
    const registry = createRegistry();
    const config = resolveConfig(
      { plugins: [alignUniformPlugin], loss: { type: 'align-uniform', t: 3 }, train: { epochs: 1, batchSize: 4 } },
      registry,
    );
    expect(config.loss).toEqual({ type: 'align-uniform', alpha: 2, t: 3, weight: 1 });
    const part = await registry.build('loss', config.loss!, { rng: createRng(0) });
    expect(part.supervised).toBe(false);
    expect(() => resolveConfig({ plugins: [alignUniformPlugin], loss: { type: 'align-uniform', t: -1 }, train: { epochs: 1, batchSize: 4 } }, createRegistry())).toThrow(
      /loss\.t: expected a positive number, got -1/,
    );
  });
});
