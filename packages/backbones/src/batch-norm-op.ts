/**
 * `batchNormTraining`: batch normalisation in training mode as one differentiable op with a
 * hand-written gradient, defined the way tfjs-core defines its ops (kernel_registry.ts): the op
 * runs a kernel by name, `engine.runKernel(BATCH_NORM_TRAINING, inputs, attrs)`, its gradient is
 * registered for that name (`registerGradient`), and any backend may register a kernel under the
 * name (`registerKernel({ kernelName, backendName, kernelFunc })`). This package defines the op,
 * the kernel names and their contract; it registers no kernel. @supcon/backends registers SIMD
 * kernels for wasm under the same two names (`registerWasmTrainingKernels`, which
 * `initBackend('wasm')` calls); the two packages do not import each other: they meet by name.
 * On a backend with no such kernel the op runs the same formulas as tf ops, with the same
 * hand-written gradient. Either way the gradient is the full batch-norm gradient (through the
 * batch mean and variance), the one autodiff of tfjs-layers' moments-then-batchNorm gives, with
 * far fewer full-size intermediate tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor, Tensor1D } from '@tensorflow/tfjs-core';

/**
 * Kernel name of the forward op. Inputs `{ x, scale, offset }` (x float32 `[..., c]`, scale and
 * offset `[c]`), attrs `{ epsilon }`; outputs `[y, mean, variance]`: the per-channel mean and
 * biased variance of x over every axis but the last, and `y = (x − mean)·rsqrt(variance + ε)·scale
 * + offset`. @supcon/backends registers a wasm kernel under this exact string.
 */
export const BATCH_NORM_TRAINING = 'SupConBatchNormTraining';
/**
 * Kernel name of the gradient. Inputs `{ dy, x, mean, variance, scale }`, attrs `{ epsilon }`;
 * outputs `[dx, dscale, doffset]`, the gradient through the batch statistics too. @supcon/backends
 * registers a wasm kernel under this exact string.
 */
export const BATCH_NORM_TRAINING_GRAD = 'SupConBatchNormTrainingGrad';

/** Attributes of both kernels. */
export interface BatchNormTrainingAttrs {
  epsilon: number;
}

export interface BatchNormTrainingResult {
  /** The normalised, scaled and shifted input (same shape as x). */
  y: Tensor;
  /** Per-channel batch mean `[c]`. */
  mean: Tensor1D;
  /** Per-channel biased batch variance `[c]` (divided by the number of values per channel). */
  variance: Tensor1D;
}

const hasKernel = (name: string): boolean => tf.getKernel(name, tf.getBackend()) != null;

/** The axes every channel is reduced over: all but the last. */
const reductionAxes = (x: Tensor): number[] => [...Array(x.rank - 1).keys()];

/**
 * `[dx, dscale, doffset]` from dy and the saved forward values: the `BATCH_NORM_TRAINING_GRAD`
 * kernel where the current backend has one, else the same formulas as tf ops.
 */
function backward(
  dy: Tensor,
  x: Tensor,
  scale: Tensor1D,
  mean: Tensor1D,
  variance: Tensor1D,
  epsilon: number,
): Tensor[] {
  if (hasKernel(BATCH_NORM_TRAINING_GRAD)) {
    const attrs: BatchNormTrainingAttrs = { epsilon };
    return tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAINING_GRAD,
        { dy, x, mean, variance, scale },
        attrs as unknown as NamedAttrMap,
      ) as Tensor[];
  }
  const axes = reductionAxes(x);
  const rows = x.size / x.shape[x.rank - 1]!;
  const rstd = tf.rsqrt(tf.add(variance, epsilon));
  const xc = tf.sub(x, mean);
  const s1 = tf.sum(dy, axes);
  const s2 = tf.sum(tf.mul(dy, xc), axes);
  const k = tf.mul(scale, rstd);
  const centred = tf.sub(
    tf.sub(dy, tf.div(s1, rows)),
    tf.mul(xc, tf.mul(tf.square(rstd), tf.div(s2, rows))),
  );
  return [tf.mul(centred, k), tf.mul(s2, rstd), s1];
}

