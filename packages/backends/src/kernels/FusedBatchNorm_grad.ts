/**
 * Gradient of `FusedBatchNorm` without `tile`: the stock tfjs gradient tiles rsqrt(variance) to
 * the full input shape before multiplying (17–29% of a ResNet train step on wasm). This one
 * broadcasts a per-channel factor and shares the two channel reductions between the outputs.
 * Mathematically identical to the stock gradient; backend-agnostic (it uses tf ops).
 */
import {
  add,
  FusedBatchNorm,
  mul,
  neg,
  reshape,
  rsqrt,
  scalar,
  sub,
  sum,
  tidy,
} from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

/** Sums `t` over every axis but the last (the channel axis of NHWC), keeping the last. */
function channelSum(t: Tensor): Tensor {
  const c = t.shape[t.shape.length - 1]!;
  return tidy(() => sum(reshape(t, [-1, c]), 0));
}

/** Gradient config for `FusedBatchNorm` (registered by `registerWasmTrainingKernels`). */
export const fusedBatchNormGradConfig: GradConfig = {
  kernelName: FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = dy as Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
    const perChannel = mean.rank === 1 && (scale == null || scale.rank === 1);
    const reduce = (t: Tensor): Tensor => (perChannel ? channelSum(t) : t);
    const inv = rsqrt(add(variance, scalar(varianceEpsilon)));
    const scaled = scale == null ? inv : mul(inv, scale);
    const xc = sub(x, mean);
    // Shared reductions: sum(dy) and sum(dy * (x - mean)).
    const sumDy = reduce(g);
    const sumDyXc = reduce(mul(g, xc));
    return {
      x: () => mul(g, scaled),
      mean: () => reshape(neg(mul(sumDy, scaled)), mean.shape),
      variance: () =>
        reshape(mul(sumDyXc, mul(mul(scaled, mul(inv, inv)), scalar(-0.5))), mean.shape),
      scale: () => reshape(mul(sumDyXc, inv), mean.shape),
      offset: () => reshape(sumDy, mean.shape),
    };
  },
};
