/**
 * Supervised contrastive loss (Khosla et al. 2020) and SimCLR's NT-Xent as its label-free case.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assert, assertOneOf, assertPositive, assertRank, labelValues } from './checks';

export interface SupConOptions {
  /** Default 0.1. */
  temperature?: number;
  /** Default = temperature; the loss is multiplied by temperature / baseTemperature. */
  baseTemperature?: number;
  /** 'out' (default): sum over positives outside the log (paper eq. 2); 'in': inside (eq. 3). */
  variant?: 'out' | 'in';
  /** 'all' (default): every view is an anchor; 'one': only view 0. */
  contrastMode?: 'all' | 'one';
  /** `[batch, batch]` positive mask (1 where j is a positive of i; weights allowed) instead of labels. */
  mask?: tf.Tensor2D;
  /** Anchors without positives: 'exclude' (default) from the mean, 'zero' count as 0, 'error' throws. */
  noPositives?: 'exclude' | 'zero' | 'error';
  /** L2-normalise the features first (default false: they are expected on the unit sphere). */
  normalize?: boolean;
}

/**
 * `a @ bᵀ` for `[m, d]` and `[n, d]`. On the wasm backend it runs as a 1x1 convolution, which
 * goes through XNNPACK (several times faster than the backend's BatchMatMul at these sizes, and
 * its gradients through supcon's wasm conv kernels when they are registered).
 */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm' || tf.getKernel('Conv2DBackpropFilter', 'wasm') == null) return tf.matMul(a, b, false, true);
  const [m, d] = a.shape;
  const n = b.shape[0];
  const x = tf.reshape(a, [1, 1, m, d]) as tf.Tensor4D;
  const w = tf.reshape(tf.transpose(b), [1, 1, d, n]) as tf.Tensor4D;
  return tf.reshape(tf.conv2d(x, w, 1, 'valid'), [m, n]) as tf.Tensor2D;
}

/** Added to self-similarities so they vanish from every softmax; finite so that 0 * it stays 0. */
const MASKED = 1e30;

/**
 * Builds the `[anchors, rows]` positive-weight matrix (self excluded) in JS: labels are small,
 * and this avoids an O(n²) broadcast `Equal` on the backend.
 */
function positiveMatrix(base: Float32Array, batch: number, views: number, anchors: number): Float32Array {
  const rows = batch * views;
  const out = new Float32Array(anchors * rows);
  for (let a = 0; a < anchors; a++) {
    const i = a % batch;
    for (let r = 0; r < rows; r++) {
      if (r === a) continue;
      out[a * rows + r] = base[i * batch + (r % batch)];
    }
  }
  return out;
}

/**
 * SupCon loss of `features` `[batch, views, dim]`.
 *
 * Views are stacked view-major into `[views*batch, dim]`; for anchor i, A(i) is every other row
 * and P(i) the rows of A(i) with i's label (or `mask`, tiled over views). Logits are dot products
 * divided by `temperature`. 'out': loss_i = -(1/|P(i)|) Σ_p log softmax_i(p); 'in':
 * loss_i = -log((1/|P(i)|) Σ_p softmax_i(p)). The result is the mean over anchors of loss_i times
 * temperature/baseTemperature. Without labels and mask, positives are the other views of the
 * same image (SimCLR). Stable for temperatures down to 0.01 and feature norms up to 1e3.
 * @throws naming the argument for bad shapes, dtypes or options, and for anchors without
 *   positives under `noPositives: 'error'`.
 */
