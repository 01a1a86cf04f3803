/**
 * Supervised contrastive loss (Khosla et al. 2020) and SimCLR's NT-Xent as its label-free case.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assert, assertOneOf, assertPositive, assertRank, labelValues } from './checks';
import { fusedSupConRows, scaleRows, symmetrize, transpose } from './fused';
import { emptyLoss, nonFiniteFlag, poisoned } from './finite';
import { fusedKernel, STATS_PER_ROW } from './native/kernel';

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
  /**
   * 'fused': one matrix product forward and one backward around a single JavaScript pass that
   * computes the loss and its analytic gradient (fast where tensors live in CPU memory);
   * 'composed': autodiff through tfjs ops (keeps everything on the device, for WebGL/WebGPU).
   * Default 'auto': 'fused' on the cpu, wasm and tensorflow (tfjs-node) backends.
   */
  implementation?: 'auto' | 'fused' | 'composed';
}

/**
 * `a @ bᵀ` for `[m, d]` and `[n, d]`. On the wasm backend it runs as a 1x1 convolution, which
 * goes through XNNPACK (several times faster than the backend's BatchMatMul at these sizes, and
 * its gradients through supcon's wasm conv kernels when they are registered).
 */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  // Differentiable only where the convolution's gradient kernels are registered.
  if (tf.getBackend() === 'wasm' && tf.getKernel('Conv2DBackpropFilter', 'wasm') == null)
    return tf.matMul(a, b, false, true);
  return product(a, b, true);
}

/** `a @ bᵀ` or `a @ b` without gradients: on wasm always through XNNPACK (1x1 convolution). */
function product(a: tf.Tensor2D, b: tf.Tensor2D, transposeB: boolean): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b, false, transposeB);
  const [m, k] = a.shape;
  const w = transposeB ? tf.transpose(b) : b;
  const x = tf.reshape(a, [1, 1, m, k]) as tf.Tensor4D;
  return tf.reshape(tf.conv2d(x, tf.reshape(w, [1, 1, k, w.shape[1]]) as tf.Tensor4D, 1, 'valid'), [
    m,
    w.shape[1],
  ]) as tf.Tensor2D;
}

const FUSED_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

interface Positives {
  labels?: Int32Array;
  mask?: Float32Array;
}

/**
 * A float32 tensor's values: a view straight into the wasm heap where possible (valid only until
 * the next tensor allocation), else `dataSync()`.
 */
function valuesOf(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm') {
    const backend = tf.backend() as unknown as {
      wasm?: { HEAPU8?: Uint8Array };
      dataIdMap?: { get(id: object): { memoryOffset?: number } | undefined };
    };
    const offset = backend.dataIdMap?.get(t.dataId)?.memoryOffset;
    const heap = backend.wasm?.HEAPU8;
    if (heap && offset !== undefined && offset % 4 === 0)
      return new Float32Array(heap.buffer, offset, t.size);
  }
  return t.dataSync() as Float32Array;
}

/** Copies the `[m, n]` matrix `t` into `target` (row stride `stride`) at row `row`, column `col`. */
function copyBlock(
  t: tf.Tensor2D,
  target: Float32Array,
  stride: number,
  row: number,
  col: number,
): void {
  const [m, n] = t.shape;
  const src = valuesOf(t);
  if (n === stride && col === 0) target.set(src, row * stride);
  else
    for (let r = 0; r < m; r++)
      target.set(src.subarray(r * n, (r + 1) * n), (row + r) * stride + col);
}

/** A tensor from values the caller will overwrite: backends that keep a reference get a copy. */
function tensorOf(values: Float32Array, shape: [number, number]): tf.Tensor2D {
  const copies = tf.getBackend() === 'wasm' || tf.getBackend() === 'tensorflow';
  return tf.tensor2d(copies ? values : values.slice(), shape);
}

/**
 * Per-anchor losses from the kernel's row statistics (see native/supcon_rows.c): NaN for a row
 * the kernel marked non-finite (Z = NaN), 0 for an anchor without positives.
 */
export function lossesFromStats(
  stats: Float64Array,
  anchors: number,
  variant: 'out' | 'in',
): Float64Array {
  const loss = new Float64Array(anchors);
  for (let i = 0; i < anchors; i++) {
    const [max, Z, W, a, b] = stats.subarray(i * STATS_PER_ROW, (i + 1) * STATS_PER_ROW);
    if (Number.isNaN(Z)) {
      loss[i] = NaN;
      continue;
    }
    if (!(W > 0) || !(Z > 0)) continue;
    const logZ = Math.log(Z) + max;
    loss[i] = variant === 'out' ? logZ - a / W : logZ - (Math.log(b) + a) + Math.log(W);
  }
  return loss;
}

