import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers'; // also registers tfjs's stock gradients
// @supcon/backends is a devDependency of this package, for its wasm kernels in these tests only:
// the package itself does not depend on it (the op and the kernels meet by name).
import { registerWasmTrainingKernels } from '@supcon/backends';
import { createRng } from '@supcon/core';
import { BatchNorm, batchNormTraining, registerBackboneLayers } from '../src/index';

type Backend = 'cpu' | 'wasm';
const BACKENDS: Backend[] = ['cpu', 'wasm'];
const WEIGHT_ORDER = ['gamma', 'beta', 'moving_mean', 'moving_variance'];

async function useBackend(backend: Backend): Promise<void> {
  await tf.setBackend(backend);
  await tf.ready();
  if (backend === 'wasm') registerWasmTrainingKernels();
  expect(tf.getBackend()).toBe(backend);
}

/** Seeded pseudo-random floats in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Channels-last input with a different mean and spread per channel. */
function inputValues(shape: number[], seed: number): Float32Array {
  const c = shape[shape.length - 1]!;
  const v = rand(sizeOf(shape), seed);
  for (let i = 0; i < v.length; i++) {
    const ch = i % c;
    v[i] = v[i]! * (0.5 + (ch % 5) * 0.4) + ((ch % 7) - 3) * 0.7;
  }
  return v;
}

interface Params {
  gamma: Float32Array;
  beta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}
function params(c: number, seed: number): Params {
  const [a, b, m, v] = [0, 1, 2, 3].map((k) => rand(c, seed * 31 + k + 1));
  return {
    gamma: a!.map((t) => 1 + 0.5 * t),
    beta: b!.map((t) => 0.8 * t),
    movingMean: m!.map((t) => 0.3 * t),
    movingVariance: v!.map((t) => 0.6 + 0.5 * Math.abs(t)),
  };
}

/** The layer's weights, in its own order, from `p` (skipping gamma / beta when absent). */
function weightsFor(p: Params, opts: { center?: boolean; scale?: boolean } = {}): tf.Tensor[] {
  const out: Float32Array[] = [];
  if (opts.scale !== false) out.push(p.gamma);
  if (opts.center !== false) out.push(p.beta);
  out.push(p.movingMean, p.movingVariance);
  return out.map((a) => tf.tensor1d(a));
}

function setParams(
  layer: tfl.layers.Layer,
  p: Params,
  opts: { center?: boolean; scale?: boolean } = {},
): void {
  const w = weightsFor(p, opts);
  layer.setWeights(w);
  tf.dispose(w);
}

/** A built BatchNorm and a built tfjs-layers batchNormalization with the same weights. */
function makePair(
  shape: number[],
  p: Params,
  opts: { momentum: number; epsilon: number },
): { ours: BatchNorm; ref: tfl.layers.Layer } {
  const ours = new BatchNorm(opts);
  const ref = tfl.layers.batchNormalization({ axis: -1, ...opts });
  for (const layer of [ours, ref]) {
    layer.build(shape);
    setParams(layer, p);
  }
  return { ours, ref };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Norm-wise relative closeness: max|actual − expected| ≤ rtol · max|expected|. */
function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  what: string,
): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  const scale = Math.max(maxAbs(expected), 1e-12);
  if (!(worst <= rtol * scale)) {
    throw new Error(
      `${what}: max abs error ${worst} > ${rtol} × ${scale} (relative ${worst / scale})`,
    );
  }
}

/** Frees a layer's variables (Layer.dispose only works on layers wired into a model). */
function disposeLayer(layer: tfl.layers.Layer): void {
  layer.weights.forEach((w) => w.dispose());
}

const read = (t: tf.Tensor) => Array.from(t.dataSync());
const weightValues = (layer: tfl.layers.Layer) => layer.getWeights().map((w) => read(w));
const apply = (layer: tfl.layers.Layer, x: tf.Tensor, training?: boolean) =>
  (training === undefined ? layer.apply(x) : layer.apply(x, { training })) as tf.Tensor;

