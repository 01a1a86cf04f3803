/**
 * For this package's tests only (not exported): the two batch-norm kernels of BatchNormTraining.ts
 * wired into a differentiable function with `tf.customGrad`, run by kernel name. The op users
 * call, `batchNormTraining`, lives in @supcon/backbones (with a fallback for backends without the
 * kernels); this package does not import it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor, Tensor1D } from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './BatchNormTraining';

/** `y` of training-mode batch norm over every axis but the last, through the kernels (x, gamma and beta differentiable). */
export function batchNormViaKernels(
  x: Tensor,
  gamma: Tensor1D,
  beta: Tensor1D,
  epsilon: number,
): Tensor {
  const attrs = { epsilon } as unknown as NamedAttrMap;
  const op = tf.customGrad((...args: (Tensor | ((t: Tensor[]) => void))[]) => {
    const [xs, g, b] = args as [Tensor, Tensor1D, Tensor1D];
    const save = args[3] as (t: Tensor[]) => void;
    const [y, mean, variance] = tf
      .engine()
      .runKernel(BATCH_NORM_TRAINING, { x: xs, scale: g, offset: b }, attrs) as Tensor[];
    save([xs, g, mean!, variance!]);
    return {
      value: y!,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sg, sm, sv] = saved as Tensor[];
        return tf
          .engine()
          .runKernel(
            BATCH_NORM_TRAINING_GRAD,
            { dy, x: sx!, mean: sm!, variance: sv!, scale: sg! },
            attrs,
          ) as Tensor[];
      },
    };
  });
  return op(x, gamma, beta);
}

/** `[y, mean, variance]` from the forward kernel alone. */
export function batchNormKernelForward(
  x: Tensor,
  gamma: Tensor1D,
  beta: Tensor1D,
  epsilon: number,
): Tensor[] {
  return tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: gamma, offset: beta }, {
    epsilon,
  } as unknown as NamedAttrMap) as Tensor[];
}
