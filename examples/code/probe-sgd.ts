/**
 * The linear probe with SupContrast's protocol (`solver: 'sgd'`, minibatch SGD on the
 * cross-entropy, as main_linear.py does): SupContrast's two settings written as `eval` entries
 * of a config, validated against the probe's schema, then each one run by `evaluateLinearProbe`
 * on raw pixels of the Fashion-MNIST sample (1000 training and 500 test images, the whole 100
 * epochs: a few hundred small steps).
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/probe-sgd.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { createRegistry, createRng, resolveConfig } from '@supcon/core';
import { loadFashionMnistSample, stratifiedIndices, subset } from '@supcon/data';
import { evaluateLinearProbe } from '@supcon/eval';
import type { LinearProbeOptions } from '@supcon/eval';
import { builtinPlugins, defineConfig } from '@supcon/train';

const config = defineConfig({
  data: { type: 'fashion-mnist-sample' },
  loss: { type: 'supcon-out' },
  train: { epochs: 1, batchSize: 64 },
  eval: [
    // #region supcontrast
    // main_linear.py's defaults: 100 epochs, batch 256, lr 0.1, momentum 0.9, no weight decay,
    // lr × 0.2 at epochs 60, 75 and 90, on the encoder's unnormalised features
    { type: 'linear-probe', solver: 'sgd', epochs: 100, batchSize: 256, learningRate: 0.1, momentum: 0.9,
      weightDecay: 0, schedule: 'step', milestones: [0.6, 0.75, 0.9], gamma: 0.2, normalize: 'none' },
    // its README's linear stage for SupCon: --batch_size 512 --learning_rate 5 (same schedule)
    { type: 'linear-probe', solver: 'sgd', epochs: 100, batchSize: 512, learningRate: 5,
      schedule: 'step', milestones: [0.6, 0.75, 0.9], gamma: 0.2, normalize: 'none' },
    // #endregion supcontrast
  ],
});

await initBackend('wasm');
// Validated as a run would be: an option of the other solver, or a bad value, is an error here.
const { eval: probes } = resolveConfig(config, createRegistry(builtinPlugins));

const rng = createRng(0);
const [fullTrain, fullTest] = [await loadFashionMnistSample({ split: 'train' }), await loadFashionMnistSample({ split: 'test' })];
const trainSet = subset(fullTrain, stratifiedIndices(fullTrain.labels, 1000, rng));
const testSet = subset(fullTest, stratifiedIndices(fullTest.labels, 500, rng));
const pixels = (set: typeof trainSet) => tf.tidy(() => tf.div(tf.tensor2d(set.images, [set.size, 28 * 28], 'float32'), 255) as tf.Tensor2D);
const [trainX, testX] = [pixels(trainSet), pixels(testSet)];
const results = probes.map(({ type: _type, ...options }) => {
  const result = evaluateLinearProbe(trainX, trainSet.labels, testX, testSet.labels, createRng(1), options as LinearProbeOptions);
  if (result.solver !== 'sgd' || result.stopReason !== 'epochs') throw new Error(`expected the sgd solver to run its epochs, got ${result.solver}, ${result.stopReason}`);
  if (!(result.top1 > 0.6)) throw new Error(`a linear probe on pixels should get most test images right, got top-1 ${result.top1}`);
  return result;
});
tf.dispose([trainX, testX]);
console.log(`SupContrast's probe settings (sgd): ${results.map((r, i) => `#${i + 1} ${r.iterations} steps, test top-1 ${(100 * r.top1).toFixed(1)}%`).join('; ')} (raw pixels, 1000 train images)`);