/** Float64 reference of training-mode batch norm over every axis but the last. */
function referenceTraining(
  x: Float32Array,
  c: number,
  gamma: Float32Array | undefined,
  beta: Float32Array | undefined,
  epsilon: number,
): { y: Float64Array; mean: Float64Array; variance: Float64Array } {
  const rows = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c] += x[i]! / rows;
  for (let i = 0; i < x.length; i++) variance[i % c] += (x[i]! - mean[i % c]!) ** 2 / rows;
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = i % c;
    y[i] =
      ((x[i]! - mean[ch]!) / Math.sqrt(variance[ch]! + epsilon)) * (gamma ? gamma[ch]! : 1) +
      (beta ? beta[ch]! : 0);
  }
  return { y, mean, variance };
}

/** Gradients of sum(layer(x, training) · w) w.r.t. x and the layer's trainable weights. */
function gradsThrough(
  layer: tfl.layers.Layer,
  x: tf.Tensor,
  w: tf.Tensor,
): { dx: number[]; dWeights: number[][] } {
  return tf.tidy(() => {
    const loss = (xx: tf.Tensor) => tf.sum(tf.mul(apply(layer, xx, true), w)) as tf.Scalar;
    const dx = tf.grad(loss)(x);
    const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    if (vars.length === 0) return { dx: read(dx), dWeights: [] };
    const { grads } = tf.variableGrads(() => loss(x), vars);
    return { dx: read(dx), dWeights: vars.map((v) => read(grads[v.name]!)) };
  });
}

const trainCases: { shape: number[]; momentum: number; epsilon: number }[] = [
  { shape: [4, 5, 6, 3], momentum: 0.9, epsilon: 1e-3 },
  { shape: [4, 5, 6, 8], momentum: 0.5, epsilon: 1e-5 },
  { shape: [4, 5, 6, 33], momentum: 0.99, epsilon: 1e-3 },
  { shape: [16, 12], momentum: 0.8, epsilon: 1e-2 },
];

