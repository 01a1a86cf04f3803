/**
 * Supervised contrastive loss (Khosla et al. 2020) and SimCLR's NT-Xent as its label-free case.
 * This file is the public surface; the problem (options, labels, the positive relation) is built
 * in supcon-problem.ts, and the loss computed by one of two paths: supcon-fused.ts (one matrix
 * product around a row kernel, for CPU-memory backends) or supcon-composed.ts (tfjs ops and
 * autodiff, on the device).
 */
import * as tf from '@tensorflow/tfjs-core';
import { assert, assertRank } from './checks';
import { emptyLoss } from './finite';
import { composedLoss } from './supcon-composed';
import { fusedLoss } from './supcon-fused';
import type { SimclrOptions, SupConOptions } from './supcon-options';
import { supConProblem } from './supcon-problem';

export type { SimclrOptions, SupConMemory, SupConOptions, UniformSource } from './supcon-options';
export { matMulT } from './matmul';
export { lossesFromStats } from './supcon-fused';

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
  const problem = supConProblem(features, labels, options);
  const { batch, views, dim, memory, included } = problem;
  if (included === 0) return memory ? emptyLoss(features, memory) : emptyLoss(features);
  return tf.tidy(() => {
    let f: tf.Tensor3D = features;
    let mem = memory;
    const unit = <T extends tf.Tensor>(t: T): T =>
      tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-24))) as T;
    if (problem.normalize) {
      f = unit(f);
      if (mem) mem = unit(mem);
    }
    const contrast = tf.reshape(tf.transpose(f, [1, 0, 2]), [batch * views, dim]) as tf.Tensor2D;
    // The composed path checks the features as given (before normalising) for non-finite values.
    if (problem.fused) return fusedLoss({ contrast, memory: mem, problem });
    return composedLoss({ features, contrast, memory: mem, problem });
  });
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
