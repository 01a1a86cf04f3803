/**
 * Batch normalisation in training mode as one differentiable op with a hand-written gradient.
 * On wasm (after `registerWasmTrainingKernels`, which `initBackend('wasm')` calls) it runs
 * supcon's SIMD kernels: three passes over the activation forward and two backward. On other
 * backends it runs the same formulas as tf ops. Either way the gradient is the full batch-norm
 * gradient (through the batch mean and variance), the one autodiff of tfjs-layers'
 * moments-then-batchNorm gives, with far fewer full-size intermediate tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D } from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './kernels/BatchNormTraining';

export interface BatchNormTrainingResult {
  /** The normalised, scaled and shifted input (same shape as x). */
  y: Tensor;
  /** Per-channel batch mean `[c]`. */
  mean: Tensor1D;
  /** Per-channel biased batch variance `[c]` (divided by the number of values per channel). */
  variance: Tensor1D;
}

function nativeOn(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

/**
 * Normalises `x` (float32, channels last, rank ≥ 2) over every axis but the last with the batch's
 * own statistics: `y = (x − mean) / sqrt(variance + epsilon) · gamma + beta`. Gradients flow to x,
 * gamma and beta (not through the returned mean and variance, which are for running averages).
 * @param gamma `[c]` scale (omit for 1).
 * @param beta `[c]` offset (omit for 0).
 * @throws Error naming the argument when shapes do not match.
 */
export function batchNormTraining(
  x: Tensor,
  gamma: Tensor1D | undefined,
  beta: Tensor1D | undefined,
  epsilon: number,
): BatchNormTrainingResult {
  if (x.rank < 2)
    throw new Error(
      `batchNormTraining: x must have rank 2 or more, got shape [${x.shape.join(', ')}]`,
    );
  if (x.dtype !== 'float32')
    throw new Error(`batchNormTraining: x must be float32, got ${x.dtype}`);
  const c = x.shape[x.rank - 1]!;
  for (const [name, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t !== undefined && (t.rank !== 1 || t.shape[0] !== c))
      throw new Error(
        `batchNormTraining: ${name} must have shape [${c}] (the channels of x [${x.shape.join(', ')}]), got [${t.shape.join(', ')}]`,
      );
  }
  if (!(epsilon > 0))
    throw new Error(`batchNormTraining: epsilon must be positive, got ${epsilon}`);
  const axes = [...Array(x.rank - 1).keys()];
  const rows = x.size / c;
  let mean: Tensor1D | undefined;
  let variance: Tensor1D | undefined;
  const op = tf.customGrad((...args: (Tensor | ((t: Tensor[]) => void))[]) => {
    const [xs, g, b] = args as [Tensor, Tensor1D, Tensor1D];
    const save = args[3] as (t: Tensor[]) => void;
    let y: Tensor;
    let m: Tensor1D;
    let v: Tensor1D;
    if (nativeOn(BATCH_NORM_TRAINING)) {
      [y, m, v] = tf
        .engine()
        .runKernel(BATCH_NORM_TRAINING, { x: xs, scale: g, offset: b }, { epsilon }) as [
        Tensor,
        Tensor1D,
        Tensor1D,
      ];
    } else {
      m = tf.mean(xs, axes);
      v = tf.mean(tf.squaredDifference(xs, m), axes);
      y = tf.batchNorm(xs, m, v, b, g, epsilon);
    }
    mean = tf.keep(m);
    variance = tf.keep(v);
    save([xs, g, m, v]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sg, sm, sv] = saved as [Tensor, Tensor1D, Tensor1D, Tensor1D];
        if (nativeOn(BATCH_NORM_TRAINING_GRAD)) {
          return tf
            .engine()
            .runKernel(
              BATCH_NORM_TRAINING_GRAD,
              { dy, x: sx, mean: sm, variance: sv, scale: sg },
              { epsilon },
            ) as Tensor[];
        }
        const rstd = tf.rsqrt(tf.add(sv, epsilon));
        const xc = tf.sub(sx, sm);
        const s1 = tf.sum(dy, axes);
        const s2 = tf.sum(tf.mul(dy, xc), axes);
        const k = tf.mul(sg, rstd);
        const centred = tf.sub(
          tf.sub(dy, tf.div(s1, rows)),
          tf.mul(xc, tf.mul(tf.square(rstd), tf.div(s2, rows))),
        );
        return [tf.mul(centred, k), tf.mul(s2, rstd), s1];
      },
    };
  });
  const g = gamma ?? tf.ones([c]);
  const b = beta ?? tf.zeros([c]);
  const y = op(x, g, b);
  if (gamma === undefined) g.dispose();
  if (beta === undefined) b.dispose();
  // Hand the statistics to the caller's scope (the kept originals would escape every tidy).
  const out = { y, mean: tf.clone(mean!), variance: tf.clone(variance!) };
  mean!.dispose();
  variance!.dispose();
  return out;
}