/**
 * The gradient of `BATCH_NORM_TRAINING`, for `registerGradient`. It runs the
 * `BATCH_NORM_TRAINING_GRAD` kernel once for all three inputs (the engine calls each input's
 * thunk in its own tidy, so the shared result is made before them, in the backward pass's scope).
 * The mean and variance outputs carry no gradient (they are for running averages).
 */
export const batchNormTrainingGradConfig: GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const [x, scale, mean, variance] = saved as [Tensor, Tensor1D, Tensor1D, Tensor1D];
    const { epsilon } = attrs as unknown as BatchNormTrainingAttrs;
    const [dx, dscale, doffset] = backward(dy, x, scale, mean, variance, epsilon);
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  },
};

/**
 * Registers the gradient of the `BATCH_NORM_TRAINING` kernel in tfjs's (global) gradient
 * registry. Idempotent: it registers nothing when a gradient for that name is already there (from
 * an earlier call, or from another copy of this package). `batchNormTraining` calls it on every
 * call, before it runs the kernel, so there is nothing to import or call by hand; it is exported for code that
 * runs the kernel itself (`tf.engine().runKernel(BATCH_NORM_TRAINING, …)`) under a gradient tape.
 * Importing this package registers nothing.
 */
export function registerBatchNormTrainingGradient(): void {
  if (tf.getGradient(BATCH_NORM_TRAINING) == null) tf.registerGradient(batchNormTrainingGradConfig);
}

/** The composed fallback: tf ops forward, the same hand-written gradient (no autodiff through it). */
function composed(
  x: Tensor,
  g: Tensor1D,
  b: Tensor1D,
  epsilon: number,
): { y: Tensor; mean: Tensor1D; variance: Tensor1D } {
  const axes = reductionAxes(x);
  let mean: Tensor1D | undefined;
  let variance: Tensor1D | undefined;
  const op = tf.customGrad((...args: (Tensor | ((t: Tensor[]) => void))[]) => {
    const [xs, gs, bs] = args as [Tensor, Tensor1D, Tensor1D];
    const save = args[3] as (t: Tensor[]) => void;
    const m = tf.mean(xs, axes) as Tensor1D;
    const v = tf.mean(tf.squaredDifference(xs, m), axes) as Tensor1D;
    const y = tf.batchNorm(xs, m, v, bs, gs, epsilon);
    mean = tf.keep(m);
    variance = tf.keep(v);
    save([xs, gs, m, v]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sg, sm, sv] = saved as [Tensor, Tensor1D, Tensor1D, Tensor1D];
        return backward(dy, sx, sg, sm, sv, epsilon);
      },
    };
  });
  const y = op(x, g, b);
  // Hand the statistics to the caller's scope (the kept originals would escape every tidy).
  const out = { y, mean: tf.clone(mean!), variance: tf.clone(variance!) };
  mean!.dispose();
  variance!.dispose();
  return out;
}

/**
 * Normalises `x` (float32, channels last, rank ≥ 2) over every axis but the last with the batch's
 * own statistics: `y = (x − mean) / sqrt(variance + epsilon) · gamma + beta`. Gradients flow to x,
 * gamma and beta (not through the returned mean and variance, which are for running averages).
 * Runs the `BATCH_NORM_TRAINING` kernel where the current backend has one (wasm after
 * @supcon/backends' `registerWasmTrainingKernels`), else tf ops; the values agree to rounding.
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
  const g = gamma ?? tf.ones([c]);
  const b = beta ?? tf.zeros([c]);
  let out: BatchNormTrainingResult;
  registerBatchNormTrainingGradient(); // before the kernel runs: the tape saves what it names
  if (hasKernel(BATCH_NORM_TRAINING)) {
    const attrs: BatchNormTrainingAttrs = { epsilon };
    const [y, mean, variance] = tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAINING,
        { x, scale: g, offset: b },
        attrs as unknown as NamedAttrMap,
      ) as [Tensor, Tensor1D, Tensor1D];
    out = { y, mean, variance };
  } else {
    out = composed(x, g, b, epsilon);
  }
  if (gamma === undefined) g.dispose();
  if (beta === undefined) b.dispose();
  return out;
}