/**
 * The fused loss of `contrast` `[rows, dim]` (view-major): the dot products go through the row
 * kernel (WebAssembly SIMD, or {@link fusedSupConRows} in JavaScript), which returns every
 * anchor's loss and leaves the analytic gradient dL/dD, scaled by `coefficient` (each anchor's
 * weight in the mean); the backward pass is then one matrix product.
 */
function fusedLoss(
  contrast: tf.Tensor2D,
  batch: number,
  views: number,
  anchors: number,
  positives: Positives,
  variant: 'out' | 'in',
  temperature: number,
  coefficient: Float64Array,
): tf.Scalar {
  const rows = batch * views;
  const square = anchors === rows;
  const lossOf = tf.customGrad(
    (c: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
      const x = c as tf.Tensor2D;
      const kernel = fusedKernel();
      let loss: Float64Array;
      let grad: Float32Array;
      if (kernel) {
        const input = { anchors, batch, views, ...positives, variant, temperature, coefficient };
        const target = kernel.prepare(input);
        const dim = x.shape[1];
        if (square && rows >= 8) {
          // D = C Cᵀ is symmetric: compute columns [0, h) for all rows and the lower-right
          // block, three quarters of the products, and mirror the rest.
          const h = rows >> 1;
          tf.tidy(() => {
            const top = tf.slice(x, [0, 0], [h, dim]) as tf.Tensor2D;
            const bottom = tf.slice(x, [h, 0], [rows - h, dim]) as tf.Tensor2D;
            copyBlock(product(x, top, true), target, rows, 0, 0);
            copyBlock(product(bottom, bottom, true), target, rows, h, h);
          });
          kernel.mirror(rows, h);
        } else {
          tf.tidy(() =>
            copyBlock(
              product(square ? x : (tf.slice(x, [0, 0], [anchors, dim]) as tf.Tensor2D), x, true),
              target,
              rows,
              0,
              0,
            ),
          );
        }
        const out = kernel.run(input, square);
        loss = lossesFromStats(out.stats, anchors, variant);
        grad = out.grad;
      } else {
        const dots = tf.tidy(() =>
          product(
            square ? x : (tf.slice(x, [0, 0], [anchors, x.shape[1]]) as tf.Tensor2D),
            x,
            true,
          ),
        );
        const values = Float32Array.from(dots.dataSync());
        dots.dispose();
        const out = fusedSupConRows({
          dots: values,
          anchors,
          batch,
          views,
          ...positives,
          variant,
          temperature,
        });
        loss = out.loss;
        grad = out.grad;
        scaleRows(grad, coefficient, rows);
        if (square) symmetrize(grad, rows);
      }
      let total = 0;
      for (let i = 0; i < anchors; i++) total += coefficient[i] * loss[i];
      // Saved only when a gradient is being recorded; otherwise disposed with the forward scope.
      if (square) (save as tf.GradSaveFunc)([x, tensorOf(grad, [rows, rows])]);
      else
        (save as tf.GradSaveFunc)([
          x,
          tensorOf(grad, [anchors, rows]),
          tf.tensor2d(transpose(grad, anchors, rows), [rows, anchors]),
        ]);
      return {
        value: tf.scalar(total),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const [cs, g, gT] = saved as tf.Tensor2D[];
            let dContrast: tf.Tensor2D;
            if (square) {
              // L depends on D = C Cᵀ, so dC = (G + Gᵀ) C; g is already symmetrised.
              dContrast = product(g, cs, false);
            } else {
              // D = A Cᵀ with A the first `anchors` rows of C: dA = G C, dC = Gᵀ A.
              const a = tf.slice(cs, [0, 0], [anchors, cs.shape[1]]) as tf.Tensor2D;
              dContrast = tf.add(
                product(gT, a, false),
                tf.pad(product(g, cs, false), [
                  [0, rows - anchors],
                  [0, 0],
                ]),
              );
            }
            return tf.mul(dContrast, dy);
          }),
      };
    },
  );
  return lossOf(contrast) as tf.Scalar;
}

/**
 * Builds the `[anchors, rows]` positive-weight matrix (self excluded) in JS: labels are small,
 * and this avoids an O(n²) broadcast `Equal` on the backend.
 */
