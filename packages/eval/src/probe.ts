import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import type { Rng } from '@supcon/core';
import {
  applyFeatureTransform,
  checkFeatures,
  fitFeatureTransform,
  toLabelArray,
  type FeatureNormalization,
  type FeatureTransform,
} from './features';
import { DEFAULT_FTOL, minimizeLbfgs, type LbfgsStopReason } from './lbfgs';
import { argmaxRows, confusionMatrix, perClassAccuracy, topKAccuracy } from './metrics';
import { LinearProducts, MultinomialProblem } from './multinomial';

/** The probe's optimiser: full-batch L-BFGS (default) or minibatch SGD/Adam. */
export type LinearProbeSolver = 'lbfgs' | 'sgd';

/**
 * Options of `trainLinearProbe`. `solver` picks the optimiser. Left out, it is 'lbfgs' unless
 * options of 'sgd' only are set (`epochs`, `learningRate`, ...), then 'sgd': options written for
 * the earlier SGD-only probe keep their meaning. Options of the solver not chosen are rejected
 * (never silently ignored), as are both solvers' options without `solver`.
 *
 * `'lbfgs'` (default) minimises scikit-learn 1.2's multinomial `LogisticRegression` objective on
 * standardised features, `Σ_i logloss_i + ||W||² / (2C)` (bias unpenalised), from zero weights
 * by full-batch L-BFGS until it converges. Defaults: `C` 1, `tol` 1e-4, `ftol` 2.2e-9,
 * `maxIterations` 2000, `memory` 10, `normalize` 'standardize'. Deterministic; `rng` is unused.
 *
 * `'sgd'` is the SupContrast-style protocol (`main_linear.py`): minibatch SGD with momentum (or
 * Adam), a cosine/step/constant schedule and a fixed number of epochs, from zero weights.
 * Defaults: `epochs` 30, `batchSize` 256, `learningRate` 0.1 (1e-3 for adam), `weightDecay` 0,
 * `optimizer` 'sgd', `momentum` 0.9, `schedule` 'cosine', `milestones` [0.6, 0.8], `gamma` 0.1,
 * `normalize` 'l2'. SupContrast itself trains on unnormalised features: `normalize: 'none'`.
 */
export interface LinearProbeOptions {
  /** Default 'lbfgs' ('sgd' when only sgd options are set, see above). */
  solver?: LinearProbeSolver;
  /** Feature transform fitted on the training features. Default 'standardize' (lbfgs), 'l2' (sgd). */
  normalize?: FeatureNormalization;
  /** Number of classes; default max(label) + 1. */
  numClasses?: number;

  /** lbfgs: inverse L2 strength, as sklearn's `C`. Default 1. */
  C?: number;
  /** lbfgs: stop when the largest |gradient| entry is at most `tol` (sklearn's `tol`, L-BFGS-B's `gtol`). Default 1e-4. */
  tol?: number;
  /** lbfgs: stop when one iteration lowers the objective by at most `ftol` relative (scipy's default 2.2e-9). */
  ftol?: number;
  /**
   * lbfgs: iteration cap (sklearn's `max_iter`, whose default 100 often stops short: on 2000
   * Fashion-MNIST images sklearn and this solver need ~1100-1250 iterations). Default 2000.
   */
  maxIterations?: number;
  /** lbfgs: curvature pairs kept (scipy's `maxcor`). Default 10. */
  memory?: number;

  /** sgd: passes over the training features. Default 30. */
  epochs?: number;
  /** sgd: default 256. */
  batchSize?: number;
  /** sgd: peak learning rate. Default 0.1 (sgd) — use ~1e-3 with adam. */
  learningRate?: number;
  /** sgd: L2 penalty `weightDecay / 2 * ||W||^2` added to the mean minibatch loss (bias excluded). Default 0. */
  weightDecay?: number;
  /** sgd: default 'sgd' (with `momentum`). */
  optimizer?: 'sgd' | 'adam';
  /** sgd: momentum. Default 0.9. */
  momentum?: number;
  /** sgd: 'cosine' (to 0 over all steps), 'step' (times `gamma` at each milestone) or 'constant'. Default 'cosine'. */
  schedule?: 'cosine' | 'step' | 'constant';
  /** sgd: step-schedule milestones as fractions of the epochs. Default [0.6, 0.8]. */
  milestones?: number[];
  /** sgd: step-schedule factor. Default 0.1. */
  gamma?: number;
}

