/** Triplet (Schroff et al. 2015), N-pair (Sohn 2016) and cross-entropy losses. */
import * as tf from '@tensorflow/tfjs-core';
import { assert, assertOneOf, assertRank, labelValues } from './checks';
import { emptyLoss, nonFiniteFlag, poisoned } from './finite';

export type Distance = 'euclidean' | 'squared-euclidean' | 'cosine';

/**
 * Pairwise distances `[n, n]` of rows of `x` `[n, d]`. Euclidean is sqrt(max(squared, 1e-12)).
 * All NaN (values and gradient) when a row's squared norm is not finite: NaN or ±Inf in `x`, or
 * norms above about 1.8e19, where the expansion ‖a‖² + ‖b‖² - 2a·b overflows.
 */
export function pairwiseDistances(x: tf.Tensor2D, distance: Distance = 'euclidean'): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(x), 1);
    // relu and maximum may turn NaN into a number on some backends: check before them (NaN or
    // ±Inf in x makes its squared norm NaN or Inf).
    const flag = nonFiniteFlag(sq);
    let d: tf.Tensor;
    if (distance === 'cosine') {
      const n = tf.div(x, tf.sqrt(tf.maximum(tf.expandDims(sq, 1), 1e-24)));
      d = tf.sub(1, tf.matMul(n, n, false, true));
    } else {
      const d2 = tf.relu(tf.sub(tf.add(tf.expandDims(sq, 1), tf.expandDims(sq, 0)), tf.mul(2, tf.matMul(x, x, false, true))));
      d = distance === 'squared-euclidean' ? d2 : tf.sqrt(tf.maximum(d2, 1e-12));
    }
    return poisoned(d, flag) as tf.Tensor2D;
  });
}

export interface TripletOptions {
  /** Default 0.2. */
  margin?: number;
  /** Default 'all'. */
  mining?: 'all' | 'hard' | 'semi-hard';
  /** Default 'euclidean'. */
  distance?: Distance;
  /** For mining 'all': 'mean' over valid triplets (default) or 'mean-nonzero' over those above zero. */
  reduction?: 'mean' | 'mean-nonzero';
}

/**
 * Triplet loss of `embeddings` `[n, dim]` with int `labels` `[n]`: max(d(a,p) - d(a,n) + margin, 0).
 * 'all': every valid (a, p, n) (a != p same label, n other label); 'hard': per anchor the farthest
 * positive and nearest negative, mean over anchors having both; 'semi-hard': per positive pair the
 * nearest negative farther than the positive, else the farthest negative (TensorFlow Addons),
 * mean over positive pairs. 0 when nothing is valid, and exactly 0 for an empty batch on every
 * backend. NaN, with a NaN gradient, when `embeddings` holds NaN or ±Inf, or when a squared norm
 * or distance overflows float32 (norms above about 1.8e19, see {@link pairwiseDistances}).
 */
export function tripletLoss(embeddings: tf.Tensor2D, labels: tf.Tensor1D, options: TripletOptions = {}): tf.Scalar {
  const fn = 'tripletLoss';
  assertRank(embeddings, 2, fn, 'embeddings', '[n, dim]');
  const { margin = 0.2, mining = 'all', distance = 'euclidean', reduction = 'mean' } = options;
  assert(Number.isFinite(margin) && margin >= 0, fn, `options.margin must be a number >= 0, got ${margin}`);
  assertOneOf(mining, ['all', 'hard', 'semi-hard'], fn, 'options.mining');
  assertOneOf(distance, ['euclidean', 'squared-euclidean', 'cosine'], fn, 'options.distance');
  assertOneOf(reduction, ['mean', 'mean-nonzero'], fn, 'options.reduction');
  const n = embeddings.shape[0];
  const l = labelValues(labels, fn, n);
  if (n === 0) return emptyLoss(embeddings);
  const posMask = new Float32Array(n * n);
  const negMask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      if (l[i] === l[j]) posMask[i * n + j] = 1;
      else negMask[i * n + j] = 1;
    }
  }
  return tf.tidy(() => {
    const raw = pairwiseDistances(embeddings, distance);
    // Added to the result: NaN whatever the mining below does with NaN (relu, max, min).
    const flag = nonFiniteFlag(raw);
    const d = poisoned(raw, flag);
    const pos = tf.tensor2d(posMask, [n, n]);
    const neg = tf.tensor2d(negMask, [n, n]);
    if (mining === 'all') {
      const valid = tf.mul(tf.expandDims(pos, 2), tf.expandDims(neg, 1)); // [a, p, n]
      const terms = tf.mul(tf.relu(tf.add(tf.sub(tf.expandDims(d, 2), tf.expandDims(d, 1)), margin)), valid);
      // Counts are constants (comparisons have no gradient): computed from the values.
      let count = 0;
      const rawValues = terms.dataSync();
      const validValues = valid.dataSync();
      for (let i = 0; i < rawValues.length; i++) if (validValues[i] > 0 && (reduction === 'mean' || rawValues[i] > 1e-16)) count++;
      return tf.add(tf.div(tf.sum(terms), Math.max(count, 1)), flag) as tf.Scalar;
    }
    if (mining === 'hard') {
      const hardestPos = tf.max(tf.mul(d, pos), 1);
      const big = tf.add(tf.max(d), 1);
      const hardestNeg = tf.min(tf.add(d, tf.mul(tf.sub(1, neg), big)), 1);
      const has = tf.mul(tf.cast(tf.greater(tf.sum(pos, 1), 0), 'float32'), tf.cast(tf.greater(tf.sum(neg, 1), 0), 'float32'));
      const per = tf.mul(tf.relu(tf.add(tf.sub(hardestPos, hardestNeg), margin)), has);
      return tf.add(tf.div(tf.sum(per), tf.maximum(tf.sum(has), 1)), flag) as tf.Scalar;
    }
    // semi-hard over [a, p, n]; which negatives are farther is decided on the values (no gradient).
    const dv = d.dataSync();
    const fartherMask = new Float32Array(n * n * n);
    const hasFartherMask = new Uint8Array(n * n);
    for (let a = 0; a < n; a++) {
      for (let p = 0; p < n; p++) {
        for (let k = 0; k < n; k++) {
          if (negMask[a * n + k] > 0 && dv[a * n + k] > dv[a * n + p]) {
            fartherMask[(a * n + p) * n + k] = 1;
            hasFartherMask[a * n + p] = 1;
          }
        }
      }
    }
    const farther = tf.tensor3d(fartherMask, [n, n, n]);
    const dan = tf.expandDims(d, 1);
    const big = tf.add(tf.max(d), 1);
    const nearestFarther = tf.min(tf.add(tf.mul(dan, farther), tf.mul(tf.sub(1, farther), big)), 2); // [a, p]
    const hasFarther = tf.tensor2d(hasFartherMask, [n, n], 'bool');
    const farthestNeg = tf.max(tf.mul(d, neg), 1, true); // [a, 1]
    const chosen = tf.where(hasFarther, nearestFarther, tf.broadcastTo(farthestNeg, [n, n]));
    const hasNeg = tf.cast(tf.greater(tf.sum(neg, 1, true), 0), 'float32');
    const pairs = tf.mul(pos, hasNeg);
    const per = tf.mul(tf.relu(tf.add(tf.sub(d, chosen), margin)), pairs);
    return tf.add(tf.div(tf.sum(per), tf.maximum(tf.sum(pairs), 1)), flag) as tf.Scalar;
  });
}