describe.each(BACKENDS)('BatchNorm on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  describe('training forward matches tf.layers.batchNormalization', () => {
    it.each(trainCases)('input $shape, momentum $momentum, epsilon $epsilon', (tc) => {
      const c = tc.shape[tc.shape.length - 1]!;
      const p = params(c, c + 7);
      const xv = inputValues(tc.shape, 100 + c);
      const x = tf.tensor(xv, tc.shape);
      const { ours, ref } = makePair(tc.shape, p, tc);
      const y = apply(ours, x, true);
      const yRef = apply(ref, x, true);
      expect(y.shape).toEqual(tc.shape);
      expectClose(read(y), read(yRef), 1e-5, 'y vs tfjs');
      // and against an independent float64 computation
      const r = referenceTraining(xv, c, p.gamma, p.beta, tc.epsilon);
      expectClose(read(y), r.y, 1e-5, 'y vs float64 reference');

      // moving statistics after one training call: the same as tfjs's, and the expected average
      const [, , mm, mv] = weightValues(ours);
      const [, , mmRef, mvRef] = weightValues(ref);
      expectClose(mm!, mmRef!, 1e-5, 'moving_mean vs tfjs');
      expectClose(mv!, mvRef!, 1e-5, 'moving_variance vs tfjs');
      const k = tc.momentum;
      expectClose(
        mm!,
        p.movingMean.map((m, i) => k * m + (1 - k) * r.mean[i]!),
        1e-5,
        'moving_mean',
      );
      expectClose(
        mv!,
        p.movingVariance.map((v, i) => k * v + (1 - k) * r.variance[i]!),
        1e-5,
        'moving_variance (biased batch variance)',
      );
      // gamma and beta are left alone
      const [g, b] = weightValues(ours);
      expectClose(g!, Array.from(p.gamma), 0, 'gamma');
      expectClose(b!, Array.from(p.beta), 0, 'beta');
      tf.dispose([x, y, yRef]);
      disposeLayer(ours);
      disposeLayer(ref);
    });

    it('a second training call keeps tracking tfjs (moving averages compound)', () => {
      const shape = [3, 4, 4, 5];
      const p = params(5, 3);
      const { ours, ref } = makePair(shape, p, { momentum: 0.7, epsilon: 1e-3 });
      for (const seed of [1, 2]) {
        const x = tf.tensor(inputValues(shape, seed), shape);
        const y = apply(ours, x, true);
        const yRef = apply(ref, x, true);
        expectClose(read(y), read(yRef), 1e-5, `y, call ${seed}`);
        tf.dispose([x, y, yRef]);
      }
      const w = weightValues(ours);
      const wRef = weightValues(ref);
      w.forEach((v, i) => expectClose(v, wRef[i]!, 1e-5, `weight ${i}`));
      disposeLayer(ours);
      disposeLayer(ref);
    });
  });

  describe('inference', () => {
    it.each([
      { shape: [4, 5, 6, 33], training: undefined },
      { shape: [4, 5, 6, 8], training: false },
      { shape: [16, 12], training: false },
      { shape: [16, 12], training: undefined },
    ])('input $shape, training $training: tf.batchNorm with the moving statistics', (tc) => {
      const c = tc.shape[tc.shape.length - 1]!;
      const p = params(c, 11);
      const epsilon = 1e-3;
      const layer = new BatchNorm({ epsilon });
      layer.build(tc.shape);
      setParams(layer, p);
      const x = tf.tensor(inputValues(tc.shape, 5), tc.shape);
      const y = apply(layer, x, tc.training);
      const expected = tf.tidy(() =>
        tf.batchNorm(
          x,
          tf.tensor1d(p.movingMean),
          tf.tensor1d(p.movingVariance),
          tf.tensor1d(p.beta),
          tf.tensor1d(p.gamma),
          epsilon,
        ),
      );
      expectClose(read(y), read(expected), 1e-6, 'inference y');
      // inference does not move the statistics
      const [, , mm, mv] = weightValues(layer);
      expectClose(mm!, Array.from(p.movingMean), 0, 'moving_mean unchanged');
      expectClose(mv!, Array.from(p.movingVariance), 0, 'moving_variance unchanged');
      tf.dispose([x, y, expected]);
      disposeLayer(layer);
    });

    it('after a training call, inference matches tfjs inference (updated moving statistics)', () => {
      const shape = [4, 5, 6, 8];
      const { ours, ref } = makePair(shape, params(8, 2), { momentum: 0.6, epsilon: 1e-3 });
      const x = tf.tensor(inputValues(shape, 21), shape);
      tf.dispose([apply(ours, x, true), apply(ref, x, true)]);
      const y = apply(ours, x, false);
      const yRef = apply(ref, x, false);
      expectClose(read(y), read(yRef), 1e-5, 'inference after training');
      tf.dispose([x, y, yRef]);
      disposeLayer(ours);
      disposeLayer(ref);
    });
  });

  describe('gradients', () => {
    it.each(trainCases)('input $shape: d/dx, d/dgamma, d/dbeta match tfjs', (tc) => {
      const c = tc.shape[tc.shape.length - 1]!;
      const p = params(c, 40 + c);
      const { ours, ref } = makePair(tc.shape, p, tc);
      const x = tf.tensor(inputValues(tc.shape, 200 + c), tc.shape);
      const w = tf.tensor(rand(sizeOf(tc.shape), 300 + c), tc.shape);
      const g = gradsThrough(ours, x, w);
      const gRef = gradsThrough(ref, x, w);
      expect(g.dWeights.length).toBe(2);
      expectClose(g.dx, gRef.dx, 1e-4, 'dx');
      expectClose(g.dWeights[0]!, gRef.dWeights[0]!, 1e-4, 'dgamma');
      expectClose(g.dWeights[1]!, gRef.dWeights[1]!, 1e-4, 'dbeta');
      tf.dispose([x, w]);
      disposeLayer(ours);
      disposeLayer(ref);
    });

    it('match central finite differences on [2, 3, 3, 5]', () => {
      const shape = [2, 3, 3, 5];
      const c = 5;
      const p = params(c, 9);
      const layer = new BatchNorm({ epsilon: 1e-3 });
      layer.build(shape);
      setParams(layer, p);
      const xv = rand(sizeOf(shape), 77).map((t, i) => 1.5 * t + (i % c) * 0.5);
      const x = tf.tensor(xv, shape);
      const w = tf.tensor(rand(sizeOf(shape), 78), shape);
      const g = gradsThrough(layer, x, w);
      const lossAt = (xs: Float32Array, q: Params) =>
        tf.tidy(() => {
          setParams(layer, q);
          return tf.sum(tf.mul(apply(layer, tf.tensor(xs, shape), true), w)).dataSync()[0]!;
        });
      const h = 1e-2;
      const check = (
        analytic: number,
        plus: number,
        minus: number,
        what: string,
        scale: number,
      ) => {
        const fd = (plus - minus) / (2 * h);
        if (!(Math.abs(fd - analytic) <= 2e-2 * Math.max(Math.abs(analytic), 0.1 * scale)))
          throw new Error(`${what}: analytic ${analytic}, finite difference ${fd}`);
      };
      const dxScale = maxAbs(g.dx);
      for (const i of [0, 7, 23, 44, 61, 89]) {
        const up = xv.slice();
        const down = xv.slice();
        up[i] += h;
        down[i] -= h;
        check(g.dx[i]!, lossAt(up, p), lossAt(down, p), `dx[${i}]`, dxScale);
      }
      for (const [k, key] of [
        [0, 'gamma'],
        [1, 'beta'],
      ] as const) {
        const scale = maxAbs(g.dWeights[k]!);
        for (const ch of [0, 3, 4]) {
          const up = { ...p, [key]: p[key].slice() };
          const down = { ...p, [key]: p[key].slice() };
          up[key][ch] += h;
          down[key][ch] -= h;
          check(g.dWeights[k]![ch]!, lossAt(xv, up), lossAt(xv, down), `d${key}[${ch}]`, scale);
        }
      }
      tf.dispose([x, w]);
      disposeLayer(layer);
    });

    it.each([
      { center: false, scale: true },
      { center: true, scale: false },
      { center: false, scale: false },
    ])(
      'center $center, scale $scale: forward and d/dx match moments + tf.batchNorm autodiff',
      (opts) => {
        const shape = [4, 3, 3, 7];
        const epsilon = 1e-3;
        const p = params(7, 12);
        const layer = new BatchNorm({ ...opts, epsilon });
        layer.build(shape);
        setParams(layer, p, opts);
        const x = tf.tensor(inputValues(shape, 31), shape);
        const w = tf.tensor(rand(sizeOf(shape), 32), shape);
        // (tf.batchNorm's gradient needs explicit scale and offset tensors)
        const gamma = opts.scale ? tf.tensor1d(p.gamma) : tf.ones([7]);
        const beta = opts.center ? tf.tensor1d(p.beta) : tf.zeros([7]);
        const refForward = (xx: tf.Tensor) => {
          const { mean, variance } = tf.moments(xx, [0, 1, 2]);
          return tf.batchNorm(xx, mean, variance, beta, gamma, epsilon);
        };
        const y = apply(layer, x, true);
        const yRef = refForward(x);
        expectClose(read(y), read(yRef), 1e-5, 'y');
        const g = gradsThrough(layer, x, w);
        const dxRef = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(refForward(xx), w)))(x);
        expectClose(g.dx, read(dxRef), 1e-4, 'dx');
        expect(g.dWeights.length).toBe(Number(opts.scale) + Number(opts.center));
        if (opts.scale) {
          // dL/dgamma = Σ w · x̂ over every axis but the last
          const xhat = tf.tidy(() => {
            const { mean, variance } = tf.moments(x, [0, 1, 2]);
            return tf.sum(
              tf.mul(w, tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon)))),
              [0, 1, 2],
            );
          });
          expectClose(g.dWeights[0]!, read(xhat), 1e-4, 'dgamma');
          xhat.dispose();
        }
        if (opts.center) {
          const dBeta = tf.sum(w, [0, 1, 2]);
          expectClose(g.dWeights[g.dWeights.length - 1]!, read(dBeta), 1e-4, 'dbeta');
          dBeta.dispose();
        }
        tf.dispose([x, w, y, yRef, dxRef, gamma, beta]);
        disposeLayer(layer);
      },
    );
  });

  describe('memory', () => {
    it('a training apply and a gradient computation inside tf.tidy leave no tensors behind', () => {
      const shape = [4, 5, 6, 8];
      const layer = new BatchNorm({ momentum: 0.9 });
      layer.build(shape);
      setParams(layer, params(8, 1));
      const x = tf.tensor(inputValues(shape, 1), shape);
      const w = tf.tensor(rand(sizeOf(shape), 2), shape);
      const before = tf.memory().numTensors;
      const [y, dx, dg, db] = tf.tidy(() => {
        const loss = (xx: tf.Tensor) => tf.sum(tf.mul(apply(layer, xx, true), w)) as tf.Scalar;
        const yy = apply(layer, x, true);
        const [g, b] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
        const { grads } = tf.variableGrads(() => loss(x), [g!, b!]);
        return [yy, tf.grad(loss)(x), grads[g!.name]!, grads[b!.name]!];
      });
      expect(maxAbs(read(dx!))).toBeGreaterThan(0);
      expect(maxAbs(read(dg!))).toBeGreaterThan(0);
      tf.dispose([y!, dx!, dg!, db!]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w]);
      disposeLayer(layer);
    });

    it("tfjs's batchNormalization: a training apply outside tf.tidy leaves only its output", () => {
      const layer = tfl.layers.batchNormalization({ axis: -1 });
      layer.build([4, 3]);
      const x = tf.tensor(inputValues([4, 3], 3), [4, 3]);
      const before = tf.memory().numTensors;
      apply(layer, x, true).dispose();
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      disposeLayer(layer);
    });

    // Regression: the moving-average tensors written into the variables must be disposed, or
    // every training call outside a tf.tidy would keep two [c] tensors alive.
    it('BatchNorm: a training apply outside tf.tidy leaves only its output', () => {
      const layer = new BatchNorm();
      layer.build([4, 3]);
      const x = tf.tensor(inputValues([4, 3], 3), [4, 3]);
      const before = tf.memory().numTensors;
      apply(layer, x, true).dispose();
      const after = tf.memory().numTensors;
      x.dispose();
      disposeLayer(layer);
      expect(after).toBe(before);
    });

    it('batchNormTraining returns y, mean and variance and creates nothing else', () => {
      const x = tf.tensor(inputValues([6, 9], 4), [6, 9]);
      const gamma = tf.tensor1d(params(9, 4).gamma);
      const before = tf.memory().numTensors;
      const { y, mean, variance } = batchNormTraining(x, gamma, undefined, 1e-3);
      expect(tf.memory().numTensors).toBe(before + 3);
      const r = referenceTraining(
        x.dataSync() as Float32Array,
        9,
        params(9, 4).gamma,
        undefined,
        1e-3,
      );
      expectClose(read(mean), r.mean, 1e-5, 'mean');
      expectClose(read(variance), r.variance, 1e-5, 'variance');
      expectClose(read(y), r.y, 1e-5, 'y');
      tf.dispose([y, mean, variance]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, gamma]);
    });
  });

  describe('errors', () => {
    it('rejects bad momentum and epsilon, naming the argument', () => {
      expect(() => new BatchNorm({ momentum: 2 })).toThrow(/momentum must be in \[0, 1\], got 2/);
      expect(() => new BatchNorm({ momentum: -0.1 })).toThrow(/momentum.*-0\.1/);
      expect(() => new BatchNorm({ momentum: NaN })).toThrow(/momentum.*NaN/);
      expect(() => new BatchNorm({ epsilon: 0 })).toThrow(/epsilon must be positive, got 0/);
      expect(() => new BatchNorm({ epsilon: -1e-3 })).toThrow(/epsilon.*-0\.001/);
    });

    it('batchNormTraining rejects gamma / beta of the wrong shape, naming the argument and shape', () => {
      const x = tf.zeros([2, 3]);
      const g4 = tf.ones([4]);
      const g2d = tf.ones([1, 3]);
      const b = tf.zeros([5]);
      const before = tf.memory().numTensors;
      expect(() => batchNormTraining(x, g4 as tf.Tensor1D, undefined, 1e-3)).toThrow(
        /gamma must have shape \[3\].*got \[4\]/,
      );
      expect(() => batchNormTraining(x, g2d as unknown as tf.Tensor1D, undefined, 1e-3)).toThrow(
        /gamma must have shape \[3\].*got \[1, 3\]/,
      );
      expect(() => batchNormTraining(x, undefined, b as tf.Tensor1D, 1e-3)).toThrow(
        /beta must have shape \[3\].*got \[5\]/,
      );
      expect(() => batchNormTraining(x, undefined, undefined, 0)).toThrow(/epsilon/);
      expect(() => batchNormTraining(tf.zeros([3]), undefined, undefined, 1e-3)).toThrow(
        /rank 2 or more, got shape \[3\]/,
      );
      expect(tf.memory().numTensors).toBe(before + 1); // the rank-1 zeros above
      tf.dispose([x, g4, g2d, b]);
    });

    it('the layer rejects an input whose channel count differs from the built one', () => {
      const layer = new BatchNorm();
      layer.build([2, 3]);
      const x = tf.zeros([2, 4]);
      expect(() => layer.apply(x, { training: true })).toThrow(
        /incompatible with layer.*axis 1 of input shape to have value 3/,
      );
      x.dispose();
      disposeLayer(layer);
    });
  });
});

