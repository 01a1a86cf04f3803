/**
 * The default linear probe on the Fashion-MNIST subset of bench/probe-vs-sklearn.py against the
 * committed scikit-learn figures (bench/reference/probe-sklearn.json): test top-1 within 0.5 point
 * and the objective within 1e-4 relative of LogisticRegression(lbfgs, C=1) on StandardScaler
 * features, and never below the objective's minimum.
 *
 * Needs Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). Runs on the wasm
 * backend: the fit takes ~1000 L-BFGS iterations (sklearn's takes 1243), i.e. ~2000 products of
 * a [2000, 784] matrix, ~10 s on wasm but minutes with the cpu backend's JS matMul. The other
 * probe tests (probe.test.ts, probe-sklearn.test.ts) run on cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { createRng } from '@supcon/core';
import { evaluateLinearProbe } from '../src';
import { encoderFeatures, fashionSubset, FASHION_MNIST_DIR, hasFashionMnist, type Split } from '../bench/fashion-subset';
import reference from '../bench/reference/probe-sklearn.json';

beforeAll(async () => {
  if (!hasFashionMnist()) throw new Error(`Fashion-MNIST not found in ${FASHION_MNIST_DIR}: apt-get install dataset-fashion-mnist`);
  await tf.setBackend('wasm');
  await tf.ready();
});

function compare(name: 'pixels' | 'encoder', train: Split, test: Split): void {
  const ref = reference.cases[name];
  const xtr = tf.tensor2d(train.x, [train.n, train.dim]);
  const xte = tf.tensor2d(test.x, [test.n, test.dim]);
  const before = tf.memory().numTensors;
  const r = evaluateLinearProbe(xtr, train.y, xte, test.y, createRng(0));
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([xtr, xte]);
  expect([train.n, test.n, train.dim]).toEqual([ref.trainSize, ref.testSize, ref.dim]);
  expect(r.converged).toBe(true);
  expect(Math.abs(r.top1 - ref.testTop1)).toBeLessThanOrEqual(0.005 + 1e-9);
  expect(r.trainTop1).toBeCloseTo(ref.trainTop1, 3);
  const objective = r.objective as number;
  expect(Math.abs(objective - ref.objective) / ref.objective).toBeLessThan(1e-4);
  expect(objective).toBeGreaterThan(ref.objectiveOptimum * (1 - 1e-6));
}

describe('default linear probe vs scikit-learn on Fashion-MNIST (200/100 per class)', () => {
  const { train, test } = hasFashionMnist() ? fashionSubset() : { train: undefined, test: undefined };
  it('raw pixels: test top-1 within 0.5 point of sklearn (81.7%), same objective', () => {
    compare('pixels', train as Split, test as Split);
  }, 300_000);

  it('fixed random ReLU encoder features (512-d, 11 dead units): same', () => {
    compare('encoder', encoderFeatures(train as Split), encoderFeatures(test as Split));
  }, 300_000);
});
