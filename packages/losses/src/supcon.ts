/**
 * Supervised contrastive loss (Khosla et al. 2020) and SimCLR's NT-Xent as its label-free case.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@supcon/core';
import { assert, assertOneOf, assertPositive, assertRank, labelValues } from './checks';
import { fusedSupConRows, scaleRows, symmetrize, transpose } from './fused';
import { emptyLoss, nonFiniteFlag, poisoned } from './finite';
import { fusedKernel, kernelHandles, STATS_PER_ROW } from './native/kernel';
import {
  capPositives,
  imageStats,
  multiLabelMatrix,
  relationMatrix,
  sampleOfColumns,
} from './positives';
import type { Relation } from './positives';

/**
 * Extra contrast samples (a memory bank, a queue of earlier batches' projections): never
 * anchors, no gradient flows into them.
 */
export interface SupConMemory {
  /** `[M, dim]`, L2-normalised like the features (normalised too under `normalize`). */
  features: tf.Tensor2D;
  /**
   * `[M]` integer labels when `labels` is `[batch]`, `[M, C]` multi-hot when it is `[batch, C]`;
   * required with labels, absent without (then every memory sample is a negative: SimCLR / MoCo).
   */
  labels?: tf.Tensor1D | tf.Tensor2D | null;
}

/** A source of uniform numbers in [0, 1), e.g. an `Rng` from `@supcon/core`. */
export interface UniformSource {
  next(): number;
}