/** Why training stopped: 'gradient' / 'loss' (lbfgs converged on `tol` / `ftol`), 'maxIterations', 'lineSearch' (lbfgs found no descent step), 'epochs' (sgd). */
export type LinearProbeStopReason = LbfgsStopReason | 'epochs';

/** A trained softmax classifier on (transformed) features. Call `dispose()` when done. */
export interface LinearProbe {
  readonly solver: LinearProbeSolver;
  readonly numClasses: number;
  readonly transform: FeatureTransform;
  /** `[dim, numClasses]` weights (on transformed features). */
  readonly weights: Tensor2D;
  /** `[numClasses]` bias. */
  readonly bias: Tensor;
  /** sgd: mean minibatch loss of each epoch. lbfgs: the objective at the start and after each iteration. */
  readonly lossHistory: number[];
  /** lbfgs: L-BFGS iterations. sgd: optimiser steps (epochs × batches per epoch). */
  readonly iterations: number;
  /** lbfgs: whether `tol` or `ftol` was met. sgd: always false (it runs a fixed schedule). */
  readonly converged: boolean;
  readonly stopReason: LinearProbeStopReason;
  /** Mean training cross-entropy of the returned probe (no penalty). */
  readonly finalLoss: number;
  /** lbfgs: the minimised objective `Σ_i logloss_i + ||W||² / (2C)` of the returned probe. sgd: undefined. */
  readonly objective?: number;
  /** Training top-1 accuracy of the returned probe, in [0, 1]. */
  readonly trainTop1: number;
  /** Logits `[n, numClasses]` for raw features `[n, dim]` (the transform is applied here). */
  logits(features: Tensor2D): Tensor2D;
  dispose(): void;
}

/** Learning rate at a step under a schedule. `progress` = step / totalSteps in [0, 1]. */
export function scheduledLearningRate(
  base: number,
  schedule: 'cosine' | 'step' | 'constant',
  progress: number,
  milestones: number[] = [0.6, 0.8],
  gamma = 0.1,
): number {
  if (schedule === 'cosine') return base * 0.5 * (1 + Math.cos(Math.PI * Math.min(Math.max(progress, 0), 1)));
  if (schedule === 'step') return base * gamma ** milestones.filter((m) => progress >= m).length;
  return base;
}

const LBFGS_KEYS = ['C', 'tol', 'ftol', 'maxIterations', 'memory'] as const;
const SGD_KEYS = ['epochs', 'batchSize', 'learningRate', 'weightDecay', 'optimizer', 'momentum', 'schedule', 'milestones', 'gamma'] as const;
/** The options that apply to one solver only, with the solver. */
export const LINEAR_PROBE_SOLVER_OPTIONS: Readonly<Record<LinearProbeSolver, readonly string[]>> = { lbfgs: LBFGS_KEYS, sgd: SGD_KEYS };

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(show).join(', ')}]` : String(v));

/** The options set in `options` that apply to `solver` only. */
function givenOptionsOf(options: LinearProbeOptions, solver: LinearProbeSolver): string[] {
  return LINEAR_PROBE_SOLVER_OPTIONS[solver].filter((key) => (options as Record<string, unknown>)[key] !== undefined);
}

/**
 * The solver `options` select: `options.solver` when set; otherwise 'sgd' when only sgd options
 * are set (so configs written for the earlier SGD-only probe keep their meaning), else 'lbfgs'.
 * @throws when options of the other solver than the chosen one are set, naming them.
 */
export function resolveLinearProbeSolver(options: LinearProbeOptions, where = 'trainLinearProbe'): LinearProbeSolver {
  const lbfgs = givenOptionsOf(options, 'lbfgs');
  const sgd = givenOptionsOf(options, 'sgd');
  if (options.solver === undefined) {
    if (lbfgs.length > 0 && sgd.length > 0) {
      throw new Error(
        `${where}: options ${lbfgs.join(', ')} are for solver 'lbfgs' and ${sgd.join(', ')} for solver 'sgd': set options.solver and drop the other solver's options`,
      );
    }
    return sgd.length > 0 ? 'sgd' : 'lbfgs';
  }
  const solver = options.solver;
  if (solver !== 'lbfgs' && solver !== 'sgd') throw new Error(`${where}: options.solver: expected 'lbfgs' or 'sgd', got ${show(solver)}`);
  const wrong = solver === 'lbfgs' ? sgd : lbfgs;
  if (wrong.length > 0) {
    const other = solver === 'lbfgs' ? 'sgd' : 'lbfgs';
    throw new Error(`${where}: options.${wrong[0]} applies to solver '${other}' only, and options.solver is '${solver}': drop it or set solver: '${other}'`);
  }
  return solver;
}

