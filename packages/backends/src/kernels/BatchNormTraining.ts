/**
 * supcon's training batch-norm kernels for wasm, run by the `batchNormTraining` op of
 * @supcon/backbones (packages/backbones/src/batch-norm-op.ts), which defines the op, its gradient
 * and the kernels' contract. The two packages do not import each other; they meet by kernel name,
 * as tfjs ops and kernels do:
 * - `SupConBatchNormTraining` (x, scale, offset; attr epsilon) → [y, mean, variance]: per-channel
 *   mean and biased variance of NHWC-style `[..., c]` input over every other axis (two passes:
 *   sums, then squared deviations) and y = (x − mean)·rsqrt(variance + ε)·scale + offset (one pass).
 * - `SupConBatchNormTrainingGrad` (dy, x, mean, variance, scale; attr epsilon) → [dx, dscale,
 *   doffset]: the gradient through the batch statistics too, from one pass of two sums (Σdy,
 *   Σdy·(x − mean)) and one pass for dx = k1·dy + k2·x + k3.
 * tfjs-layers' batch norm runs about sixteen full passes over the activation for the same step.
 * All passes are supcon's SIMD kernels split over the kernel threads.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { trainKernels } from '../native/train_kernels';
import { heapView, makeOutput } from './heap';
import type { HeapBackend } from './heap';
import { channelAffine, channelSums, heapVector, rowsAndChannels } from './native_ops';

/**
 * The kernel names, declared here again: they must equal `BATCH_NORM_TRAINING` and
 * `BATCH_NORM_TRAINING_GRAD` of @supcon/backbones (packages/backbones/src/batch-norm-op.ts), the
 * names its op runs. tools/test/dependencies.test.ts checks that they do.
 */
export const BATCH_NORM_TRAINING = 'SupConBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'SupConBatchNormTrainingGrad';

function kernelsOf(backend: object, name: string) {
  const k = trainKernels(backend);
  if (k === null)
    throw new Error(
      `${name} (wasm): supcon's SIMD kernels are unavailable here (no WebAssembly SIMD)`,
    );
  return k;
}

const forward: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
  const { epsilon } = attrs as unknown as { epsilon: number };
  const k = kernelsOf(backend, BATCH_NORM_TRAINING);
  const b = backend as unknown as HeapBackend;
  const [rows, c] = rowsAndChannels(x);
  const sums = channelSums(k, backend, 0, x);
  const mean = heapVector(
    backend,
    sums.map((s) => s / rows),
  );
  const squares = channelSums(k, backend, 2, x, undefined, mean);
  const variance = heapVector(
    backend,
    squares.map((s) => s / rows),
  );
  const g = heapView(b, scale);
  const o = heapView(b, offset);
  const m = heapView(b, mean);
  const coef = new Float32Array(3 * c);
  for (let i = 0; i < c; i++) {
    const k1 = g[i]! / Math.sqrt(squares[i]! / rows + epsilon);
    coef[i] = k1;
    coef[2 * c + i] = o[i]! - m[i]! * k1;
  }
  const y = channelAffine(k, backend, x, undefined, coef);
  return [y, mean, variance];
};

const backward: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, x, mean, variance, scale } = inputs as Record<string, TensorInfo>;
  const { epsilon } = attrs as unknown as { epsilon: number };
  const k = kernelsOf(backend, BATCH_NORM_TRAINING_GRAD);
  const b = backend as unknown as HeapBackend;
  const [rows, c] = rowsAndChannels(x!);
  const sums = channelSums(k, backend, 1, dy!, x, mean);
  const dScale = makeOutput(backend, [c]);
  const dOffset = makeOutput(backend, [c]);
  const g = heapView(b, scale!);
  const m = heapView(b, mean!);
  const v = heapView(b, variance!);
  const ds = heapView(b, dScale);
  const doff = heapView(b, dOffset);
  const coef = new Float32Array(3 * c);
  for (let i = 0; i < c; i++) {
    const s1 = sums[i]!;
    const s2 = sums[c + i]!;
    const rstd = 1 / Math.sqrt(v[i]! + epsilon);
    const k1 = g[i]! * rstd;
    const k2 = (-k1 * rstd * rstd * s2) / rows;
    coef[i] = k1;
    coef[c + i] = k2;
    coef[2 * c + i] = (-k1 * s1) / rows - k2 * m[i]!;
    ds[i] = s2 * rstd;
    doff[i] = s1;
  }
  const dx = channelAffine(k, backend, dy!, x, coef);
  return [dx, dScale, dOffset];
};

/** Kernel config: `SupConBatchNormTraining` on `wasm`. */
export const batchNormTrainingConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAINING,
  backendName: 'wasm',
  kernelFunc: forward,
};

/** Kernel config: `SupConBatchNormTrainingGrad` on `wasm`. */
export const batchNormTrainingGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAINING_GRAD,
  backendName: 'wasm',
  kernelFunc: backward,
};