describe('BatchNorm weights', () => {
  beforeAll(() => useBackend('cpu'));
  const suffixes = (layer: tfl.layers.Layer) =>
    layer.weights.map((w) => w.name.replace(/_\d+$/, '').split('/').pop());

  it('gamma, beta, moving_mean, moving_variance in tfjs order; gamma and beta trainable', () => {
    const ours = new BatchNorm();
    const ref = tfl.layers.batchNormalization({ axis: -1 });
    ours.build([2, 4, 4, 6]);
    ref.build([2, 4, 4, 6]);
    expect(suffixes(ours)).toEqual(WEIGHT_ORDER);
    expect(suffixes(ours)).toEqual(suffixes(ref));
    expect(ours.trainableWeights.map((w) => w.name)).toEqual(
      ours.weights.slice(0, 2).map((w) => w.name),
    );
    expect(ours.nonTrainableWeights.length).toBe(2);
    expect(ours.weights.every((w) => w.shape.length === 1 && w.shape[0] === 6)).toBe(true);
    // default initial values: gamma 1, beta 0, moving mean 0, moving variance 1
    expect(weightValues(ours)).toEqual([1, 0, 0, 1].map((v) => Array(6).fill(v)));
    disposeLayer(ours);
    disposeLayer(ref);
  });

  it.each([
    { center: false, scale: true, names: ['gamma', 'moving_mean', 'moving_variance'] },
    { center: true, scale: false, names: ['beta', 'moving_mean', 'moving_variance'] },
    { center: false, scale: false, names: ['moving_mean', 'moving_variance'] },
  ])('center $center, scale $scale: $names, like tfjs', ({ center, scale, names }) => {
    const ours = new BatchNorm({ center, scale });
    const ref = tfl.layers.batchNormalization({ axis: -1, center, scale });
    ours.build([3, 5]);
    ref.build([3, 5]);
    expect(suffixes(ours)).toEqual(names);
    expect(suffixes(ref)).toEqual(names);
    expect(ours.trainableWeights.length).toBe(names.length - 2);
    disposeLayer(ours);
    disposeLayer(ref);
  });

  it("gammaInitializer 'zeros' starts gamma at 0 (the layer outputs beta in training)", () => {
    const layer = new BatchNorm({ gammaInitializer: 'zeros' });
    layer.build([4, 3]);
    expect(weightValues(layer)[0]).toEqual([0, 0, 0]);
    const x = tf.tensor(inputValues([4, 3], 1), [4, 3]);
    const y = apply(layer, x, true);
    expect(read(y)).toEqual(Array(12).fill(0));
    tf.dispose([x, y]);
    disposeLayer(layer);
  });

  it('an unknown channel count is rejected at build', () => {
    const layer = new BatchNorm();
    expect(() => layer.build([null, 4, null])).toThrow(/last axis of the input must be known/);
  });
});

