/**
 * The L-BFGS probe against scikit-learn 1.2.1's LogisticRegression on a small case whose
 * reference weights and probabilities are committed in bench/reference/probe-sklearn.json
 * (written by bench/probe-vs-sklearn.py). The Fashion-MNIST cases are in probe-fashion.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@supcon/core';
import { trainLinearProbe } from '../src';
import { mulberry32 } from '../bench/fashion-subset';
import reference from '../bench/reference/probe-sklearn.json';
import { useCpu } from './helpers';

beforeAll(useCpu);

const small = reference.small;

describe('linear probe vs scikit-learn (small committed case)', () => {
  it('mulberry32 here reproduces the Python stream that generated the case', () => {
    const draw = mulberry32(7);
    const x = small.y.map((y) => [0, 1, 2, 3].map((j) => 2 * draw() - 1 + (j === y ? 1 : 0)).concat([2]));
    x.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo((small.x[i] as number[])[j] as number, 14)));
  });

  it('default solver, C = 0.5: the weights, probabilities and objective of sklearn at the minimum', () => {
    const x = tf.tensor2d(small.x);
    const before = tf.memory().numTensors;
    const probe = trainLinearProbe(x, small.y, createRng(0), { C: small.C });
    expect(probe.converged).toBe(true);
    // weights [dim, classes] on standardised features = sklearn's coef_ transposed; the constant column gets 0
    const w = probe.weights.arraySync();
    small.coef.forEach((row, c) => row.forEach((v, j) => expect(Math.abs(((w[j] as number[])[c] as number) - v)).toBeLessThan(2e-4)));
    Array.from(probe.bias.dataSync()).forEach((v, c) => expect(Math.abs(v - (small.intercept[c] as number))).toBeLessThan(2e-4));
    const probs = tf.tidy(() => tf.softmax(probe.logits(tf.slice(x, [0, 0], [6, -1]))));
    const p = probs.arraySync() as number[][];
    probs.dispose();
    p.forEach((row, i) => row.forEach((v, c) => expect(Math.abs(v - (small.probabilities[i] as number[])[c]!)).toBeLessThan(1e-4)));
    expect(Math.abs((probe.objective as number) - small.objective) / small.objective).toBeLessThan(1e-6);
    probe.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
