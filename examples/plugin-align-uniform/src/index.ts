/**
 * An example of a third-party supcon plugin: a package outside @supcon/* that adds a loss, used
 * from a config exactly like the built-in ones:
 *
 * ```yaml
 * plugins: [supcon-plugin-align-uniform]
 * loss: { type: align-uniform, alpha: 2, t: 2, weight: 1 }
 * ```
 *
 * The loss is Wang & Isola's (ICML 2020) "alignment and uniformity on the hypersphere":
 * `align = mean_i ||z_i^0 - z_i^1||^alpha` over the two views of each image, and
 * `uniform = log mean_{i<j} exp(-t ||z_i - z_j||^2)` over all rows; loss = align + weight * uniform.
 * It ignores labels (self-supervised), like SimCLR.
 */
import { defineFactory, definePlugin } from '@supcon/core';
import type { LossPart } from '@supcon/core';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';

export interface AlignUniformOptions {
  /** Exponent of the alignment distance (default 2). */
  alpha?: number;
  /** Temperature of the uniformity kernel (default 2). */
  t?: number;
  /** Weight of the uniformity term (default 1). */
  weight?: number;
}

/**
 * Alignment + uniformity loss of `features` `[batch, views >= 2, dim]`, expected on the unit
 * sphere. Alignment uses views 0 and 1; uniformity uses every row of every view.
 * @throws naming the shape when features is not `[batch >= 2, views >= 2, dim]`.
 */
export function alignUniformLoss(features: tf.Tensor3D, options: AlignUniformOptions = {}): tf.Scalar {
  const { alpha = 2, t = 2, weight = 1 } = options;
  if (features.rank !== 3 || features.shape[0] < 2 || features.shape[1] < 2) {
    throw new Error(`alignUniformLoss: features must be [batch >= 2, views >= 2, dim], got [${features.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const [b, v, d] = features.shape;
    const [a, p] = tf.unstack(features, 1);
    const align = tf.mean(tf.pow(tf.sum(tf.square(tf.sub(a, p)), 1), alpha / 2));
    const rows = tf.reshape(features, [b * v, d]);
    const sq = tf.sum(tf.square(rows), 1);
    // ||x - y||^2 = |x|^2 + |y|^2 - 2 x.y; pairs i < j only.
    const dist2 = tf.relu(tf.sub(tf.add(tf.expandDims(sq, 1), tf.expandDims(sq, 0)), tf.mul(2, tf.matMul(rows, rows, false, true))));
    const n = b * v;
    const upper = tf.tensor2d(Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) < k % n ? 1 : 0)), [n, n]);
    const logits = tf.add(tf.mul(dist2, -t), tf.mul(tf.sub(1, upper), -1e9));
    const uniform = tf.sub(tf.logSumExp(tf.reshape(logits, [-1])), Math.log((n * (n - 1)) / 2));
    return tf.add(align, tf.mul(uniform, weight)) as tf.Scalar;
  });
}

/** The plugin: place it in a config's `plugins` (by package name or path) or pass it to `registry.use()`. */
export const alignUniformPlugin = definePlugin({
  name: 'supcon-plugin-align-uniform',
  version: '0.0.1',
  specificationVersion: 'v1',
  losses: {
    'align-uniform': defineFactory({
      schema: z.strictObject({
        alpha: z.number().positive().default(2),
        t: z.number().positive().default(2),
        weight: z.number().nonnegative().default(1),
      }),
      description: 'Alignment + uniformity on the hypersphere (Wang & Isola 2020); self-supervised',
      create: (options): LossPart => ({
        input: 'embeddings',
        supervised: false,
        compute: ({ features }) => {
          if (!features) throw new Error('align-uniform: needs features [batch, views, dim]');
          return alignUniformLoss(features, options);
        },
      }),
    }),
  },
});

export default alignUniformPlugin;
