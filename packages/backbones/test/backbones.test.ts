import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRegistry, createRng } from '@supcon/core';
import {
  backbonesPlugin,
  countTrainableParams,
  createContrastiveModel,
  mlp,
  projectionHead,
  registerBackboneLayers,
  resnet,
  smallCnn,
  smallResNet,
} from '../src/index';

beforeAll(() => tf.setBackend('cpu'));

describe('resnet', () => {
  // torchvision: resnet18 11,689,512 - fc 513,000 = 11,176,512; CIFAR stem swaps the 7x7x3x64 conv
  // (9,408) for 3x3x3x64 (1,728): 11,168,832. resnet50: 25,557,032 - 2,049,000 = 23,508,032.
  it('ResNet-18 with the CIFAR stem has 11,168,832 parameters and 512 features', () => {
    const m = resnet({ depth: 18, stem: 'cifar', inputShape: [32, 32, 3], initializer: 'zeros' });
    expect(countTrainableParams(m)).toBe(11_168_832);
    expect(m.outputs[0].shape).toEqual([null, 512]);
    m.dispose();
  });

  it('ResNet-18 with the ImageNet stem has 11,176,512 parameters', () => {
    const m = resnet({
      depth: 18,
      stem: 'imagenet',
      inputShape: [64, 64, 3],
      initializer: 'zeros',
    });
    expect(countTrainableParams(m)).toBe(11_176_512);
    m.dispose();
  });

  it('ResNet-50 has 23,508,032 parameters and 2048 features; ResNet-34 21,284,672', () => {
    const m = resnet({
      depth: 50,
      stem: 'imagenet',
      inputShape: [64, 64, 3],
      initializer: 'zeros',
    });
    expect(countTrainableParams(m)).toBe(23_508_032);
    expect(m.outputs[0].shape).toEqual([null, 2048]);
    m.dispose();
    // torchvision resnet34 21,797,672 - 513,000
    const m34 = resnet({
      depth: 34,
      stem: 'imagenet',
      inputShape: [64, 64, 3],
      initializer: 'zeros',
    });
    expect(countTrainableParams(m34)).toBe(21_284_672);
    m34.dispose();
  });

  it('widthMultiplier scales the widths and the feature size', () => {
    const m = resnet({ depth: 18, stem: 'cifar', inputShape: [16, 16, 3], widthMultiplier: 0.5 });
    expect(m.outputs[0].shape).toEqual([null, 256]);
    m.dispose();
  });

  it('checks its options', () => {
    expect(() => resnet({ depth: 20 as never, inputShape: [32, 32, 3] })).toThrow(
      /depth must be 18, 34, 50 or 101, got 20/,
    );
    expect(() => resnet({ depth: 18, inputShape: [32, 32] })).toThrow(
      /inputShape must be \[height, width, channels\].*got \[32, 32\]/,
    );
  });
});

describe('small encoders and heads', () => {
  it('smallCnn, smallResNet and mlp produce features of the stated size', () => {
    const a = smallCnn({ inputShape: [28, 28, 1] });
    const b = smallResNet({ inputShape: [28, 28, 1] });
    const c = mlp({ inputShape: [28, 28, 1], hidden: [64, 32] });
    const x = tf.zeros([2, 28, 28, 1]);
    for (const [m, dim] of [
      [a, 128],
      [b, 128],
      [c, 32],
    ] as const) {
      const y = m.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([2, dim]);
      y.dispose();
      m.dispose();
    }
    x.dispose();
  });

  it('the projection head ends on the unit sphere', () => {
    const head = projectionHead({ type: 'mlp', inputDim: 8, hidden: 16, dim: 4 });
    const z = head.predict(tf.randomNormal([5, 8], 0, 3, 'float32', 1)) as tf.Tensor2D;
    const norms = tf.norm(z, 'euclidean', 1).arraySync() as number[];
    norms.forEach((n) => expect(n).toBeCloseTo(1, 5));
    expect(countTrainableParams(head)).toBe(8 * 16 + 16 + 16 * 4 + 4);
    tf.dispose(z);
    head.dispose();
  });
});

describe('encoder + head', () => {
  it('shares weights: a training step on the composed model changes the encoder', () => {
    const encoder = smallCnn({ inputShape: [8, 8, 1], channels: [4, 8] });
    const head = projectionHead({ type: 'linear', inputDim: 8, dim: 4 });
    const { model } = createContrastiveModel(encoder, head);
    const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 3);
    const before = (encoder.predict(x) as tf.Tensor).arraySync();
    const opt = tf.train.sgd(0.5);
    opt.minimize(
      () => tf.mean(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
      false,
      model.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    const after = (encoder.predict(x) as tf.Tensor).arraySync();
    expect(after).not.toEqual(before);
    expect(model.trainableWeights.length).toBe(
      encoder.trainableWeights.length + head.trainableWeights.length,
    );
  });

  it('saves and loads encoder and head (the custom layer deserialises after registerBackboneLayers)', async () => {
    registerBackboneLayers();
    const head = projectionHead({ type: 'mlp', inputDim: 6, dim: 3 });
    let saved: tf.io.ModelArtifacts | undefined;
    await head.save(
      tf.io.withSaveHandler(
        async (a) => (
          (saved = a),
          { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
        ),
      ),
    );
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const x = tf.randomNormal([3, 6], 0, 1, 'float32', 9);
    expect((loaded.predict(x) as tf.Tensor).arraySync()).toEqual(
      (head.predict(x) as tf.Tensor).arraySync(),
    );
  });
});

describe('plugin', () => {
  it('builds seeded parts: same seed, same weights; different seed, different weights', async () => {
    const registry = createRegistry([backbonesPlugin]);
    const build = (seed: number) =>
      registry.build(
        'backbone',
        { type: 'small-cnn', channels: [4, 8] },
        { rng: createRng(seed), inputShape: [8, 8, 1] },
      );
    const [a, b, c] = await Promise.all([build(1), build(1), build(2)]);
    const w = (m: tfl.LayersModel) => m.getWeights()[0].arraySync();
    expect(w(a)).toEqual(w(b));
    expect(w(a)).not.toEqual(w(c));
    const head = await registry.build(
      'head',
      { type: 'mlp', dim: 16 },
      { rng: createRng(0), inputShape: [8] },
    );
    expect(head.outputs[0].shape).toEqual([null, 16]);
    await expect(
      registry.build(
        'backbone',
        { type: 'resnet', depth: 19 },
        { rng: createRng(0), inputShape: [8, 8, 1] },
      ),
    ).rejects.toThrow(/backbone\.depth/);
    await expect(
      registry.build('backbone', { type: 'resnet' }, { rng: createRng(0) }),
    ).rejects.toThrow(/inputShape of rank 3/);
  });
});
