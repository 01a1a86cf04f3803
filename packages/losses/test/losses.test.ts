import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createRegistry, createRng } from '@supcon/core';
import reference from './reference.json';
import { registerWasmTrainingKernels } from '@supcon/backends';
import { matMulT } from '../src/supcon';
import {
  crossEntropyLoss,
  lossesPlugin,
  nPairLoss,
  simclrLoss,
  supConLoss,
  tripletLoss,
} from '../src/index';
import type { SimclrOptions, SupConOptions } from '../src/index';

const value = (t: tf.Scalar) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

function randomFeatures(b: number, v: number, d: number, seed: number, scale = 1): tf.Tensor3D {
  return tf.tidy(() => {
    const x = tf.randomNormal([b, v, d], 0, 1, 'float32', seed);
    return tf.mul(tf.div(x, tf.norm(x, 'euclidean', -1, true)), scale) as tf.Tensor3D;
  });
}

/** Central finite differences of f at x, compared with tf.grad. */
function checkGradient(f: (x: tf.Tensor3D) => tf.Scalar, x: tf.Tensor3D, eps = 1e-2, tol = 2e-2) {
  const analytic = tf
    .grad(f as (x: tf.Tensor) => tf.Scalar)(x)
    .dataSync();
  const base = x.dataSync();
  for (let i = 0; i < base.length; i += Math.max(1, Math.floor(base.length / 12))) {
    const plus = base.slice();
    const minus = base.slice();
    plus[i] += eps;
    minus[i] -= eps;
    const fp = value(tf.tidy(() => f(tf.tensor3d(plus, x.shape))));
    const fm = value(tf.tidy(() => f(tf.tensor3d(minus, x.shape))));
    const numeric = (fp - fm) / (2 * eps);
    expect(Math.abs(numeric - analytic[i])).toBeLessThan(tol * Math.max(1, Math.abs(numeric)));
  }
}

