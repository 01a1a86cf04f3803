import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@supcon/core';
import { evaluateKnn, evaluateLinearProbe, fitFeatureTransform, knnScores, scheduledLearningRate, trainLinearProbe } from '../src';
import { clusters, useCpu } from './helpers';

beforeAll(useCpu);

describe('linear probe', () => {
  const all = clusters(4, 55, 6, 0.3, 11);
  const train = { x: all.x.slice(0, 160), y: all.y.slice(0, 160) };
  const test = { x: all.x.slice(160), y: all.y.slice(160) }; // 15 per class, disjoint from train
  it('reaches high accuracy on linearly separable features (sgd + cosine), no leaks', () => {
    const xtr = tf.tensor2d(train.x);
    const xte = tf.tensor2d(test.x);
    const before = tf.memory().numTensors;
    const r = evaluateLinearProbe(xtr, train.y, xte, test.y, createRng(1), { solver: 'sgd', epochs: 40, batchSize: 32, learningRate: 0.5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.top1).toBeGreaterThanOrEqual(0.98);
    expect(r.top5).toBe(1);
    expect(r.trainTop1).toBeGreaterThanOrEqual(0.98);
    // the confusion matrix is consistent with the predictions and per-class accuracy
    expect(r.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(test.y.length);
    r.confusionMatrix.forEach((row, c) => {
      const predictedHere = test.y.filter((y, i) => y === c && r.predictions[i] === c).length;
      expect(row[c]).toBe(predictedHere);
      expect(r.perClassAccuracy[c]).toBeCloseTo(predictedHere / 15);
    });
    tf.dispose([xtr, xte]);
  });

  it('adam + step schedule + standardize also separates the classes', () => {
    const xtr = tf.tensor2d(train.x);
    const xte = tf.tensor2d(test.x);
    const r = evaluateLinearProbe(xtr, train.y, xte, test.y, createRng(2), {
      solver: 'sgd',
      optimizer: 'adam',
      learningRate: 0.05,
      schedule: 'step',
      normalize: 'standardize',
      weightDecay: 1e-4,
      epochs: 30,
      batchSize: 32,
    });
    expect(r.top1).toBeGreaterThanOrEqual(0.98);
    tf.dispose([xtr, xte]);
  });

  it('one full-batch sgd step equals the hand-derived softmax gradient step', () => {
    // from W = 0, b = 0: p = 1/C, dW = X^T (p - Y) / n, db = mean(p - Y); momentum irrelevant at step 1
    const x = tf.tensor2d([
      [1, 2],
      [3, -1],
      [0, 1],
    ]);
    const y = [0, 1, 1];
    const probe = trainLinearProbe(x, y, createRng(0), { epochs: 1, batchSize: 3, learningRate: 0.3, schedule: 'constant', normalize: 'none' }); // sgd options alone select sgd
    const xs = [
      [1, 2],
      [3, -1],
      [0, 1],
    ];
    const expectW = [0, 1].map(() => [0, 0]);
    const expectB = [0, 0];
    xs.forEach((row, i) => {
      for (let c = 0; c < 2; c++) {
        const g = (0.5 - (y[i] === c ? 1 : 0)) / 3;
        expectB[c] = (expectB[c] as number) - 0.3 * g;
        row.forEach((v, d) => ((expectW[d] as number[])[c] = ((expectW[d] as number[])[c] as number) - 0.3 * g * v));
      }
    });
    const w = probe.weights.arraySync();
    w.forEach((row, d) => row.forEach((v, c) => expect(v).toBeCloseTo((expectW[d] as number[])[c] as number, 6)));
    Array.from(probe.bias.dataSync()).forEach((v, c) => expect(v).toBeCloseTo(expectB[c] as number, 6));
    expect(probe.lossHistory[0]).toBeCloseTo(Math.log(2), 6);
    probe.dispose();
    x.dispose();
  });

  it('is deterministic under the seed', () => {
    const xtr = tf.tensor2d(train.x);
    const a = trainLinearProbe(xtr, train.y, createRng(5), { epochs: 3, batchSize: 16 });
    const b = trainLinearProbe(xtr, train.y, createRng(5), { solver: 'sgd', epochs: 3, batchSize: 16 });
    expect(a).toMatchObject({ solver: 'sgd', iterations: 3 * 10, converged: false, stopReason: 'epochs' });
    expect(a.objective).toBeUndefined();
    expect(a.weights.arraySync()).toEqual(b.weights.arraySync());
    tf.dispose([xtr]);
    a.dispose();
    b.dispose();
  });

  it('default (lbfgs, standardised): converges, separates the classes, deterministic, no leaks', () => {
    const xtr = tf.tensor2d(train.x);
    const xte = tf.tensor2d(test.x);
    const before = tf.memory().numTensors;
    const r = evaluateLinearProbe(xtr, train.y, xte, test.y, createRng(1));
    expect(tf.memory().numTensors).toBe(before);
    expect(r).toMatchObject({ solver: 'lbfgs', converged: true, trainTop1: 1 });
    expect(['gradient', 'loss']).toContain(r.stopReason);
    expect(r.top1).toBeGreaterThanOrEqual(0.98);
    expect(r.iterations).toBeGreaterThan(0);
    // the objective includes the penalty; finalLoss is the mean cross-entropy alone
    expect(r.objective).toBeGreaterThan(r.finalLoss * train.y.length);
    const a = trainLinearProbe(xtr, train.y, createRng(1));
    const b = trainLinearProbe(xtr, train.y, createRng(99)); // rng unused by lbfgs
    expect(a.weights.arraySync()).toEqual(b.weights.arraySync());
    expect(a.transform.mode).toBe('standardize');
    // the objective decreases monotonically and ends at the reported value
    a.lossHistory.slice(1).forEach((f, i) => expect(f).toBeLessThanOrEqual(a.lossHistory[i] as number));
    expect(a.objective).toBeCloseTo(a.lossHistory[a.lossHistory.length - 1] as number, 3);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xtr, xte]);
  });

  it('lbfgs: a smaller C means smaller weights; maxIterations caps and reports non-convergence', () => {
    const xtr = tf.tensor2d(train.x);
    const norm = (p: ReturnType<typeof trainLinearProbe>): number => Math.hypot(...(p.weights.dataSync() as Float32Array));
    const strong = trainLinearProbe(xtr, train.y, createRng(0), { C: 0.01 });
    const weak = trainLinearProbe(xtr, train.y, createRng(0), { C: 10 });
    expect(norm(strong)).toBeLessThan(norm(weak));
    const capped = trainLinearProbe(xtr, train.y, createRng(0), { maxIterations: 2, tol: 0, ftol: 0 });
    expect(capped).toMatchObject({ iterations: 2, converged: false, stopReason: 'maxIterations' });
    expect(capped.lossHistory).toHaveLength(3);
    [strong, weak, capped].forEach((p) => p.dispose());
    xtr.dispose();
  });

  it('standardize follows StandardScaler: population std, std 1 for a constant dimension', () => {
    const x = tf.tensor2d([
      [1, 5, 0],
      [3, 5, 0],
      [5, 5, 0],
    ]);
    const t = fitFeatureTransform(x, 'standardize');
    expect(Array.from(t.mean ?? [])).toEqual([3, 5, 0]);
    expect(Array.from(t.std ?? [])).toEqual([Math.fround(Math.sqrt(8 / 3)), 1, 1]);
    x.dispose();
  });

  it('rejects bad options naming the option, and options of the other solver', () => {
    const x = tf.tensor2d([[1], [2]]);
    const train = (o: Parameters<typeof trainLinearProbe>[3]): unknown => trainLinearProbe(x, [0, 1], createRng(0), o);
    expect(() => train({ C: -1 })).toThrow('trainLinearProbe: options.C: expected a positive number, got -1');
    expect(() => train({ maxIterations: 2.5 })).toThrow('trainLinearProbe: options.maxIterations: expected a positive integer, got 2.5');
    expect(() => train({ tol: Number.NaN })).toThrow('options.tol: expected a number >= 0, got NaN');
    expect(() => train({ solver: 'newton' as 'lbfgs' })).toThrow(`options.solver: expected 'lbfgs' or 'sgd', got "newton"`);
    expect(() => train({ solver: 'lbfgs', epochs: 10 })).toThrow("options.epochs applies to solver 'sgd' only, and options.solver is 'lbfgs'");
    expect(() => train({ solver: 'sgd', C: 2 })).toThrow("options.C applies to solver 'lbfgs' only, and options.solver is 'sgd'");
    expect(() => train({ C: 2, tol: 1e-3, epochs: 10 })).toThrow("options C, tol are for solver 'lbfgs' and epochs for solver 'sgd': set options.solver");
    expect(() => train({ solver: 'sgd', momentum: 2 })).toThrow('options.momentum: expected a number in [0, 1], got 2');
    expect(() => train({ solver: 'sgd', schedule: 'linear' as 'step' })).toThrow(`options.schedule: expected one of "cosine", "step", "constant", got "linear"`);
    expect(() => train({ solver: 'sgd', milestones: [0.5, 2] })).toThrow('options.milestones: expected an array of numbers in [0, 1], got [0.5, 2]');
    expect(() => evaluateLinearProbe(x, [0, 1], x, [0, 1], createRng(0), { C: 0 })).toThrow('evaluateLinearProbe: options.C: expected a positive number, got 0');
    x.dispose();
  });

  it('schedules: cosine and step values by hand', () => {
    expect(scheduledLearningRate(1, 'cosine', 0)).toBe(1);
    expect(scheduledLearningRate(1, 'cosine', 0.5)).toBeCloseTo(0.5);
    expect(scheduledLearningRate(1, 'cosine', 1)).toBeCloseTo(0);
    expect(scheduledLearningRate(1, 'step', 0.59)).toBe(1);
    expect(scheduledLearningRate(1, 'step', 0.7)).toBeCloseTo(0.1);
    expect(scheduledLearningRate(1, 'step', 0.9)).toBeCloseTo(0.01);
  });

  it('rejects mismatched labels naming the argument', () => {
    const x = tf.tensor2d([[1], [2]]);
    expect(() => trainLinearProbe(x, [0], createRng(0))).toThrow(/features has 2 rows, labels has 1 entries/);
    expect(() => trainLinearProbe(x, [0, 5], createRng(0), { numClasses: 2 })).toThrow(/labels\[1\] is 5/);
    x.dispose();
  });
});