export interface SupConOptions {
  /** Default 0.1. */
  temperature?: number;
  /** Default = temperature; the loss is multiplied by temperature / baseTemperature. */
  baseTemperature?: number;
  /** 'out' (default): sum over positives outside the log (paper eq. 2); 'in': inside (eq. 3). */
  variant?: 'out' | 'in';
  /** 'all' (default): every view is an anchor; 'one': only view 0. */
  contrastMode?: 'all' | 'one';
  /** `[batch, batch]` positive mask (1 where j is a positive of i; weights >= 0 allowed) instead of labels. */
  mask?: tf.Tensor2D;
  /**
   * Anchors without positives (and, with denominator 'only-negatives', anchors without
   * negatives): 'exclude' (default) from the mean, 'zero' count as 0, 'error' throws.
   */
  noPositives?: 'exclude' | 'zero' | 'error';
  /** L2-normalise the features (and the memory's) first (default false: they are expected on the unit sphere). */
  normalize?: boolean;
  /**
   * Extra contrast samples: the contrast set is the batch's views plus these, the anchors stay
   * the batch's; positives are every other sample of the anchor's label in either. Equals the
   * loss of the batch and memory as one big batch, averaged over the batch's anchors only, with
   * the memory's features held constant.
   */
  memory?: SupConMemory;
  /**
   * For `[batch, C]` multi-hot labels: 'any' (default) a positive shares at least one label
   * (weight 1); 'jaccard' positives weighted by |A∩B| / |A∪B|, so that the 'out' term is the
   * weighted mean Σ_p w_p log p_p / Σ_p w_p. A sample without labels is nobody's positive, not
   * even its own other views'. No effect on `[batch]` labels (the one-hot case).
   */
  multiLabel?: 'any' | 'jaccard';
  /**
   * What normalises each positive's probability (google-research's supcon `denominator_mode`):
   * 'all' (default) every sample but the anchor itself (the paper's A(i)); 'one-positive' the
   * negatives and that one positive; 'only-negatives' the negatives alone.
   */
  denominator?: 'all' | 'one-positive' | 'only-negatives';
  /**
   * At most this many positive rows per anchor besides the other views of its own image
   * (google-research's `positives_cap`; -1, the default, keeps all). A multiple of the views:
   * other images are chosen whole (all their views), memory samples one row each. Positives not
   * chosen leave the anchor's row altogether (neither positive nor in any denominator). The
   * choice is random, from `rng`, and the same for every view of an image.
   */
  positivesCap?: number;
  /**
   * The positives cap's randomness: a seed (the same choice for the same seed and batch) or a
   * generator drawn from at each call (an `Rng` from `@supcon/core`). Default: seed 0.
   */
  rng?: number | UniformSource;
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
 * The fused loss of `contrast` `[rows, dim]` (view-major) against itself and `memory` `[M, dim]`
 * (a constant: no gradient flows into it): the dot products go through the row kernel
 * (WebAssembly SIMD, or {@link fusedSupConRows} in JavaScript, which also serves the
 * 'one-positive' denominator), which returns every anchor's loss and leaves the analytic gradient
 * dL/dD, scaled by `coefficient` (each anchor's weight in the mean); the backward pass is then
 * one matrix product.
 */
function fusedLoss(
  contrast: tf.Tensor2D,
  memory: tf.Tensor2D | null,
  batch: number,
  views: number,
  anchors: number,
  relation: Relation,
  variant: 'out' | 'in',
  denominator: Denominator,
  temperature: number,
  coefficient: Float64Array,
): tf.Scalar {
  const rows = batch * views;
  const extra = memory ? memory.shape[0] : 0;
  const cols = rows + extra;
  const square = anchors === rows;
  const lossOf = tf.customGrad(
    (c: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
      const x = c as tf.Tensor2D;
      const dim = x.shape[1];
      // The contrast rows the gradient multiplies: the batch's, then the memory's.
      const full = memory ? (tf.concat([x, memory]) as tf.Tensor2D) : x;
      const kernel = kernelHandles(denominator) ? fusedKernel() : undefined;
      const problem = {
        anchors,
        batch,
        views,
        ...(extra > 0 ? { memory: extra } : {}),
        ...relation,
        ...(denominator !== 'all' ? { denominator } : {}),
        variant,
        temperature,
      };
      let loss: Float64Array;
      let grad: Float32Array;
      if (kernel) {
        const input = { ...problem, coefficient };
        const target = kernel.prepare(input);
        if (square && rows >= 8) {
          // D = C Cᵀ is symmetric: compute columns [0, h) for all rows and the lower-right
          // block, three quarters of the products, and mirror the rest.
          const h = rows >> 1;
          tf.tidy(() => {
            const top = tf.slice(x, [0, 0], [h, dim]) as tf.Tensor2D;
            const bottom = tf.slice(x, [h, 0], [rows - h, dim]) as tf.Tensor2D;
            copyBlock(product(x, top, true), target, cols, 0, 0);
            copyBlock(product(bottom, bottom, true), target, cols, h, h);
            if (memory) copyBlock(product(x, memory, true), target, cols, 0, rows);
          });
          kernel.mirror(rows, h, cols);
        } else {
          tf.tidy(() =>
            copyBlock(
              product(
                square ? x : (tf.slice(x, [0, 0], [anchors, dim]) as tf.Tensor2D),
                full,
                true,
              ),
              target,
              cols,
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
          product(square ? x : (tf.slice(x, [0, 0], [anchors, dim]) as tf.Tensor2D), full, true),
        );
        const values = Float32Array.from(dots.dataSync());
        dots.dispose();
        const out = fusedSupConRows({ dots: values, ...problem });
        loss = out.loss;
        grad = out.grad;
        scaleRows(grad, coefficient, cols);
        if (square) symmetrize(grad, rows, cols);
      }
      let total = 0;
      for (let i = 0; i < anchors; i++) total += coefficient[i] * loss[i];
      // Saved only when a gradient is being recorded; otherwise disposed with the forward scope.
      if (square) (save as tf.GradSaveFunc)([full, tensorOf(grad, [rows, cols])]);
      else
        (save as tf.GradSaveFunc)([
          full,
          tensorOf(grad, [anchors, cols]),
          tf.tensor2d(transpose(grad, anchors, cols, rows), [rows, anchors]),
        ]);
      return {
        value: tf.scalar(total),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const [cs, g, gT] = saved as tf.Tensor2D[];
            let dContrast: tf.Tensor2D;
            if (square) {
              // L depends on D = C [C; M]ᵀ, so dC = (G_b + G_bᵀ) C + G_m M = G' [C; M], with G'
              // the gradient whose batch block is already symmetrised.
              dContrast = product(g, cs, false);
            } else {
              // D = A [C; M]ᵀ with A the first `anchors` rows of C: dA = G [C; M], dC = G_bᵀ A.
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

type Denominator = 'all' | 'one-positive' | 'only-negatives';

/** `t` in the forward pass, a zero gradient in the backward pass (a stop-gradient). */
function constant<T extends tf.Tensor>(t: T): T {
  const f = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
    value: tf.clone(x as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return f(t) as T;
}

/** Checks multi-hot labels `[n, classes]` (0 or 1 everywhere) and returns their values. */
function multiHotValues(labels: tf.Tensor, fn: string, name: string): Float32Array {
  const values = Float32Array.from(labels.dataSync());
  const classes = labels.shape[1]!;
  for (let i = 0; i < values.length; i++)
    assert(
      values[i] === 0 || values[i] === 1,
      fn,
      `${name} must be multi-hot (0 or 1), got ${values[i]} at [${Math.floor(i / classes)}, ${i % classes}]`,
    );
  return values;
}

/** Integer labels `[n]` (any dtype) as an Int32Array. */
function integerValues(labels: tf.Tensor, fn: string, name: string): Int32Array {
  const values = labels.dataSync();
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    assert(
      Number.isInteger(values[i]),
      fn,
      `${name} must be integers, got ${values[i]} at index ${i}`,
    );
    out[i] = values[i];
  }
  return out;
}

function shapeOf(t: tf.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

/**
 * SupCon loss of `features` `[batch, views, dim]`.
 *
 * Views are stacked view-major into `[views*batch, dim]`; for anchor i, A(i) is every other row
 * (and the memory's samples, `options.memory`) and P(i) the rows of A(i) with i's label (or
 * `mask`, tiled over views; for `[batch, C]` multi-hot labels, a shared label, weighted under
 * `multiLabel: 'jaccard'`). Logits are dot products divided by `temperature`. 'out':
 * loss_i = -(1/W_i) Σ_p w_p log p_ip; 'in': loss_i = -log((1/W_i) Σ_p w_p p_ip), with
 * W_i = Σ_p w_p and p_ip = exp(s_ip) / Σ_{a∈A(i)} exp(s_ia) (`denominator` 'all'; 'one-positive'
 * and 'only-negatives' sum the negatives with and without that positive). The result is the mean
 * over anchors of loss_i times temperature/baseTemperature. Without labels and mask, positives
 * are the other views of the same image (SimCLR). Stable for temperatures down to 0.01 and
 * feature norms up to 1e3, and for any logit float32 holds (the anchor's own similarity is left
 * out by selection, so it may even overflow). NaN or ±Inf anywhere in `features` (or the
 * memory's), or a logit z_i·z_j / T (i ≠ j) beyond float32, gives a NaN loss and an all-NaN
 * gradient, on both implementations (never 0 or a finite number: a diverged run cannot pass for
 * a converged one). With no anchor left to average (`noPositives: 'exclude'`), the loss is 0 with
 * a zero gradient (NaN for non-finite features).
 * @throws naming the argument for bad shapes, dtypes or options, and for anchors without
 *   positives under `noPositives: 'error'`.
 */
export function supConLoss(
  features: tf.Tensor3D,
  labels?: tf.Tensor1D | tf.Tensor2D | null,
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
    denominator = 'all',
    positivesCap = -1,
  } = options;
  const baseTemperature = options.baseTemperature ?? temperature;
  assertPositive(temperature, fn, 'options.temperature');
  assertPositive(baseTemperature, fn, 'options.baseTemperature');
  assertOneOf(variant, ['out', 'in'], fn, 'options.variant');
  assertOneOf(contrastMode, ['all', 'one'], fn, 'options.contrastMode');
  assertOneOf(noPositives, ['exclude', 'zero', 'error'], fn, 'options.noPositives');
  assertOneOf(denominator, ['all', 'one-positive', 'only-negatives'], fn, 'options.denominator');
  if (options.multiLabel !== undefined)
    assertOneOf(options.multiLabel, ['any', 'jaccard'], fn, 'options.multiLabel');
  assert(features.dtype === 'float32', fn, `features must be float32, got ${features.dtype}`);
  const [batch, views, dim] = features.shape;
  assert(
    batch >= 1 && views >= 1,
    fn,
    `features must have batch >= 1 and views >= 1, got [${features.shape.join(', ')}]`,
  );
  assert(!(labels && options.mask), fn, 'pass labels or options.mask, not both');
  assert(
    typeof positivesCap === 'number' && Number.isInteger(positivesCap) && positivesCap >= -1,
    fn,
    `options.positivesCap must be an integer >= 0, or -1 for all positives, got ${positivesCap}`,
  );
  assert(
    positivesCap < 0 || positivesCap % views === 0,
    fn,
    `options.positivesCap must be a multiple of the views (${views}): other images' views are taken together, got ${positivesCap}`,
  );
  const rngOption = options.rng;
  assert(
    rngOption === undefined ||
      (typeof rngOption === 'number' && Number.isFinite(rngOption)) ||
      (typeof rngOption === 'object' &&
        rngOption !== null &&
        typeof (rngOption as UniformSource).next === 'function'),
    fn,
    `options.rng must be a seed (a finite number) or a generator with next(), got ${String(rngOption)}`,
  );

  const { implementation = 'auto' } = options;
  assertOneOf(implementation, ['auto', 'fused', 'composed'], fn, 'options.implementation');
  const fused =
    implementation === 'fused' ||
    (implementation === 'auto' && FUSED_BACKENDS.has(tf.getBackend()));

  // Labels: [batch] integers, or [batch, C] multi-hot.
  const multiHot =
    labels != null && typeof labels === 'object' && 'rank' in labels && labels.rank === 2;
  let batchLabels: Int32Array | undefined;
  if (multiHot)
    assert(
      labels.shape[0] === batch,
      fn,
      `labels has ${labels.shape[0]} rows, features has batch ${batch}`,
    );
  else if (labels != null) batchLabels = labelValues(labels, fn, batch);

  // Memory: [M, dim] features, labels like the batch's.
  const memory = options.memory;
  let memoryCount = 0;
  if (memory !== undefined) {
    assert(
      typeof memory === 'object' && memory !== null,
      fn,
      'options.memory must be { features, labels? }',
    );
    const mf = memory.features;
    assert(
      mf != null && typeof mf === 'object' && 'rank' in mf,
      fn,
      `memory.features must be a tensor [M, ${dim}]`,
    );
    assert(
      mf.rank === 2 && mf.shape[1] === dim,
      fn,
      `memory.features: expected [M, ${dim}], got ${shapeOf(mf)}`,
    );
    assert(mf.dtype === 'float32', fn, `memory.features must be float32, got ${mf.dtype}`);
    memoryCount = mf.shape[0];
    assert(!options.mask, fn, 'options.memory needs labels (or none), not options.mask');
    const ml = memory.labels;
    if (labels == null)
      assert(
        ml == null,
        fn,
        'memory.labels given without labels: without labels every memory sample is a negative',
      );
    else {
      const expected = multiHot ? `[${memoryCount}, ${labels.shape[1]}]` : `[${memoryCount}]`;
      assert(
        ml != null && typeof ml === 'object' && 'rank' in ml,
        fn,
        `memory.labels: expected a tensor ${expected} (labels are given)`,
      );
      assert(
        multiHot
          ? ml.rank === 2 && ml.shape[0] === memoryCount && ml.shape[1] === labels.shape[1]
          : ml.rank === 1 && ml.shape[0] === memoryCount,
        fn,
        `memory.labels: expected ${expected}, got ${shapeOf(ml)}`,
      );
    }
  }

  // Positive relation over samples (the batch's images, then the memory's): labels, or a
  // [batch, batch + memory] weight mask (identity for SimCLR).
  const samples = batch + memoryCount;
  const relation: Relation = {};
  if (options.mask) {
    assertRank(options.mask, 2, fn, 'options.mask', '[batch, batch]');
    assert(
      options.mask.shape[0] === batch && options.mask.shape[1] === batch,
      fn,
      `options.mask must be [${batch}, ${batch}], got [${options.mask.shape.join(', ')}]`,
    );
    relation.mask = Float32Array.from(options.mask.dataSync());
    relation.mask.forEach((w, i) =>
      assert(
        Number.isFinite(w) && w >= 0,
        fn,
        `options.mask must hold finite weights >= 0, got ${w} at [${Math.floor(i / batch)}, ${i % batch}]`,
      ),
    );
  } else if (multiHot) {
    const rows = new Float32Array(samples * labels.shape[1]!);
    rows.set(multiHotValues(labels, fn, 'labels'));
    if (memoryCount > 0)
      rows.set(multiHotValues(memory!.labels!, fn, 'memory.labels'), batch * labels.shape[1]!);
    relation.mask = multiLabelMatrix(
      rows,
      batch,
      memoryCount,
      labels.shape[1]!,
      options.multiLabel ?? 'any',
    );
  } else if (labels) {
    relation.labels = new Int32Array(samples);
    relation.labels.set(batchLabels!);
    if (memoryCount > 0)
      relation.labels.set(integerValues(memory!.labels!, fn, 'memory.labels'), batch);
  } else if (memoryCount > 0) {
    // SimCLR with memory: each image its own class, every memory sample a negative.
    relation.labels = new Int32Array(samples).fill(-1);
    for (let i = 0; i < batch; i++) relation.labels[i] = i;
  } else {
    relation.mask = new Float32Array(batch * batch);
    for (let i = 0; i < batch; i++) relation.mask[i * batch + i] = 1;
  }
  if (positivesCap >= 0) {
    const mask = relationMatrix(relation, batch, memoryCount);
    const rng = typeof rngOption === 'object' ? rngOption : createRng(rngOption ?? 0);
    capPositives(mask, batch, views, memoryCount, positivesCap, rng);
    relation.labels = undefined;
    relation.mask = mask;
    relation.exclusions = true;
  }
  const stats = imageStats(relation, batch, views, memoryCount);
  const anchors = contrastMode === 'all' ? batch * views : batch;
  const rows = batch * views;
  const counts = new Float32Array(anchors);
  const valid = new Uint8Array(anchors);
  let withoutPositive = 0;
  let withoutNegative = 0;
  for (let a = 0; a < anchors; a++) {
    counts[a] = stats.positive[a % batch];
    const hasNegative = denominator !== 'only-negatives' || stats.negatives[a % batch] > 0;
    if (counts[a] <= 0) withoutPositive++;
    else if (!hasNegative) withoutNegative++;
    valid[a] = counts[a] > 0 && hasNegative ? 1 : 0;
  }
  if (noPositives === 'error' && withoutPositive > 0)
    throw new Error(
      `${fn}: ${withoutPositive} of ${anchors} anchors have no positive (a class seen once with one view?); use noPositives 'exclude' or 'zero'`,
    );
  if (noPositives === 'error' && withoutNegative > 0)
    throw new Error(
      `${fn}: ${withoutNegative} of ${anchors} anchors have no negative, which denominator 'only-negatives' needs (one class only?); use noPositives 'exclude' or 'zero'`,
    );
  const without = withoutPositive + withoutNegative;
  const included = noPositives === 'exclude' ? anchors - without : anchors;
  const memoryFeatures = memoryCount > 0 ? memory!.features : null;
  if (included === 0)
    return memoryFeatures ? emptyLoss(features, memoryFeatures) : emptyLoss(features);
  const scale = temperature / baseTemperature;

  return tf.tidy(() => {
    let f: tf.Tensor3D = features;
    let mem = memoryFeatures;
    const unit = <T extends tf.Tensor>(t: T): T =>
      tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-24))) as T;
    if (normalize) {
      f = unit(f);
      if (mem) mem = unit(mem);
    }
    const contrast = tf.reshape(tf.transpose(f, [1, 0, 2]), [rows, dim]) as tf.Tensor2D;
    if (fused) {
      const coefficient = Float64Array.from(valid, (v) => (v ? scale / included : 0));
      return fusedLoss(
        contrast,
        mem,
        batch,
        views,
        anchors,
        relation,
        variant,
        denominator,
        temperature,
        coefficient,
      );
    }
    return composedLoss(
      features,
      contrast,
      mem,
      batch,
      views,
      anchors,
      relation,
      variant,
      denominator,
      temperature,
      counts,
      valid,
      included,
      scale,
    );
  });
}

/** The composed loss: autodiff through tfjs ops, the masks built in JavaScript. */
function composedLoss(
  features: tf.Tensor3D,
  contrast: tf.Tensor2D,
  memory: tf.Tensor2D | null,
  batch: number,
  views: number,
  anchors: number,
  relation: Relation,
  variant: 'out' | 'in',
  denominator: Denominator,
  temperature: number,
  counts: Float32Array,
  valid: Uint8Array,
  included: number,
  scale: number,
): tf.Scalar {
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

export interface SimclrOptions {
  temperature?: number;
  baseTemperature?: number;
  contrastMode?: 'all' | 'one';
  /** See {@link SupConOptions.denominator}. */
  denominator?: 'all' | 'one-positive' | 'only-negatives';
  /** Extra negatives `[M, dim]` (a queue of earlier batches' projections): see {@link SupConOptions.memory}. */
  memory?: { features: tf.Tensor2D };
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
  const { memory, ...rest } = options;
  return supConLoss(features, null, {
    ...rest,
    ...(memory ? { memory: { features: memory.features } } : {}),
    noPositives: 'exclude',
  });
}
