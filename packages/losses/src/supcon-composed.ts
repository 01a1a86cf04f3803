/**
 * The composed path of the SupCon loss: autodiff through tfjs ops, with the masks built in
 * JavaScript. Everything stays on the device (for WebGL / WebGPU, where reading the dot products
 * back for the fused path would cost more than it saves).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nonFiniteFlag, poisoned } from './finite';
import { matMulT } from './matmul';
import { sampleOfColumns } from './positives';
import type { SupConProblem } from './supcon-problem';

/** What the composed loss needs besides the problem. */
export interface ComposedLossInput {
  /** The original features `[batch, views, dim]` (checked for non-finite values). */
  features: tf.Tensor3D;
  /** `[batch * views, dim]`, view-major (normalised already where the options ask for it). */
  contrast: tf.Tensor2D;
  /** `[M, dim]` extra contrast samples (held constant: no gradient flows into them), or null. */
  memory: tf.Tensor2D | null;
  problem: SupConProblem;
}

/** `t` in the forward pass, a zero gradient in the backward pass (a stop-gradient). */
function constant<T extends tf.Tensor>(t: T): T {
  const f = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
    value: tf.clone(x as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return f(t) as T;
}

/**
 * The composed loss: the mean over the counted anchors of each anchor's loss, times
 * temperature / baseTemperature, plus the non-finite flag (NaN for NaN or ±Inf input).
 */
export function composedLoss(input: ComposedLossInput): tf.Scalar {
  const { features, contrast, memory, problem } = input;
  const { batch, views, anchors, relation, variant, denominator, temperature } = problem;
  const { counts, valid, included, scale } = problem;
  const rows = batch * views;
  const extra = memory ? memory.shape[0] : 0;
  const cols = rows + extra;
  const samples = batch + extra;
  const dim = contrast.shape[1];
  const sampleOf = sampleOfColumns(batch, views, extra);
  // Per (anchor, column): positive weight (0 at self and at left-out columns), and whether the
  // column is in the anchor's denominator.
  const positiveWeights = new Float32Array(anchors * cols);
  const denominatorInf = new Float32Array(anchors * cols);
  const withoutNegatives = new Uint8Array(anchors);
  for (let a = 0; a < anchors; a++) {
    const img = a % batch;
    let inDenominator = 0;
    for (let c = 0; c < cols; c++) {
      const k = sampleOf[c];
      let w: number;
      if (c === a) w = -1;
      else if (relation.labels) w = relation.labels[k] === relation.labels[img] ? 1 : 0;
      else w = relation.mask![img * samples + k];
      if (w > 0) positiveWeights[a * cols + c] = w;
      const z = w === 0 || (w > 0 && denominator === 'all');
      if (z) inDenominator++;
      denominatorInf[a * cols + c] = z ? 0 : -Infinity;
    }
    // Nothing to normalise over: for 'one-positive', no negatives (every p is 1; see below);
    // otherwise the anchor is not counted. A row of 0 keeps its log-sum-exp finite.
    if (inDenominator === 0) {
      denominatorInf.fill(0, a * cols, (a + 1) * cols);
      withoutNegatives[a] = 1;
    }
  }
  const anchor =
    anchors === rows ? contrast : (tf.slice(contrast, [0, 0], [anchors, dim]) as tf.Tensor2D);
  const all = memory ? (tf.concat([contrast, constant(memory)]) as tf.Tensor2D) : contrast;
  const logits = tf.div(matMulT(anchor, all), temperature);
  // Self-similarities leave every sum by selection, not by a large offset: the anchor's own
  // logit may overflow, and no finite offset stays below every logit a stable log-sum-exp
  // handles. offDiagonal has 0 there, masked -Inf (exp gives 0, and 0 weights never meet it).
  const self = new Uint8Array(anchors * cols);
  for (let a = 0; a < anchors; a++) self[a * cols + a] = 1;
  const offDiagonal = tf.where(
    tf.tensor2d(self, [anchors, cols], 'bool'),
    tf.zeros([anchors, cols]),
    logits,
  );
  // NaN or ±Inf features, or a logit beyond float32: a NaN loss and a NaN gradient.
  const flag = memory
    ? nonFiniteFlag(features, memory, offDiagonal)
    : nonFiniteFlag(features, offDiagonal);
  const s = poisoned(offDiagonal, flag);
  const logZ = tf.logSumExp(tf.add(s, tf.tensor2d(denominatorInf, [anchors, cols])), 1);
  const safeCounts = tf.tensor1d(counts.map((c) => (c > 0 ? c : 1)));
  const pos = () => tf.tensor2d(positiveWeights, [anchors, cols]);
  // log w at the positives, -Inf elsewhere (the anchor itself included), and 0 in rows without
  // positives (their loss is dropped; this keeps their log-sum-exp and its gradient finite).
  const logPositiveWeights = () => {
    const out = new Float32Array(anchors * cols);
    for (let a = 0; a < anchors; a++)
      for (let c = 0; c < cols; c++) {
        const w = positiveWeights[a * cols + c]!;
        out[a * cols + c] = w > 0 ? Math.log(w) : counts[a]! > 0 ? -Infinity : 0;
      }
    return tf.tensor2d(out, [anchors, cols]);
  };
  let perAnchor: tf.Tensor;
  if (denominator === 'one-positive') {
    // p_ip = e^{s_p} / (e^{s_p} + N_i) = sigmoid(s_p - log N_i), N_i the negatives' sum, so
    // -log p_ip = softplus(log N_i - s_p). Without negatives, p = 1: a large negative offset
    // makes the softplus 0 (value and gradient).
    const offset = tf.tensor2d(
      Float32Array.from(withoutNegatives, (w) => (w ? -1e30 : 0)),
      [anchors, 1],
    );
    const nll = tf.softplus(tf.sub(tf.add(tf.reshape(logZ, [anchors, 1]), offset), s));
    if (variant === 'out') perAnchor = tf.div(tf.sum(tf.mul(pos(), nll), 1), safeCounts);
    else perAnchor = tf.sub(tf.log(safeCounts), tf.logSumExp(tf.sub(logPositiveWeights(), nll), 1));
  } else if (variant === 'out') {
    // -(1/|P|) Σ_p w_p log softmax(s)_p = log Z - Σ_p w_p s_p / |P|.
    perAnchor = tf.sub(logZ, tf.div(tf.sum(tf.mul(pos(), s), 1), safeCounts));
  } else {
    // -log((1/|P|) Σ_p w_p softmax(s)_p) = log Z - log Σ_p exp(s_p + log w_p) + log |P|, the
    // middle term a log-sum-exp over the positives alone.
    const positiveLogits = tf.add(s, logPositiveWeights());
    perAnchor = tf.add(tf.sub(logZ, tf.logSumExp(positiveLogits, 1)), tf.log(safeCounts));
  }
  const keep = tf.tensor1d(Float32Array.from(valid));
  const total = tf.sum(tf.mul(perAnchor, keep));
  return tf.add(tf.mul(tf.div(total, included), scale), flag) as tf.Scalar;
}