for (const [backend, implementation] of [
  ['cpu', 'fused'],
  ['cpu', 'composed'],
  ['wasm', 'fused'],
  ['wasm', 'composed'],
] as const) {
  const loss = (f: tf.Tensor3D, labels: tf.Tensor1D | null, options: SupConOptions = {}) =>
    supConLoss(f, labels, { ...options, implementation });
  const simclr = (f: tf.Tensor3D, options: SimclrOptions = {}) =>
    simclrLoss(f, { ...options, implementation });
  describe(`supConLoss on ${backend}, ${implementation}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
    });

    it('matches the PyTorch SupContrast reference (values and gradients)', () => {
      for (const c of reference.cases) {
        const f = tf.tensor3d(c.features as number[][][]);
        const labels = c.labels ? tf.tensor1d(c.labels, 'int32') : null;
        const opts = {
          temperature: c.temperature,
          baseTemperature: c.baseTemperature ?? undefined,
          contrastMode: c.contrastMode as 'all' | 'one',
          noPositives: 'zero' as const,
        };
        expect(value(loss(f, labels, opts))).toBeCloseTo(c.loss, 4);
        const g = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor3D, labels, opts))(f);
        const expected = (c.grad as number[][][]).flat(2);
        g.dataSync().forEach((v, i) =>
          expect(Math.abs(v - expected[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i]))),
        );
        tf.dispose([f, labels, g].filter(Boolean) as tf.Tensor[]);
      }
    });

    it('hand-computed: two images, two views, orthogonal features', () => {
      // rows (view-major): z0=(1,0) [img0 v0], z1=(0,1) [img1 v0], z2=(1,0) [img0 v1], z3=(0,1) [img1 v1]; labels differ.
      // anchor z0 (T=1): others z1,z2,z3 with dots 0,1,0 -> p(z2) = e/(e+2); loss_i = -log(e/(e+2)) for every anchor by symmetry.
      const f = tf.tensor3d([
        [
          [1, 0],
          [1, 0],
        ],
        [
          [0, 1],
          [0, 1],
        ],
      ]);
      const expected = -Math.log(Math.E / (Math.E + 2));
      expect(value(loss(f, tf.tensor1d([0, 1], 'int32'), { temperature: 1 }))).toBeCloseTo(
        expected,
        5,
      );
      // Same labels: P(i) = {other view (dot 1), the two rows of the other image (dot 0)}.
      // out: -(1/3)[log(e/(e+2)) + 2 log(1/(e+2))]; in: -log((e + 2)/(3(e+2))) = log 3.
      const same = tf.tensor1d([0, 0], 'int32');
      expect(value(loss(f, same, { temperature: 1 }))).toBeCloseTo(
        -(Math.log(Math.E / (Math.E + 2)) + 2 * Math.log(1 / (Math.E + 2))) / 3,
        5,
      );
      expect(value(loss(f, same, { temperature: 1, variant: 'in' }))).toBeCloseTo(Math.log(3), 5);
      tf.dispose([f, same]);
    });

    it('properties: L_in <= L_out, SimCLR = SupCon without labels, baseTemperature scales, permutation invariance, mask = labels', () => {
      const f = randomFeatures(8, 2, 6, 1);
      const labels = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 3], 'int32');
      const lout = value(loss(f, labels));
      const lin = value(loss(f, labels, { variant: 'in' }));
      expect(lin).toBeLessThanOrEqual(lout + 1e-6);
      expect(value(simclr(f, { temperature: 0.2 }))).toBeCloseTo(
        value(loss(f, null, { temperature: 0.2 })),
        6,
      );
      expect(value(loss(f, labels, { baseTemperature: 0.07 }))).toBeCloseTo(lout * (0.1 / 0.07), 4);
      const perm = [3, 7, 0, 5, 1, 6, 2, 4];
      const idx = tf.tensor1d(perm, 'int32');
      const fp = tf.gather(f, idx) as tf.Tensor3D;
      const lp = tf.gather(labels, idx) as tf.Tensor1D;
      expect(value(loss(fp, lp))).toBeCloseTo(lout, 5);
      const l = labels.arraySync();
      const mask = tf.tensor2d(l.map((a) => l.map((b) => (a === b ? 1 : 0))));
      expect(value(loss(f, null, { mask }))).toBeCloseTo(lout, 6);
      tf.dispose([f, labels, idx, fp, lp, mask]);
    });

    it('anchors without positives: exclude, zero, error; one class only is valid', () => {
      const f = randomFeatures(4, 1, 3, 2);
      const labels = tf.tensor1d([0, 0, 1, 2], 'int32'); // anchors 2 and 3 have no positive with one view
      const ex = value(loss(f, labels, { noPositives: 'exclude' }));
      const zero = value(loss(f, labels, { noPositives: 'zero' }));
      expect(zero).toBeCloseTo((ex * 2) / 4, 5);
      expect(() => loss(f, labels, { noPositives: 'error' })).toThrow(
        'supConLoss: 2 of 4 anchors have no positive',
      );
      const one = tf.tensor1d([5, 5, 5, 5], 'int32');
      // One class: every other row is a positive; A(i) = P(i): out = -mean log p = log 3 + ...; finite.
      expect(Number.isFinite(value(loss(f, one)))).toBe(true);
      tf.dispose([f, labels, one]);
    });

    it('finite-difference gradients (out and in, normalize on)', () => {
      const f = randomFeatures(4, 2, 3, 3);
      const labels = tf.tensor1d([0, 1, 0, 1], 'int32');
      checkGradient((x) => loss(x, labels, { temperature: 0.5, normalize: true }), f);
      checkGradient((x) => loss(x, labels, { temperature: 0.5, variant: 'in' }), f);
      tf.dispose([f, labels]);
    });

    it('numerics: temperature 0.01 and feature norms 1e3 give finite values and gradients', () => {
      const f = randomFeatures(6, 2, 4, 4, 1e3);
      const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
      for (const variant of ['out', 'in'] as const) {
        const g = tf.grad((x: tf.Tensor) =>
          loss(x as tf.Tensor3D, labels, { temperature: 0.01, variant }),
        )(f);
        expect(g.dataSync().every(Number.isFinite)).toBe(true);
        g.dispose();
        expect(Number.isFinite(value(loss(f, labels, { temperature: 0.01, variant })))).toBe(true);
      }
      tf.dispose([f, labels]);
    });

    it('no tensor leaks, also under tf.grad', () => {
      const f = randomFeatures(5, 2, 3, 5);
      const labels = tf.tensor1d([0, 1, 0, 1, 2], 'int32');
      const before = tf.memory().numTensors;
      const result = loss(f, labels, { variant: 'in' });
      expect(tf.memory().numTensors).toBe(before + 1);
      result.dispose();
      const g = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor3D, labels))(f);
      expect(tf.memory().numTensors).toBe(before + 1);
      tf.dispose([g, f, labels]);
    });
  });
}

describe('fused and composed implementations agree', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`on ${backend}: values and gradients over variants, contrast modes, masks with weights and noPositives`, async () => {
      await tf.setBackend(backend);
      const f = randomFeatures(12, 3, 5, 21, 2);
      const labels = tf.tensor1d([0, 1, 2, 0, 1, 2, 3, 3, 4, 0, 5, 1], 'int32');
      const rng = createRng(5);
      const mask = tf.tensor2d(
        Array.from({ length: 12 }, () =>
          Array.from({ length: 12 }, () => (rng.next() < 0.3 ? rng.next() : 0)),
        ),
      );
      const cases: [tf.Tensor1D | null, SupConOptions][] = [];
      for (const variant of ['out', 'in'] as const)
        for (const contrastMode of ['all', 'one'] as const)
          for (const noPositives of ['exclude', 'zero'] as const) {
            cases.push([labels, { variant, contrastMode, noPositives, temperature: 0.3 }]);
            cases.push([
              null,
              { variant, contrastMode, noPositives, mask, temperature: 0.07, baseTemperature: 0.1 },
            ]);
            cases.push([null, { variant, contrastMode, noPositives, normalize: true }]);
          }
      for (const [l, options] of cases) {
        const run = (implementation: 'fused' | 'composed') => {
          const fn = (x: tf.Tensor) =>
            supConLoss(x as tf.Tensor3D, l, { ...options, implementation });
          const { value: v, grad } = tf.valueAndGrad(fn)(f);
          const out = { v: v.dataSync()[0], g: grad.dataSync() };
          tf.dispose([v, grad]);
          return out;
        };
        const fused = run('fused');
        const composed = run('composed');
        expect(fused.v).toBeCloseTo(composed.v, 4);
        fused.g.forEach((x, i) =>
          expect(Math.abs(x - composed.g[i])).toBeLessThan(
            1e-4 * Math.max(1, Math.abs(composed.g[i])),
          ),
        );
      }
      tf.dispose([f, labels, mask]);
    });
  }
});

describe('wasm fast path (1x1 convolution through XNNPACK)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
  });
  it('matMulT equals matMul, and supConLoss still matches the PyTorch reference with gradients', () => {
    const a = tf.randomNormal([7, 5], 0, 1, 'float32', 11) as tf.Tensor2D;
    const b = tf.randomNormal([9, 5], 0, 1, 'float32', 12) as tf.Tensor2D;
    const fast = matMulT(a, b).dataSync();
    tf.matMul(a, b, false, true)
      .dataSync()
      .forEach((v, i) => expect(fast[i]).toBeCloseTo(v, 4));
    const c = reference.cases[0];
    const f = tf.tensor3d(c.features as number[][][]);
    const labels = tf.tensor1d(c.labels!, 'int32');
    const opts = { temperature: c.temperature, noPositives: 'zero' as const };
    expect(value(supConLoss(f, labels, opts))).toBeCloseTo(c.loss, 4);
    const g = tf
      .grad((x: tf.Tensor) => supConLoss(x as tf.Tensor3D, labels, opts))(f)
      .dataSync();
    (c.grad as number[][][])
      .flat(2)
      .forEach((v, i) => expect(Math.abs(g[i] - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
    tf.dispose([a, b, f, labels]);
  });
});

describe('argument checks name the argument', () => {
  beforeAll(() => tf.setBackend('cpu'));
  it('supConLoss', () => {
    const f = randomFeatures(8, 2, 3, 6);
    expect(() => supConLoss(f, tf.tensor1d([0, 1, 2, 3, 4, 5, 6], 'int32'))).toThrow(
      'supConLoss: labels has 7 entries, features has batch 8',
    );
    expect(() => supConLoss(tf.zeros([8, 3]) as never)).toThrow(
      /features must be \[batch, views, dim\], got shape \[8, 3\]/,
    );
    expect(() => supConLoss(f, null, { temperature: 0 })).toThrow(
      'supConLoss: options.temperature must be a positive number, got 0',
    );
    expect(() => supConLoss(f, null, { variant: 'mid' as never })).toThrow(
      /options.variant must be one of 'out', 'in'/,
    );
    expect(() =>
      supConLoss(f, tf.tensor1d([0, 0, 0, 0, 1, 1, 1, 1]), { mask: tf.eye(8) as tf.Tensor2D }),
    ).toThrow(/labels or options.mask, not both/);
  });
});

describe('triplet, N-pair, cross-entropy (hand-computed)', () => {
  beforeAll(() => tf.setBackend('cpu'));
  // 1-D embeddings: a0=0, a1=1 (class 0); b0=3, b1=1.5 (class 1). Euclidean distances are |x - y|.
  const emb = () => tf.tensor2d([[0], [1], [3], [1.5]]);
  const lab = () => tf.tensor1d([0, 0, 1, 1], 'int32');

  it("mining 'all' with mean and mean-nonzero", () => {
    // Valid triplets (a,p,n) and max(d(a,p) - d(a,n) + 1, 0), margin 1:
    // a=0,p=1: n=2: 1-3+1=0 ; n=3: 1-1.5+1=0.5
    // a=1,p=0: n=2: 1-2+1=0 ; n=3: 1-0.5+1=1.5
    // a=2,p=3: n=0: 1.5-3+1=0 ; n=1: 1.5-2+1=0.5
    // a=3,p=2: n=0: 1.5-1.5+1=1 ; n=1: 1.5-0.5+1=2
    const total = 0.5 + 1.5 + 0.5 + 1 + 2;
    expect(value(tripletLoss(emb(), lab(), { margin: 1 }))).toBeCloseTo(total / 8, 5);
    expect(value(tripletLoss(emb(), lab(), { margin: 1, reduction: 'mean-nonzero' }))).toBeCloseTo(
      total / 5,
      5,
    );
    expect(
      value(tripletLoss(emb(), lab(), { margin: 1, distance: 'squared-euclidean' })),
    ).toBeCloseTo(
      [
        1 - 9 + 1,
        1 - 2.25 + 1,
        1 - 4 + 1,
        1 - 0.25 + 1,
        2.25 - 9 + 1,
        2.25 - 4 + 1,
        2.25 - 2.25 + 1,
        2.25 - 0.25 + 1,
      ]
        .map((x) => Math.max(x, 0))
        .reduce((a, b) => a + b) / 8,
      5,
    );
  });

  it("mining 'hard': farthest positive, nearest negative per anchor", () => {
    // a0: hp=1, hn=1.5 -> 0.5; a1: hp=1, hn=0.5 -> 1.5; a2: hp=1.5, hn=2 -> 0.5; a3: hp=1.5, hn=0.5 -> 2
    expect(value(tripletLoss(emb(), lab(), { margin: 1, mining: 'hard' }))).toBeCloseTo(
      (0.5 + 1.5 + 0.5 + 2) / 4,
      5,
    );
  });

  it("mining 'semi-hard': nearest farther negative, else the farthest negative (TF Addons)", () => {
    // (0,1) d=1: negatives 3, 1.5 -> both farther -> 1.5: 1-1.5+1 = 0.5
    // (1,0) d=1: negatives 2, 0.5 -> farther: 2 -> 1-2+1 = 0
    // (2,3) d=1.5: negatives 3, 2 -> farther: 2 -> 1.5-2+1 = 0.5
    // (3,2) d=1.5: negatives 1.5, 0.5 -> none farther -> farthest 1.5 -> 1.5-1.5+1 = 1
    expect(value(tripletLoss(emb(), lab(), { margin: 1, mining: 'semi-hard' }))).toBeCloseTo(
      (0.5 + 0 + 0.5 + 1) / 4,
      5,
    );
  });

  it('cosine distance and no valid triplet', () => {
    const e = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    expect(value(tripletLoss(e, tf.tensor1d([0, 1], 'int32')))).toBe(0);
  });

  it('N-pair: cross-entropy of anchors @ positivesᵀ plus l2Reg', () => {
    const a = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const p = tf.tensor2d([
      [1, 0],
      [1, 1],
    ]);
    // logits [[1,1],[0,1]]: row0 -log(e/(2e)) = log 2; row1 -log(e/(1+e))
    const ce = (Math.log(2) + Math.log((1 + Math.E) / Math.E)) / 2;
    expect(value(nPairLoss(a, p))).toBeCloseTo(ce, 5);
    expect(value(nPairLoss(a, p, { l2Reg: 0.1 }))).toBeCloseTo(ce + (0.1 * (2 + 3)) / 2, 5);
  });

  it('cross-entropy with label smoothing', () => {
    const logits = tf.tensor2d([[2, 0, 0]]);
    const logZ = Math.log(Math.exp(2) + 2);
    expect(value(crossEntropyLoss(logits, tf.tensor1d([0], 'int32')))).toBeCloseTo(logZ - 2, 5);
    // e=0.3: target [0.8, 0.1, 0.1]
    expect(
      value(crossEntropyLoss(logits, tf.tensor1d([0], 'int32'), { labelSmoothing: 0.3 })),
    ).toBeCloseTo(0.8 * (logZ - 2) + 0.2 * logZ, 5);
    expect(() => crossEntropyLoss(logits, tf.tensor1d([3], 'int32'))).toThrow(
      'crossEntropyLoss: labels[0] = 3 is outside 0..2 (logits has 3 classes)',
    );
  });

  it('finite-difference gradient of the triplet loss', () => {
    const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
    const f = (x: tf.Tensor3D) =>
      tripletLoss(tf.reshape(x, [4, 2]) as tf.Tensor2D, labels, {
        mining: 'semi-hard',
        margin: 0.5,
      });
    checkGradient(
      f,
      tf.tensor3d([[[0.1, 0.7]], [[0.9, 0.2]], [[0.4, 0.45]], [[0.8, 0.9]]]),
      1e-3,
      2e-2,
    );
  });
});

describe('plugin', () => {
  beforeAll(() => tf.setBackend('cpu'));
  it('registers every loss and computes through the LossPart interface', async () => {
    const registry = createRegistry([lossesPlugin]);
    expect(registry.list('loss')).toEqual([
      'cross-entropy',
      'npair',
      'simclr',
      'supcon-in',
      'supcon-out',
      'triplet',
    ]);
    const f = randomFeatures(4, 2, 3, 9);
    const labels = tf.tensor1d([0, 1, 0, 1], 'int32');
    const out = await registry.build(
      'loss',
      { type: 'supcon-out', temperature: 0.2 },
      { rng: createRng(0) },
    );
    expect(out.input).toBe('embeddings');
    expect(value(out.compute({ features: f, labels }))).toBeCloseTo(
      value(supConLoss(f, labels, { temperature: 0.2 })),
      6,
    );
    const simclr = await registry.build('loss', { type: 'simclr' }, { rng: createRng(0) });
    expect(simclr.supervised).toBe(false);
    for (const type of ['triplet', 'npair']) {
      const part = await registry.build('loss', { type }, { rng: createRng(0) });
      expect(Number.isFinite(value(part.compute({ features: f, labels })))).toBe(true);
    }
    await expect(
      registry.build('loss', { type: 'supcon-out', temperature: -1 }, { rng: createRng(0) }),
    ).rejects.toThrow(/loss\.temperature/);
    tf.dispose([f, labels]);
  });

  it('hands a memory bank to the losses that take one (supcon-out, supcon-in, simclr), and says which do', async () => {
    const registry = createRegistry([lossesPlugin]);
    const f = randomFeatures(4, 2, 3, 11);
    const labels = tf.tensor1d([0, 1, 0, 1], 'int32');
    const memory = {
      features: tf.tidy(() => tf.div(tf.randomNormal([5, 3], 0, 1, 'float32', 12), tf.norm(tf.randomNormal([5, 3], 0, 1, 'float32', 12), 2, 1, true))) as tf.Tensor2D,
      labels: tf.tensor1d([1, 1, 0, 2, 0], 'int32'),
    };
    for (const variant of ['out', 'in'] as const) {
      const part = await registry.build('loss', { type: `supcon-${variant}` }, { rng: createRng(0) });
      expect(part.memory).toBe(true);
      const got = value(part.compute({ features: f, labels, memory }));
      expect(got).toBeCloseTo(value(supConLoss(f, labels, { variant, memory })), 6);
      // The bank changes the loss: it was used, not dropped.
      expect(Math.abs(got - value(part.compute({ features: f, labels })))).toBeGreaterThan(1e-4);
    }
    const simclr = await registry.build('loss', { type: 'simclr' }, { rng: createRng(0) });
    expect(simclr.memory).toBe(true);
    expect(value(simclr.compute({ features: f, labels, memory }))).toBeCloseTo(
      value(simclrLoss(f, { memory: { features: memory.features } })),
      6,
    );
    for (const type of ['triplet', 'npair', 'cross-entropy']) {
      const part = await registry.build('loss', { type }, { rng: createRng(0) });
      expect(part.memory).toBeUndefined();
    }
    tf.dispose([f, labels, memory.features, memory.labels]);
  });
});