describe('BatchNorm serialization', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    registerBackboneLayers();
  });

  async function roundTrip(
    model: tfl.LayersModel,
  ): Promise<{ loaded: tfl.LayersModel; artifacts: tf.io.ModelArtifacts }> {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
    return { loaded, artifacts: artifacts! };
  }

  it.each([
    { center: true, scale: true, gammaInitializer: 'zeros' as const },
    { center: false, scale: true, gammaInitializer: 'ones' as const },
    { center: true, scale: false, gammaInitializer: 'ones' as const },
  ])(
    'save / load round trip (center $center, scale $scale) keeps config, weights and inference',
    async (opts) => {
      const shape = [5, 6, 8];
      const input = tfl.input({ shape });
      const bn = new BatchNorm({ momentum: 0.8, epsilon: 1e-4, name: 'bn', ...opts });
      const output = tfl.layers
        .dense({ units: 3, kernelInitializer: 'ones' })
        .apply(bn.apply(input)) as tfl.SymbolicTensor;
      const model = tfl.model({ inputs: input, outputs: output });
      setParams(bn, params(8, 5), opts);
      const x = tf.tensor(inputValues([2, ...shape], 9), [2, ...shape]);
      tf.dispose(model.apply(x, { training: true }) as tf.Tensor); // move the statistics away from the initial ones

      const config = bn.getConfig();
      expect(config).toMatchObject({ momentum: 0.8, epsilon: 1e-4, ...opts });

      const { loaded, artifacts } = await roundTrip(model);
      expect(JSON.stringify(artifacts.modelTopology)).toContain('"class_name":"SupconBatchNorm"');
      const bn2 = loaded.getLayer('bn');
      expect(bn2).toBeInstanceOf(BatchNorm);
      expect(bn2.getConfig()).toMatchObject({ momentum: 0.8, epsilon: 1e-4, ...opts });
      expect(bn2.weights.map((w) => w.name.replace(/_\d+$/, '').split('/').pop())).toEqual(
        bn.weights.map((w) => w.name.replace(/_\d+$/, '').split('/').pop()),
      );
      const w1 = weightValues(bn);
      const w2 = weightValues(bn2);
      w2.forEach((v, i) => expectClose(v, w1[i]!, 0, `weight ${i}`));

      const y = model.predict(x) as tf.Tensor;
      const y2 = loaded.predict(x) as tf.Tensor;
      expectClose(read(y2), read(y), 1e-6, 'inference after load');
      // the loaded layer trains like the original (same momentum / epsilon)
      const t1 = model.apply(x, { training: true }) as tf.Tensor;
      const t2 = loaded.apply(x, { training: true }) as tf.Tensor;
      expectClose(read(t2), read(t1), 1e-5, 'training after load');
      const m1 = weightValues(bn);
      weightValues(bn2).forEach((v, i) =>
        expectClose(v, m1[i]!, 1e-6, `weight ${i} after training`),
      );
      tf.dispose([x, y, y2, t1, t2]);
      model.dispose();
      loaded.dispose();
    },
  );

  async function frozenRoundTrip(layer: tfl.layers.Layer): Promise<tfl.layers.Layer> {
    const input = tfl.input({ shape: [3] });
    const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
    layer.trainable = false;
    expect(model.trainableWeights.length).toBe(0);
    const { loaded } = await roundTrip(model);
    const out = loaded.getLayer(layer.name);
    expect(layer.getConfig()).toMatchObject({ trainable: false });
    return out;
  }

  it("tfjs's batchNormalization: trainable false survives save / load", async () => {
    const loaded = await frozenRoundTrip(tfl.layers.batchNormalization({ axis: -1 }));
    expect(loaded.trainable).toBe(false);
    expect(loaded.trainableWeights.length).toBe(0);
  });

  // Regression: the base-layer fields of the config (trainable) must reach super on load, or a
  // frozen BatchNorm would load trainable, with gamma and beta back in trainableWeights.
  it('BatchNorm: trainable false survives save / load', async () => {
    const loaded = await frozenRoundTrip(new BatchNorm());
    expect(loaded.trainable).toBe(false);
    expect(loaded.trainableWeights.length).toBe(0);
  });

  it('getConfig carries momentum, epsilon, center, scale and gammaInitializer (defaults too)', () => {
    expect(new BatchNorm().getConfig()).toMatchObject({
      momentum: 0.99,
      epsilon: 1e-3,
      center: true,
      scale: true,
      gammaInitializer: 'ones',
    });
    const c = new BatchNorm({
      momentum: 0.5,
      epsilon: 1e-5,
      center: false,
      scale: false,
      gammaInitializer: 'zeros',
      name: 'x1',
    }).getConfig();
    expect(c).toMatchObject({
      momentum: 0.5,
      epsilon: 1e-5,
      center: false,
      scale: false,
      gammaInitializer: 'zeros',
      name: 'x1',
    });
    // the config rebuilds an equivalent layer
    const again = new BatchNorm(c as never).getConfig();
    expect(again).toEqual(c);
  });
});