/** Validates `options`; returns the solver; throws naming the first bad option. */
function checkOptions(options: LinearProbeOptions, where: string): LinearProbeSolver {
  const solver = resolveLinearProbeSolver(options, where);
  const record = options as Record<string, unknown>;
  const fail = (name: string, expected: string, value: unknown): never => {
    throw new Error(`${where}: options.${name}: expected ${expected}, got ${show(value)}`);
  };
  const num = (name: string, ok: (v: number) => boolean, expected: string, integer = false): void => {
    const v = record[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || !ok(v)) fail(name, expected, v);
  };
  num('C', (v) => v > 0, 'a positive number');
  num('tol', (v) => v >= 0, 'a number >= 0');
  num('ftol', (v) => v >= 0, 'a number >= 0');
  num('maxIterations', (v) => v >= 1, 'a positive integer', true);
  num('memory', (v) => v >= 1, 'a positive integer', true);
  num('epochs', (v) => v >= 1, 'a positive integer', true);
  num('batchSize', (v) => v >= 1, 'a positive integer', true);
  num('learningRate', (v) => v > 0, 'a positive number');
  num('weightDecay', (v) => v >= 0, 'a number >= 0');
  num('momentum', (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  num('gamma', (v) => v > 0, 'a positive number');
  num('numClasses', (v) => v >= 1, 'a positive integer', true);
  const enumOf = (name: string, values: readonly string[]): void => {
    const v = record[name];
    if (v !== undefined && !values.includes(v as string)) fail(name, `one of ${values.map(show).join(', ')}`, v);
  };
  enumOf('optimizer', ['sgd', 'adam']);
  enumOf('schedule', ['cosine', 'step', 'constant']);
  enumOf('normalize', ['none', 'l2', 'standardize']);
  const ms = options.milestones;
  if (ms !== undefined && (!Array.isArray(ms) || ms.some((m) => typeof m !== 'number' || !(m >= 0 && m <= 1)))) {
    fail('milestones', 'an array of numbers in [0, 1]', ms);
  }
  return solver;
}

interface Trained {
  weights: Tensor2D;
  bias: Tensor;
  lossHistory: number[];
  iterations: number;
  converged: boolean;
  stopReason: LinearProbeStopReason;
  finalLoss: number;
  objective?: number;
  trainTop1: number;
}

/** Full-batch L-BFGS on sklearn's multinomial objective; `x` is the transformed float32 features. */
function trainLbfgs(x: Tensor2D, y: Int32Array, numClasses: number, options: LinearProbeOptions): Trained {
  const [, d] = x.shape;
  // off the cpu backend this holds one more copy of the features (Xᵀ), see LinearProducts
  const products = new LinearProducts(x, numClasses);
  try {
    const problem = new MultinomialProblem(products, y, options.C ?? 1);
    const result = minimizeLbfgs(problem, {
      tol: options.tol ?? 1e-4,
      ftol: options.ftol ?? DEFAULT_FTOL,
      maxIterations: options.maxIterations ?? 2000,
      memory: options.memory ?? 10,
    });
    const summary = problem.summary();
    const dk = d * numClasses;
    return {
      weights: tf.tensor2d(Float32Array.from(problem.theta.subarray(0, dk)), [d, numClasses]),
      bias: tf.tensor1d(Float32Array.from(problem.theta.subarray(dk))),
      lossHistory: result.history,
      iterations: result.iterations,
      converged: result.converged,
      stopReason: result.stopReason,
      finalLoss: summary.meanLoss,
      objective: summary.objective,
      trainTop1: summary.top1,
    };
  } finally {
    products.dispose();
  }
}

/** Minibatch SGD (momentum) or Adam with a schedule, SupContrast's protocol; `x` is transformed. */
function trainSgd(x: Tensor2D, y: Int32Array, numClasses: number, rng: Rng, options: LinearProbeOptions): Trained {
  const epochs = options.epochs ?? 30;
  const batchSize = options.batchSize ?? 256;
  const opt = options.optimizer ?? 'sgd';
  const lr0 = options.learningRate ?? (opt === 'adam' ? 1e-3 : 0.1);
  const wd = options.weightDecay ?? 0;
  const momentum = options.momentum ?? 0.9;
  const schedule = options.schedule ?? 'cosine';
  const n = y.length;
  const d = x.shape[1];
  const yT = tf.tensor1d(y, 'int32');
  let w: Tensor = tf.zeros([d, numClasses]);
  let b: Tensor = tf.zeros([numClasses]);
  // optimiser slots: [m_w, m_b, v_w, v_b]
  let slots: Tensor[] = [tf.zeros([d, numClasses]), tf.zeros([numClasses]), tf.zeros([d, numClasses]), tf.zeros([numClasses])];
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const totalSteps = epochs * stepsPerEpoch;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const lossHistory: number[] = [];
  let step = 0;
  const beta1 = 0.9;
  const beta2 = 0.999;
  for (let epoch = 0; epoch < epochs; epoch++) {
    rng.shuffle(order);
    let lossSum: Tensor = tf.scalar(0);
    for (let s = 0; s < stepsPerEpoch; s++) {
      const lr = scheduledLearningRate(lr0, schedule, step / totalSteps, options.milestones, options.gamma);
      const idx = order.subarray(s * batchSize, Math.min(n, (s + 1) * batchSize));
      const next = tf.tidy(() => {
        const idxT = tf.tensor1d(idx, 'int32');
        const xb = tf.gather(x, idxT);
        const yb = tf.cast(tf.oneHot(tf.gather(yT, idxT), numClasses), 'float32');
        const logits = tf.add(tf.matMul(xb, w), b);
        const logp = tf.logSoftmax(logits);
        const bs = idx.length;
        const loss = tf.div(tf.neg(tf.sum(tf.mul(yb, logp))), bs);
        const g = tf.div(tf.sub(tf.exp(logp), yb), bs);
        const gw = tf.add(tf.matMul(xb, g, true, false), tf.mul(w, wd));
        const gb = tf.sum(g, 0);
        const [mw, mb, vw, vb] = slots as [Tensor, Tensor, Tensor, Tensor];
        if (opt === 'sgd') {
          const nmw = tf.add(tf.mul(mw, momentum), gw);
          const nmb = tf.add(tf.mul(mb, momentum), gb);
          return [tf.sub(w, tf.mul(nmw, lr)), tf.sub(b, tf.mul(nmb, lr)), nmw, nmb, vw.clone(), vb.clone(), tf.add(lossSum, loss)];
        }
        const t = step + 1;
        const nmw = tf.add(tf.mul(mw, beta1), tf.mul(gw, 1 - beta1));
        const nmb = tf.add(tf.mul(mb, beta1), tf.mul(gb, 1 - beta1));
        const nvw = tf.add(tf.mul(vw, beta2), tf.mul(tf.square(gw), 1 - beta2));
        const nvb = tf.add(tf.mul(vb, beta2), tf.mul(tf.square(gb), 1 - beta2));
        const c1 = 1 - beta1 ** t;
        const c2 = 1 - beta2 ** t;
        const uw = tf.div(tf.div(nmw, c1), tf.add(tf.sqrt(tf.div(nvw, c2)), 1e-8));
        const ub = tf.div(tf.div(nmb, c1), tf.add(tf.sqrt(tf.div(nvb, c2)), 1e-8));
        return [tf.sub(w, tf.mul(uw, lr)), tf.sub(b, tf.mul(ub, lr)), nmw, nmb, nvw, nvb, tf.add(lossSum, loss)];
      });
      tf.dispose([w, b, ...slots, lossSum]);
      [w, b] = next as [Tensor, Tensor];
      slots = next.slice(2, 6);
      lossSum = next[6] as Tensor;
      step++;
    }
    lossHistory.push((lossSum.dataSync()[0] as number) / stepsPerEpoch);
    lossSum.dispose();
  }
  tf.dispose([yT, ...slots]);
  // loss and accuracy of the final weights on the whole training set
  const [lossT, correctT] = tf.tidy(() => {
    const logp = tf.logSoftmax(tf.add(tf.matMul(x, w), b));
    const picked = tf.sum(tf.mul(tf.oneHot(tf.tensor1d(y, 'int32'), numClasses), logp), 1);
    return [tf.neg(tf.sum(picked)), tf.sum(tf.cast(tf.equal(tf.argMax(logp, 1), tf.tensor1d(y, 'int32')), 'float32'))];
  });
  const finalLoss = (lossT.dataSync()[0] as number) / Math.max(n, 1);
  const trainTop1 = (correctT.dataSync()[0] as number) / Math.max(n, 1);
  tf.dispose([lossT, correctT]);
  return { weights: w as Tensor2D, bias: b, lossHistory, iterations: totalSteps, converged: false, stopReason: 'epochs', finalLoss, trainTop1 };
}

/**
 * Trains a multinomial logistic regression ("linear probe") on frozen features.
 *
 * Default (`solver: 'lbfgs'`): scikit-learn's `LogisticRegression(C=1)` on `StandardScaler`
 * features — the same objective (see `LinearProbeOptions`), minimised from zero weights by
 * full-batch L-BFGS until the largest gradient entry is at most `tol` or an iteration improves
 * the objective by at most `ftol` (relative). Products run as float32 tfjs matMuls; the iterate,
 * line search and two-loop recursion are float64. Deterministic: `rng` is not used.
 *
 * `solver: 'sgd'`: the minibatch protocol of SupContrast (momentum SGD or Adam, schedule,
 * epochs). Weights start at zero; the only randomness is the batch order, drawn from `rng`, so
 * equal seeds give equal probes.
 * @param features `[n, dim]` float features (not modified or disposed).
 * @param labels `n` integer labels in [0, numClasses).
 * @throws if shapes or labels disagree, or an option is out of range or belongs to the other solver
 *   (the message names it: `trainLinearProbe: options.C: expected a positive number, got -1`).
 *   Without `options.solver`, sgd-only options (`epochs`, ...) select 'sgd', see `LinearProbeOptions`.
 */
export function trainLinearProbe(
  features: Tensor2D,
  labels: ArrayLike<number>,
  rng: Rng,
  options: LinearProbeOptions = {},
): LinearProbe {
  const solver = checkOptions(options, 'trainLinearProbe');
  checkFeatures(features, 'trainLinearProbe: features', labels.length);
  if (labels.length === 0) throw new Error('trainLinearProbe: features has 0 rows: expected at least one training sample');
  let maxLabel = 0;
  for (let i = 0; i < labels.length; i++) maxLabel = Math.max(maxLabel, labels[i] as number);
  const numClasses = options.numClasses ?? maxLabel + 1;
  const y = toLabelArray(labels, 'trainLinearProbe: labels', numClasses);
  const d = features.shape[1];
  const transform = fitFeatureTransform(features, options.normalize ?? (solver === 'lbfgs' ? 'standardize' : 'l2'));
  const x = applyFeatureTransform(features, transform);
  let trained: Trained;
  try {
    trained = solver === 'lbfgs' ? trainLbfgs(x, y, numClasses, options) : trainSgd(x, y, numClasses, rng, options);
  } finally {
    x.dispose();
  }
  const { weights, bias } = trained;
  return {
    solver,
    numClasses,
    transform,
    weights,
    bias,
    lossHistory: trained.lossHistory,
    iterations: trained.iterations,
    converged: trained.converged,
    stopReason: trained.stopReason,
    finalLoss: trained.finalLoss,
    ...(trained.objective === undefined ? {} : { objective: trained.objective }),
    trainTop1: trained.trainTop1,
    logits(raw: Tensor2D): Tensor2D {
      checkFeatures(raw, 'LinearProbe.logits: features');
      if (raw.shape[1] !== d) {
        throw new Error(`LinearProbe.logits: features has dim ${raw.shape[1]}, the probe was trained on dim ${d}`);
      }
      return tf.tidy(() => tf.add(tf.matMul(applyFeatureTransform(raw, transform), weights), bias) as Tensor2D);
    },
    dispose(): void {
      tf.dispose([weights, bias]);
    },
  };
}

/** What `evaluateLinearProbe` returns. */
export interface LinearProbeResult {
  /** Test top-1 / top-5 accuracy in [0, 1]. */
  top1: number;
  top5: number;
  /** Training top-1 accuracy of the probe. */
  trainTop1: number;
  perClassAccuracy: number[];
  /** Rows = true class, columns = predicted class. */
  confusionMatrix: number[][];
  /** Predicted class of each test sample. */
  predictions: number[];
  /** Mean training cross-entropy of the trained probe (no penalty). */
  finalLoss: number;
  solver: LinearProbeSolver;
  /** lbfgs: iterations; sgd: optimiser steps. */
  iterations: number;
  /** lbfgs: whether `tol`/`ftol` was met; sgd: false. */
  converged: boolean;
  stopReason: LinearProbeStopReason;
  /** lbfgs only: the minimised objective `Σ_i logloss_i + ||W||² / (2C)`. */
  objective?: number;
}

/** Scores `[n * numClasses]` of a probe on raw features, as a plain array. */
export function probeScores(probe: LinearProbe, features: Tensor2D): Float32Array {
  const logits = probe.logits(features);
  const out = logits.dataSync() as Float32Array;
  logits.dispose();
  return out;
}

/**
 * Trains a linear probe on `trainFeatures` (see `trainLinearProbe`) and reports test accuracy,
 * per-class accuracy, confusion matrix, predictions and how training went. Disposes the probe;
 * inputs are untouched.
 */
export function evaluateLinearProbe(
  trainFeatures: Tensor2D,
  trainLabels: ArrayLike<number>,
  testFeatures: Tensor2D,
  testLabels: ArrayLike<number>,
  rng: Rng,
  options: LinearProbeOptions = {},
): LinearProbeResult {
  checkOptions(options, 'evaluateLinearProbe');
  checkFeatures(testFeatures, 'evaluateLinearProbe: testFeatures', testLabels.length);
  const probe = trainLinearProbe(trainFeatures, trainLabels, rng, options);
  try {
    const c = probe.numClasses;
    const yTest = toLabelArray(testLabels, 'evaluateLinearProbe: testLabels', c);
    const scores = probeScores(probe, testFeatures);
    const predictions = argmaxRows(scores, c);
    const confusion = confusionMatrix(predictions, yTest, c);
    return {
      top1: topKAccuracy(scores, yTest, c, 1),
      top5: topKAccuracy(scores, yTest, c, 5),
      trainTop1: probe.trainTop1,
      perClassAccuracy: perClassAccuracy(confusion),
      confusionMatrix: confusion,
      predictions,
      finalLoss: probe.finalLoss,
      solver: probe.solver,
      iterations: probe.iterations,
      converged: probe.converged,
      stopReason: probe.stopReason,
      ...(probe.objective === undefined ? {} : { objective: probe.objective }),
    };
  } finally {
    probe.dispose();
  }
}
