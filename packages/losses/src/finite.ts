/**
 * Non-finite input gives a NaN loss and a NaN gradient, never a finite number. Reductions such as
 * max, and ops such as relu or a 0 weight times -Inf, can drop or hide a NaN or an infinity, so
 * each loss checks its input (and the intermediate it could overflow in) explicitly and cheaply:
 * one `isFinite` and one `all` per tensor, on the device, without reading anything back.
 */
import * as tf from '@tensorflow/tfjs-core';

/** 0 when every value of every tensor is finite, NaN when one is NaN or ±Inf (no tape). */
function flagValue(tensors: tf.Tensor[]): tf.Scalar {
  let ok: tf.Tensor = tf.scalar(true, 'bool');
  // An empty tensor is finite; and reductions over nothing are not defined on every backend.
  for (const t of tensors) if (t.size > 0) ok = tf.logicalAnd(ok, tf.all(tf.isFinite(t)));
  return tf.where(ok, tf.scalar(0), tf.scalar(NaN)) as tf.Scalar;
}

/**
 * A scalar that is 0 when every value of `tensors` is finite and NaN otherwise, off the gradient
 * tape (no gradient flows into or out of it): adding it to a loss leaves a finite loss bit for bit
 * as it was (x + 0 = x) and makes the loss of non-finite input NaN however the loss's own ops treat
 * NaN and ±Inf.
 */
export function nonFiniteFlag(...tensors: tf.Tensor[]): tf.Scalar {
  // A customGrad without inputs: its forward runs untaped, so IsFinite and All (which have no
  // gradients) never reach the tape, and the flag is a constant to the backward pass.
  const f = tf.customGrad(() => ({ value: flagValue(tensors), gradFunc: () => [] }));
  return f() as tf.Scalar;
}

/**
 * `t · (1 + flag)` for a {@link nonFiniteFlag} `flag`: `t` itself, value and gradient, while flag
 * is 0; all NaN, value and gradient, once it is NaN. Applied to a loss's input or logits, it
 * keeps a backward pass through ops that would drop NaN (relu, where, max) from returning a
 * finite gradient for non-finite input.
 */
export function poisoned<T extends tf.Tensor>(t: T, flag: tf.Scalar): T {
  return tf.mul(t, tf.add(flag, 1)) as T;
}

/**
 * The loss of a batch with nothing to average (no rows, or no anchor with a positive): exactly 0
 * on every backend (a sum over an empty tensor is not 0 everywhere: wasm returns whatever its
 * output buffer held), with a zero gradient for each input; NaN, and a NaN gradient, when an input
 * holds NaN or ±Inf.
 */
export function emptyLoss(...inputs: tf.Tensor[]): tf.Scalar {
  const shapes = inputs.map((t) => t.shape);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const flag = flagValue(args.slice(0, -1) as tf.Tensor[]);
    save([flag]);
    return {
      value: flag,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        shapes.map((s) => tf.mul(tf.zeros(s), tf.mul(dy, saved[0]))),
    };
  });
  return f(...inputs) as tf.Scalar;
}