describe('weighted kNN', () => {
  it('matches a hand-computed weighted vote', () => {
    const train = tf.tensor2d([
      [1, 0],
      [0.8, 0.6],
      [0, 1],
      [-1, 0],
    ]);
    const test = tf.tensor2d([[2, 0]]); // normalised -> [1, 0]
    const before = tf.memory().numTensors;
    const { scores, k } = knnScores(train, [0, 1, 1, 0], test, { k: 3, temperature: 0.5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(k).toBe(3);
    // sims: 1, 0.8, 0, -1 -> top 3: 1 (class 0), 0.8 (class 1), 0 (class 1)
    expect(scores[0]).toBeCloseTo(Math.exp(1 / 0.5), 4);
    expect(scores[1]).toBeCloseTo(Math.exp(0.8 / 0.5) + Math.exp(0), 4);
    tf.dispose([train, test]);
  });

  it('caps k by the train size and classifies constructed clusters perfectly', () => {
    const all = clusters(5, 26, 8, 0.1, 4);
    const tr = { x: all.x.slice(0, 100), y: all.y.slice(0, 100) };
    const te = { x: all.x.slice(100), y: all.y.slice(100) };
    const xtr = tf.tensor2d(tr.x);
    const xte = tf.tensor2d(te.x);
    const r = evaluateKnn(xtr, tr.y, xte, te.y, { k: 1000, chunkSize: 7 });
    expect(r.k).toBe(100);
    expect(r.top1).toBe(1);
    expect(r.top5).toBe(1);
    tf.dispose([xtr, xte]);
  });
});
