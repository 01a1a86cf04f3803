/** The options of `supConLoss` and `simclrLoss`. */
import type * as tf from '@tensorflow/tfjs-core';

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

/** What normalises each positive's probability: see {@link SupConOptions.denominator}. */
export type Denominator = NonNullable<SupConOptions['denominator']>;