function positiveMatrix(
  base: Float32Array,
  batch: number,
  views: number,
  anchors: number,
): Float32Array {
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
 * same image (SimCLR). Stable for temperatures down to 0.01 and feature norms up to 1e3, and
 * for any logit float32 holds (the anchor's own similarity is left out by selection, so it may
 * even overflow). NaN or ±Inf anywhere in `features`, or a logit z_i·z_j / T (i ≠ j) beyond
 * float32, gives a NaN loss and an all-NaN gradient, on both implementations (never 0 or a finite
 * number: a diverged run cannot pass for a converged one). With no anchor left to average
 * (`noPositives: 'exclude'`), the loss is 0 with a zero gradient (NaN for non-finite features).
 * @throws naming the argument for bad shapes, dtypes or options, and for anchors without
 *   positives under `noPositives: 'error'`.
 */
export function supConLoss(
  features: tf.Tensor3D,
  labels?: tf.Tensor1D | null,
  options: SupConOptions = {},
): tf.Scalar {
  const fn = 'supConLoss';
  assertRank(features, 3, fn, 'features', '[batch, views, dim]');
  const {
    temperature = 0.1,
    variant = 'out',
    contrastMode = 'all',
    noPositives = 'exclude',
    normalize = false,
  } = options;
  const baseTemperature = options.baseTemperature ?? temperature;
  assertPositive(temperature, fn, 'options.temperature');
  assertPositive(baseTemperature, fn, 'options.baseTemperature');
  assertOneOf(variant, ['out', 'in'], fn, 'options.variant');
  assertOneOf(contrastMode, ['all', 'one'], fn, 'options.contrastMode');
  assertOneOf(noPositives, ['exclude', 'zero', 'error'], fn, 'options.noPositives');
  assert(features.dtype === 'float32', fn, `features must be float32, got ${features.dtype}`);
  const [batch, views] = features.shape;
  assert(
    batch >= 1 && views >= 1,
    fn,
    `features must have batch >= 1 and views >= 1, got [${features.shape.join(', ')}]`,
  );
  assert(!(labels && options.mask), fn, 'pass labels or options.mask, not both');

  const { implementation = 'auto' } = options;
  assertOneOf(implementation, ['auto', 'fused', 'composed'], fn, 'options.implementation');
  const fused =
    implementation === 'fused' ||
    (implementation === 'auto' && FUSED_BACKENDS.has(tf.getBackend()));

  // Positive relation over images: labels, or a [batch, batch] weight mask (identity for SimCLR).
  const positives: Positives = {};
  if (options.mask) {
    assertRank(options.mask, 2, fn, 'options.mask', '[batch, batch]');
    assert(
      options.mask.shape[0] === batch && options.mask.shape[1] === batch,
      fn,
      `options.mask must be [${batch}, ${batch}], got [${options.mask.shape.join(', ')}]`,
    );
    positives.mask = Float32Array.from(options.mask.dataSync());
  } else if (labels) {
    positives.labels = labelValues(labels, fn, batch);
  } else {
    positives.mask = new Float32Array(batch * batch);
    for (let i = 0; i < batch; i++) positives.mask[i * batch + i] = 1;
  }
  // Positive weight of each image's anchors: views * (its row of the relation) minus itself.
  const imageWeight = new Float64Array(batch);
  if (positives.labels) {
    const count = new Map<number, number>();
    for (const l of positives.labels) count.set(l, (count.get(l) ?? 0) + 1);
    for (let i = 0; i < batch; i++) imageWeight[i] = views * count.get(positives.labels[i])! - 1;
  } else {
    const m = positives.mask!;
    for (let i = 0; i < batch; i++) {
      let s = 0;
      for (let k = 0; k < batch; k++) s += m[i * batch + k];
      imageWeight[i] = views * s - m[i * batch + i];
    }
  }
  const anchors = contrastMode === 'all' ? batch * views : batch;
  const rows = batch * views;
  const counts = new Float32Array(anchors);
  let without = 0;
  for (let a = 0; a < anchors; a++) {
    counts[a] = imageWeight[a % batch];
    if (counts[a] <= 0) without++;
  }
  if (without > 0 && noPositives === 'error') {
    throw new Error(
      `${fn}: ${without} of ${anchors} anchors have no positive (a class seen once with one view?); use noPositives 'exclude' or 'zero'`,
    );
  }
  const included = noPositives === 'exclude' ? anchors - without : anchors;
  if (included === 0) return emptyLoss(features);
  const scale = temperature / baseTemperature;

  return tf.tidy(() => {
    let f: tf.Tensor3D = features;
    if (normalize)
      f = tf.div(f, tf.sqrt(tf.maximum(tf.sum(tf.square(f), -1, true), 1e-24))) as tf.Tensor3D;
    const dim = f.shape[2];
    const contrast = tf.reshape(tf.transpose(f, [1, 0, 2]), [rows, dim]) as tf.Tensor2D;
    if (fused) {
      const coefficient = Float64Array.from(counts, (w) => (w > 0 ? scale / included : 0));
      return fusedLoss(
        contrast,
        batch,
        views,
        anchors,
        positives,
        variant,
        temperature,
        coefficient,
      );
    }
    const base = new Float32Array(batch * batch);
    if (positives.labels) {
      const l = positives.labels;
      for (let i = 0; i < batch; i++)
        for (let j = 0; j < batch; j++) base[i * batch + j] = l[i] === l[j] ? 1 : 0;
    } else {
      base.set(positives.mask!);
    }
    const positiveWeights = positiveMatrix(base, batch, views, anchors);
    const anchor =
      contrastMode === 'all' ? contrast : (tf.slice(contrast, [0, 0], [batch, dim]) as tf.Tensor2D);
    const logits = tf.div(matMulT(anchor, contrast), temperature);
    // Self-similarities leave every sum by selection, not by a large offset: the anchor's own
    // logit may overflow, and no finite offset stays below every logit a stable log-sum-exp
    // handles. offDiagonal has 0 there, masked -Inf (exp gives 0, and 0 weights never meet it).
    const self = new Uint8Array(anchors * rows);
    const selfInf = new Float32Array(anchors * rows);
    for (let a = 0; a < anchors; a++) {
      self[a * rows + a] = 1;
      selfInf[a * rows + a] = -Infinity;
    }
    const offDiagonal = tf.where(
      tf.tensor2d(self, [anchors, rows], 'bool'),
      tf.zeros([anchors, rows]),
      logits,
    );
    // NaN or ±Inf features, or a logit beyond float32: a NaN loss and a NaN gradient.
    const flag = nonFiniteFlag(features, offDiagonal);
    const s = poisoned(offDiagonal, flag);
    const masked = tf.add(s, tf.tensor2d(selfInf, [anchors, rows]));
    const logZ = tf.logSumExp(masked, 1);
    const safeCounts = tf.tensor1d(counts.map((c) => (c > 0 ? c : 1)));
    let perAnchor: tf.Tensor;
    if (variant === 'out') {
      // -(1/|P|) Σ_p w_p log softmax(s)_p = log Z - Σ_p w_p s_p / |P|.
      const pos = tf.tensor2d(positiveWeights, [anchors, rows]);
      perAnchor = tf.sub(logZ, tf.div(tf.sum(tf.mul(pos, s), 1), safeCounts));
    } else {
      // -log((1/|P|) Σ_p w_p softmax(s)_p) = log Z - log Σ_p exp(s_p + log w_p) + log |P|, the
      // middle term a log-sum-exp over the positives alone: log w is -Inf elsewhere (the anchor
      // itself included), and 0 in rows without positives (their loss is dropped; this keeps
      // their log-sum-exp and its gradient finite).
      const logWeights = new Float32Array(anchors * rows);
      for (let a = 0; a < anchors; a++)
        for (let r = 0; r < rows; r++) {
          const w = positiveWeights[a * rows + r]!;
          logWeights[a * rows + r] = w > 0 ? Math.log(w) : counts[a]! > 0 ? -Infinity : 0;
        }
      const positiveLogits = tf.add(s, tf.tensor2d(logWeights, [anchors, rows]));
      perAnchor = tf.add(tf.sub(logZ, tf.logSumExp(positiveLogits, 1)), tf.log(safeCounts));
    }
    const keep = tf.tensor1d(counts.map((c) => (c > 0 ? 1 : 0)));
    const total = tf.sum(tf.mul(perAnchor, keep));
    return tf.add(tf.mul(tf.div(total, included), scale), flag) as tf.Scalar;
  });
}

export interface SimclrOptions {
  temperature?: number;
  baseTemperature?: number;
  contrastMode?: 'all' | 'one';
  /** See {@link SupConOptions.implementation}. */
  implementation?: 'auto' | 'fused' | 'composed';
}

/**
 * SimCLR's NT-Xent: `supConLoss(features, null, options)` (positives: other views of the same
 * image). NaN, with an all-NaN gradient, for NaN or ±Inf features (see {@link supConLoss}).
 */
export function simclrLoss(features: tf.Tensor3D, options: SimclrOptions = {}): tf.Scalar {
  assertRank(features, 3, 'simclrLoss', 'features', '[batch, views, dim]');
  assert(
    features.shape[1] >= 2,
    'simclrLoss',
    `features needs at least 2 views, got [${features.shape.join(', ')}]`,
  );
  return supConLoss(features, null, { ...options, noPositives: 'exclude' });
}