export function supConLoss(features: tf.Tensor3D, labels?: tf.Tensor1D | null, options: SupConOptions = {}): tf.Scalar {
  const fn = 'supConLoss';
  assertRank(features, 3, fn, 'features', '[batch, views, dim]');
  const { temperature = 0.1, variant = 'out', contrastMode = 'all', noPositives = 'exclude', normalize = false } = options;
  const baseTemperature = options.baseTemperature ?? temperature;
  assertPositive(temperature, fn, 'options.temperature');
  assertPositive(baseTemperature, fn, 'options.baseTemperature');
  assertOneOf(variant, ['out', 'in'], fn, 'options.variant');
  assertOneOf(contrastMode, ['all', 'one'], fn, 'options.contrastMode');
  assertOneOf(noPositives, ['exclude', 'zero', 'error'], fn, 'options.noPositives');
  assert(features.dtype === 'float32', fn, `features must be float32, got ${features.dtype}`);
  const [batch, views] = features.shape;
  assert(batch >= 1 && views >= 1, fn, `features must have batch >= 1 and views >= 1, got [${features.shape.join(', ')}]`);
  assert(!(labels && options.mask), fn, 'pass labels or options.mask, not both');

  // Base positive relation over images: [batch, batch].
  const base = new Float32Array(batch * batch);
  if (options.mask) {
    assertRank(options.mask, 2, fn, 'options.mask', '[batch, batch]');
    assert(options.mask.shape[0] === batch && options.mask.shape[1] === batch, fn, `options.mask must be [${batch}, ${batch}], got [${options.mask.shape.join(', ')}]`);
    base.set(options.mask.dataSync());
  } else if (labels) {
    const l = labelValues(labels, fn, batch);
    for (let i = 0; i < batch; i++) for (let j = 0; j < batch; j++) base[i * batch + j] = l[i] === l[j] ? 1 : 0;
  } else {
    for (let i = 0; i < batch; i++) base[i * batch + i] = 1;
  }
  const anchors = contrastMode === 'all' ? batch * views : batch;
  const rows = batch * views;
  const positives = positiveMatrix(base, batch, views, anchors);
  const counts = new Float32Array(anchors);
  let without = 0;
  for (let a = 0; a < anchors; a++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += positives[a * rows + r];
    counts[a] = s;
    if (s <= 0) without++;
  }
  if (without > 0 && noPositives === 'error') {
    throw new Error(`${fn}: ${without} of ${anchors} anchors have no positive (a class seen once with one view?); use noPositives 'exclude' or 'zero'`);
  }
  const included = noPositives === 'exclude' ? anchors - without : anchors;
  if (included === 0) return tf.tidy(() => tf.mul(tf.sum(features), 0) as tf.Scalar);

  return tf.tidy(() => {
    let f: tf.Tensor3D = features;
    if (normalize) f = tf.div(f, tf.sqrt(tf.maximum(tf.sum(tf.square(f), -1, true), 1e-24))) as tf.Tensor3D;
    const dim = f.shape[2];
    const contrast = tf.reshape(tf.transpose(f, [1, 0, 2]), [rows, dim]) as tf.Tensor2D;
    const anchor = contrastMode === 'all' ? contrast : (tf.slice(contrast, [0, 0], [batch, dim]) as tf.Tensor2D);
    const logits = tf.div(matMulT(anchor, contrast), temperature);
    const self = new Float32Array(anchors * rows);
    for (let a = 0; a < anchors; a++) self[a * rows + a] = MASKED;
    const masked = tf.sub(logits, tf.tensor2d(self, [anchors, rows]));
    const logProb = tf.sub(masked, tf.logSumExp(masked, 1, true));
    const pos = tf.tensor2d(positives, [anchors, rows]);
    const safeCounts = tf.tensor1d(counts.map((c) => (c > 0 ? c : 1)));
    let perAnchor: tf.Tensor;
    if (variant === 'out') {
      perAnchor = tf.neg(tf.div(tf.sum(tf.mul(pos, logProb), 1), safeCounts));
    } else {
      // -log( (1/|P|) Σ_p w_p exp(logProb_p) ), via a log-sum-exp over positives only.
      const posLog = tf.add(logProb, tf.log(tf.maximum(pos, 1e-30)));
      const lse = tf.logSumExp(tf.sub(posLog, tf.tensor2d(positives.map((p) => (p > 0 ? 0 : MASKED)), [anchors, rows])), 1);
      perAnchor = tf.neg(tf.sub(lse, tf.log(safeCounts)));
    }
    const keep = tf.tensor1d(counts.map((c) => (c > 0 ? 1 : 0)));
    const total = tf.sum(tf.mul(perAnchor, keep));
    return tf.mul(tf.div(total, included), temperature / baseTemperature) as tf.Scalar;
  });
}

export interface SimclrOptions {
  temperature?: number;
  baseTemperature?: number;
  contrastMode?: 'all' | 'one';
}

/** SimCLR's NT-Xent: `supConLoss(features, null, options)` (positives: other views of the same image). */
export function simclrLoss(features: tf.Tensor3D, options: SimclrOptions = {}): tf.Scalar {
  assertRank(features, 3, 'simclrLoss', 'features', '[batch, views, dim]');
  assert(features.shape[1] >= 2, 'simclrLoss', `features needs at least 2 views, got [${features.shape.join(', ')}]`);
  return supConLoss(features, null, { ...options, noPositives: 'exclude' });
}
