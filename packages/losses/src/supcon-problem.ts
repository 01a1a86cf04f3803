/**
 * A SupCon problem from `supConLoss`'s arguments: the options checked and defaulted, the labels
 * (integer or multi-hot), mask and memory checked against the features, the positive relation
 * built (and capped), and each anchor's weight in the mean. Both paths (fused and composed) take
 * the result; nothing here touches a tensor's values beyond reading the small label arrays.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@supcon/core';
import { assert, assertOneOf, assertPositive, assertRank, labelValues } from './checks';
import { capPositives, imageStats, multiLabelMatrix, relationMatrix } from './positives';
import type { Relation } from './positives';
import type { Denominator, SupConOptions, UniformSource } from './supcon-options';

/** The backends where `implementation: 'auto'` takes the fused path (tensors in CPU memory). */
const FUSED_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/** A checked SupCon problem: sizes, the positive relation and each anchor's weight. */
export interface SupConProblem {
  batch: number;
  views: number;
  dim: number;
  /** Anchor rows: every view's (`contrastMode` 'all', batch * views) or view 0's (batch). */
  anchors: number;
  /** Positives over samples: the batch's images, then the memory's. */
  relation: Relation;
  variant: 'out' | 'in';
  denominator: Denominator;
  temperature: number;
  /** Σ_p w_p per anchor (0: no positive). */
  counts: Float32Array;
  /** 1 for the anchors in the mean, 0 for those without positives (or negatives, where needed). */
  valid: Uint8Array;
  /** How many anchors the mean divides by. */
  included: number;
  /** temperature / baseTemperature. */
  scale: number;
  /** The memory's features `[M, dim]` (M > 0), or null. */
  memory: tf.Tensor2D | null;
  normalize: boolean;
  /** Whether to take the fused path (`implementation`, resolved for the current backend). */
  fused: boolean;
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
 * The problem of `supConLoss(features, labels, options)` (see there).
 * @throws naming the argument for bad shapes, dtypes or options, and for anchors without
 *   positives under `noPositives: 'error'`.
 */
export function supConProblem(
  features: tf.Tensor3D,
  labels: tf.Tensor1D | tf.Tensor2D | null | undefined,
  options: SupConOptions,
): SupConProblem {
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
  const scale = temperature / baseTemperature;
  return {
    batch,
    views,
    dim,
    anchors,
    relation,
    variant,
    denominator,
    temperature,
    counts,
    valid,
    included,
    scale,
    memory: memoryFeatures,
    normalize,
    fused,
  };
}