describe('BatchNorm on wasm runs the native kernels and agrees with cpu', () => {
  const shape = [4, 5, 6, 33];
  const c = 33;
  const p = params(c, 17);
  const xv = inputValues(shape, 18);
  const wv = rand(sizeOf(shape), 19);

  async function run(backend: Backend) {
    await useBackend(backend);
    const layer = new BatchNorm({ momentum: 0.9, epsilon: 1e-3 });
    layer.build(shape);
    setParams(layer, p);
    const x = tf.tensor(xv, shape);
    const w = tf.tensor(wv, shape);
    const profile = await tf.profile(() => {
      const y = apply(layer, x, true);
      const values = read(y);
      y.dispose();
      return values;
    });
    const g = gradsThrough(layer, x, w);
    const gradProfile = await tf.profile(() => {
      gradsThrough(layer, x, w);
      return [] as tf.Tensor[];
    });
    const weights = weightValues(layer);
    tf.dispose([x, w]);
    disposeLayer(layer);
    return {
      y: profile.result as number[],
      kernels: profile.kernelNames,
      gradKernels: gradProfile.kernelNames,
      g,
      weights,
    };
  }

  it('the kernels are registered on wasm only, used there, and give cpu values', async () => {
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(tf.getKernel('SupConBatchNormTraining', 'wasm')).toBeDefined();
    expect(tf.getKernel('SupConBatchNormTrainingGrad', 'wasm')).toBeDefined();
    expect(tf.getKernel('SupConBatchNormTraining', 'cpu')).toBeUndefined();
    expect(wasm.kernels).toContain('SupConBatchNormTraining');
    expect(wasm.gradKernels).toContain('SupConBatchNormTrainingGrad');
    expect(cpu.kernels).not.toContain('SupConBatchNormTraining');
    expect(cpu.gradKernels).not.toContain('SupConBatchNormTrainingGrad');

    expectClose(wasm.y, cpu.y, 1e-4, 'y wasm vs cpu');
    expectClose(wasm.g.dx, cpu.g.dx, 1e-4, 'dx wasm vs cpu');
    expectClose(wasm.g.dWeights[0]!, cpu.g.dWeights[0]!, 1e-4, 'dgamma wasm vs cpu');
    expectClose(wasm.g.dWeights[1]!, cpu.g.dWeights[1]!, 1e-4, 'dbeta wasm vs cpu');
    wasm.weights.forEach((v, i) =>
      expectClose(v, cpu.weights[i]!, 1e-5, `weight ${i} wasm vs cpu`),
    );
  });
});