/**
 * N-pair loss (Sohn 2016): cross-entropy of `anchors @ positivesᵀ` with target i for row i, mean
 * over rows, plus `l2Reg * (Σ‖anchor‖² + Σ‖positive‖²) / batch` (left out when l2Reg is 0).
 * Exactly 0 for an empty batch. NaN, with a NaN gradient, when an input or a logit is NaN or ±Inf;
 * large finite logits go through a stable log-softmax.
 */
export function nPairLoss(anchors: tf.Tensor2D, positives: tf.Tensor2D, options: { l2Reg?: number } = {}): tf.Scalar {
  const fn = 'nPairLoss';
  assertRank(anchors, 2, fn, 'anchors', '[batch, dim]');
  assertRank(positives, 2, fn, 'positives', '[batch, dim]');
  assert(anchors.shape[0] === positives.shape[0] && anchors.shape[1] === positives.shape[1], fn, `anchors [${anchors.shape.join(', ')}] and positives [${positives.shape.join(', ')}] must have the same shape`);
  const { l2Reg = 0 } = options;
  assert(Number.isFinite(l2Reg) && l2Reg >= 0, fn, `options.l2Reg must be a number >= 0, got ${l2Reg}`);
  const b = anchors.shape[0];
  if (b === 0) return emptyLoss(anchors, positives);
  return tf.tidy(() => {
    const raw = tf.matMul(anchors, positives, false, true);
    const flag = nonFiniteFlag(anchors, positives, raw);
    const logProb = tf.logSoftmax(poisoned(raw, flag));
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(tf.eye(b), logProb), 1)));
    // Skipped at l2Reg 0: huge finite norms would make it Inf and Inf · 0 NaN.
    const loss = l2Reg > 0 ? tf.add(ce, tf.mul(tf.div(tf.add(tf.sum(tf.square(anchors)), tf.sum(tf.square(positives))), b), l2Reg)) : ce;
    return tf.add(loss, flag) as tf.Scalar;
  });
}

/**
 * Cross-entropy of `logits` `[batch, classes]` with int labels, label smoothing e: target
 * (1-e)·onehot + e/C; mean over rows through a stable log-softmax (large finite logits are fine).
 * Exactly 0 for an empty batch. NaN, with a NaN gradient, when a logit is NaN or ±Inf.
 */
export function crossEntropyLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, options: { labelSmoothing?: number } = {}): tf.Scalar {
  const fn = 'crossEntropyLoss';
  assertRank(logits, 2, fn, 'logits', '[batch, classes]');
  const { labelSmoothing = 0 } = options;
  assert(labelSmoothing >= 0 && labelSmoothing < 1, fn, `options.labelSmoothing must be in [0, 1), got ${labelSmoothing}`);
  const [b, c] = logits.shape;
  const l = labelValues(labels, fn, b);
  const target = new Float32Array(b * c).fill(labelSmoothing / c);
  l.forEach((y, i) => {
    assert(y >= 0 && y < c, fn, `labels[${i}] = ${y} is outside 0..${c - 1} (logits has ${c} classes)`);
    target[i * c + y] += 1 - labelSmoothing;
  });
  if (b === 0) return emptyLoss(logits);
  return tf.tidy(() => {
    const flag = nonFiniteFlag(logits);
    const logProb = tf.logSoftmax(poisoned(logits, flag));
    return tf.add(tf.neg(tf.mean(tf.sum(tf.mul(tf.tensor2d(target, [b, c]), logProb), 1))), flag) as tf.Scalar;
  });
}
