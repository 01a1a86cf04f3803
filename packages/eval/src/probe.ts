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
import { argmaxRows, confusionMatrix, perClassAccuracy, topKAccuracy } from './metrics';

/** Options of `trainLinearProbe`. */
export interface LinearProbeOptions {
  /** Passes over the training features. Default 30. */
  epochs?: number;
  /** Default 256. */
  batchSize?: number;
  /** Peak learning rate. Default 0.1 (sgd) — use ~1e-3 with adam. */
  learningRate?: number;
  /** L2 penalty `weightDecay / 2 * ||W||^2` added to the loss (bias excluded). Default 0. */
  weightDecay?: number;
  /** Default 'sgd' (with `momentum`). */
  optimizer?: 'sgd' | 'adam';
  /** SGD momentum. Default 0.9. */
  momentum?: number;
  /** 'cosine' (to 0 over all steps), 'step' (times `gamma` at each milestone) or 'constant'. Default 'cosine'. */
  schedule?: 'cosine' | 'step' | 'constant';
  /** Step-schedule milestones as fractions of the epochs. Default [0.6, 0.8]. */
  milestones?: number[];
  /** Step-schedule factor. Default 0.1. */
  gamma?: number;
  /** Feature transform fitted on the training features. Default 'l2'. */
  normalize?: FeatureNormalization;
  /** Number of classes; default max(label) + 1. */
  numClasses?: number;
}

/** A trained softmax classifier on (transformed) features. Call `dispose()` when done. */
export interface LinearProbe {
  readonly numClasses: number;
  readonly transform: FeatureTransform;
  /** `[dim, numClasses]` weights. */
  readonly weights: Tensor2D;
  /** `[numClasses]` bias. */
  readonly bias: Tensor;
  /** Mean training loss of each epoch. */
  readonly lossHistory: number[];
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

/**
 * Trains a multinomial logistic regression ("linear probe") on frozen features with its own
 * optimiser and schedule. Weights start at zero; the only randomness is the batch order, drawn
 * from `rng`, so equal seeds give equal probes.
 * @param features `[n, dim]` float features (not modified or disposed).
 * @param labels `n` integer labels in [0, numClasses).
 * @throws if shapes or labels disagree, or options are out of range.
 */
export function trainLinearProbe(
  features: Tensor2D,
  labels: ArrayLike<number>,
  rng: Rng,
  options: LinearProbeOptions = {},
): LinearProbe {
  checkFeatures(features, 'trainLinearProbe: features', labels.length);
  let maxLabel = 0;
  for (let i = 0; i < labels.length; i++) maxLabel = Math.max(maxLabel, labels[i] as number);
  const numClasses = options.numClasses ?? maxLabel + 1;
  const y = toLabelArray(labels, 'trainLinearProbe: labels', numClasses);
  const epochs = options.epochs ?? 30;
  const batchSize = options.batchSize ?? 256;
  const opt = options.optimizer ?? 'sgd';
  const lr0 = options.learningRate ?? (opt === 'adam' ? 1e-3 : 0.1);
  const wd = options.weightDecay ?? 0;
  const momentum = options.momentum ?? 0.9;
  const schedule = options.schedule ?? 'cosine';
  if (!(epochs >= 1) || !(batchSize >= 1) || !(lr0 > 0) || !(wd >= 0)) {
    throw new Error(
      `trainLinearProbe: expected epochs >= 1, batchSize >= 1, learningRate > 0, weightDecay >= 0; got ${epochs}, ${batchSize}, ${lr0}, ${wd}`,
    );
  }
  const n = y.length;
  const d = features.shape[1];
  const transform = fitFeatureTransform(features, options.normalize ?? 'l2');
  const x = applyFeatureTransform(features, transform);
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
  tf.dispose([x, yT, ...slots]);
  const weights = w as Tensor2D;
  const bias = b;
  return {
    numClasses,
    transform,
    weights,
    bias,
    lossHistory,
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
  trainTop1: number;
  perClassAccuracy: number[];
  /** Rows = true class, columns = predicted class. */
  confusionMatrix: number[][];
  /** Predicted class of each test sample. */
  predictions: number[];
  /** Mean training loss of the last epoch. */
  finalLoss: number;
}

/** Scores `[n * numClasses]` of a probe on raw features, as a plain array. */
export function probeScores(probe: LinearProbe, features: Tensor2D): Float32Array {
  const logits = probe.logits(features);
  const out = logits.dataSync() as Float32Array;
  logits.dispose();
  return out;
}

/**
 * Trains a linear probe on `trainFeatures` and reports test accuracy, per-class accuracy,
 * confusion matrix and predictions. Disposes the probe; inputs are untouched.
 */
export function evaluateLinearProbe(
  trainFeatures: Tensor2D,
  trainLabels: ArrayLike<number>,
  testFeatures: Tensor2D,
  testLabels: ArrayLike<number>,
  rng: Rng,
  options: LinearProbeOptions = {},
): LinearProbeResult {
  checkFeatures(testFeatures, 'evaluateLinearProbe: testFeatures', testLabels.length);
  const probe = trainLinearProbe(trainFeatures, trainLabels, rng, options);
  try {
    const c = probe.numClasses;
    const yTest = toLabelArray(testLabels, 'evaluateLinearProbe: testLabels', c);
    const scores = probeScores(probe, testFeatures);
    const trainScores = probeScores(probe, trainFeatures);
    const predictions = argmaxRows(scores, c);
    const confusion = confusionMatrix(predictions, yTest, c);
    return {
      top1: topKAccuracy(scores, yTest, c, 1),
      top5: topKAccuracy(scores, yTest, c, 5),
      trainTop1: topKAccuracy(trainScores, trainLabels, c, 1),
      perClassAccuracy: perClassAccuracy(confusion),
      confusionMatrix: confusion,
      predictions,
      finalLoss: probe.lossHistory[probe.lossHistory.length - 1] ?? Number.NaN,
    };
  } finally {
    probe.dispose();
  }
}
