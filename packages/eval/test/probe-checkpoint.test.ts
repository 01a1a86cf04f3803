/**
 * The default linear probe on the frozen encoder features of a trained checkpoint against the
 * committed scikit-learn figures: bench/reference/fashion-encoder-subset.* holds the 128-d
 * features of runs/fashion-mnist-repro/supcon-out-seed0 (a SupCon L_out run on full
 * Fashion-MNIST; checkpoint in the header's `source`) on the 200 train / 100 test images per class
 * of the pixel case, written by tools/dump-encoder-features.mjs; bench/probe-vs-sklearn.py fitted
 * LogisticRegression(lbfgs, C=1) on them (reference `cases.checkpoint`). Test top-1 within 0.5
 * point, the objective within 1e-5 relative and never below the minimum. Needs no dataset and no
 * checkpoint: the features are committed.
 *
 * wasm backend, like probe-fashion.test.ts: ~450 L-BFGS iterations of [2000, 128] products, about
 * a second there (several on the cpu backend's JS matMul).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { createRng } from '@supcon/core';
import { evaluateLinearProbe } from '../src';
import { CHECKPOINT_SUBSET, readCheckpointFeatures } from '../bench/checkpoint-features';
import reference from '../bench/reference/probe-sklearn.json';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('default linear probe vs scikit-learn on encoder features of a trained checkpoint', () => {
  const ref = reference.cases.checkpoint;
  const { train, test, header } = readCheckpointFeatures(CHECKPOINT_SUBSET);

  it('the committed features are the ones sklearn was fitted on', () => {
    expect(header.sha256).toBe(ref.sha256);
    expect(header.source).toEqual(ref.source);
    expect([train.n, test.n, train.dim]).toEqual([ref.trainSize, ref.testSize, ref.dim]);
    expect(header.splits.train.labels.filter((y) => y === 3)).toHaveLength(200);
    expect(header.splits.test.labels.filter((y) => y === 3)).toHaveLength(100);
  });

  it(`test top-1 within 0.5 point of sklearn's (${(100 * ref.testTop1).toFixed(1)}%), same objective`, () => {
    const xtr = tf.tensor2d(train.x, [train.n, train.dim]);
    const xte = tf.tensor2d(test.x, [test.n, test.dim]);
    const before = tf.memory().numTensors;
    const r = evaluateLinearProbe(xtr, train.y, xte, test.y, createRng(0));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xtr, xte]);
    expect(r.solver).toBe('lbfgs');
    expect(r.converged).toBe(true);
    expect(Math.abs(r.top1 - ref.testTop1)).toBeLessThanOrEqual(0.005 + 1e-9);
    expect(Math.abs(r.trainTop1 - ref.trainTop1)).toBeLessThanOrEqual(0.005 + 1e-9);
    const objective = r.objective as number;
    expect(Math.abs(objective - ref.objective) / ref.objective).toBeLessThan(1e-5);
    expect(objective).toBeGreaterThan(ref.objectiveOptimum * (1 - 1e-6));
    expect(r.finalLoss).toBeCloseTo(ref.meanTrainLoss, 4);
  }, 120_000);
});
