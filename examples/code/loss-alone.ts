/**
 * The SupCon loss alone, in a plain tfjs training loop (no runner, no config): a linear map of
 * random 2-view features, trained for a few steps so that views of the same class come together.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/loss-alone.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { supConLoss } from '@supcon/losses';

await initBackend('wasm'); // also registers tfjs's gradients

const batch = 16;
const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 4), 'int32');
// Two noisy views of a per-class centre: [batch, views, 8].
const centres = tf.randomNormal([4, 8], 0, 1, 'float32', 1);
const inputs = tf.tidy(() => {
  const base = tf.gather(centres, labels);
  return tf.stack([0, 1].map((v) => tf.add(base, tf.randomNormal([batch, 8], 0, 1.5, 'float32', 10 + v))), 1) as tf.Tensor3D;
});
const weights = tf.variable(tf.randomNormal([8, 16], 0, 0.3, 'float32', 2));
const optimizer = tf.train.adam(0.05);

const losses: number[] = [];
for (let step = 0; step < 30; step++) {
  const cost = optimizer.minimize(() => {
    const projected = tf.reshape(tf.matMul(tf.reshape(inputs, [batch * 2, 8]), weights), [batch, 2, 16]) as tf.Tensor3D;
    return supConLoss(projected, labels, { temperature: 0.1, normalize: true });
  }, true)!;
  losses.push(cost.dataSync()[0]!);
  cost.dispose();
}
console.log(`SupCon loss: step 0 ${losses[0]!.toFixed(4)}, step 29 ${losses[29]!.toFixed(4)}`);
if (!(losses[29]! < losses[0]!)) throw new Error('the loss did not fall');
tf.dispose([labels, centres, inputs, weights]);
