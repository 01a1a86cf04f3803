/**
 * A plugin with one loss, `hinge`: the module a plugin package exports. Importing it registers
 * nothing and runs nothing; a config's `plugins` list (the object, or this module's specifier)
 * or `registry.use(hingePlugin)` registers it. ../plugin-hinge.ts builds, checks and trains with it.
 */
// #region plugin
import { defineFactory, definePlugin } from '@supcon/core';
import type { LossPart } from '@supcon/core';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';

/**
 * For each image i, its other view should be closer (squared euclidean distance d) than any other
 * image's by `margin`: the mean over i != j of max(0, margin + d(z_i, z'_i) - d(z_i, z'_j)), with
 * z, z' the first two views of `features` [batch, views, dim]. Ignores labels, like SimCLR.
 */
export function viewHingeLoss(features: tf.Tensor3D, margin: number): tf.Scalar {
  const [batch, views] = features.shape;
  if (batch < 2 || views < 2) throw new Error(`hinge: features must be [batch >= 2, views >= 2, dim], got [${features.shape.join(', ')}]`);
  return tf.tidy(() => {
    const [z, other] = tf.unstack(features, 1) as [tf.Tensor2D, tf.Tensor2D];
    // d[i][j] = |z_i|² - 2 z_i·z'_j + |z'_j|²
    const d = tf.add(tf.sub(tf.sum(tf.square(z), 1, true), tf.mul(2, tf.matMul(z, other, false, true))), tf.reshape(tf.sum(tf.square(other), 1), [1, batch]));
    const positive = tf.sum(tf.mul(d, tf.eye(batch)), 1, true); // d(z_i, z'_i), [batch, 1]
    const hinge = tf.relu(tf.sub(tf.add(positive, margin), d));
    return tf.div(tf.sum(tf.mul(hinge, tf.sub(1, tf.eye(batch)))), batch * (batch - 1)) as tf.Scalar;
  });
}

export const hingePlugin = definePlugin({
  name: 'supcon-plugin-hinge', // unique; shown in errors
  version: '1.0.0',
  losses: {
    hinge: defineFactory({
      schema: z.strictObject({ margin: z.number().positive().default(1) }),
      description: 'Hinge on the distances between the first two views of each image',
      create: (options): LossPart => ({
        input: 'embeddings', // reads features [batch, views, dim] (the projection head's output)
        supervised: false, // ignores labels
        compute: ({ features }) => {
          if (!features) throw new Error('hinge: needs features [batch, views, dim]');
          return viewHingeLoss(features, options.margin);
        },
      }),
    }),
  },
});

export default hingePlugin;
// #endregion plugin
