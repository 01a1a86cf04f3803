/**
 * The plugin of plugins/hinge.ts (a loss named `hinge`) in use: built through a registry and
 * checked against a value worked out by hand, its option errors, then a config that lists the
 * plugin and names its loss, trained for one epoch on 512 images of the Fashion-MNIST sample.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/plugin-hinge.ts`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { createRegistry, createRng } from '@supcon/core';
import { defineConfig, train } from '@supcon/train';
import { hingePlugin } from './plugins/hinge';

await initBackend('wasm');

// Through a registry, as the runner builds it: the options are validated, defaults applied.
const registry = createRegistry([hingePlugin]);
const loss = await registry.build('loss', { type: 'hinge' }, { rng: createRng(0) }, 'loss');
// Two images, two views on the unit sphere: z = (1, 0), (0, 1); z' = (0.6, 0.8), (0, 1).
// d(z_0, z'_0) = 0.4² + 0.8² = 0.8, d(z_0, z'_1) = 2, d(z_1, z'_0) = 0.6² + 0.2² = 0.4, d(z_1, z'_1) = 0.
// With margin 1: max(0, 1 + 0.8 - 2) = 0 and max(0, 1 + 0 - 0.4) = 0.6; their mean is 0.3.
const features = tf.tensor3d([[[1, 0], [0.6, 0.8]], [[0, 1], [0, 1]]]);
const labels = tf.tensor1d([0, 1], 'int32');
const tensorsBefore = tf.memory().numTensors;
const result = loss.compute({ features, labels });
const kept = tf.memory().numTensors - tensorsBefore; // 1: the result; its intermediates are disposed
const value = result.dataSync()[0]!;
tf.dispose([result, features, labels]);
if (!(Math.abs(value - 0.3) < 1e-6)) throw new Error(`hinge loss: got ${value}, worked out by hand 0.3`);
if (kept !== 1) throw new Error(`the loss should leave only its result, left ${kept} tensors`);

// A bad option is an error naming its config path; an unknown type suggests the closest.
const refusal = async (config: { type: string; [option: string]: unknown }) =>
  registry.build('loss', config, { rng: createRng(0) }, 'loss').then(() => 'no error', (error: Error) => error.message);
const badMargin = await refusal({ type: 'hinge', margin: -1 });
if (!badMargin.includes('loss.margin')) throw new Error(`margin -1: ${badMargin}`);
const typo = await refusal({ type: 'hnige' });
if (!typo.includes("Did you mean 'hinge'")) throw new Error(`type 'hnige': ${typo}`);

// In a config: list the plugin (the object, or its module's specifier) and name its loss.
// defineConfig knows the plugin's types: `{ type: 'hinge', margin: '1' }` would fail tsc.
const config = defineConfig({
  plugins: [hingePlugin],
  data: { type: 'fashion-mnist-sample', trainSize: 512, testSize: 200 },
  backbone: { type: 'small-cnn', channels: [8, 16] },
  loss: { type: 'hinge', margin: 1 },
  train: { epochs: 1, batchSize: 64 },
  eval: [{ type: 'knn', k: 20 }],
});
const out = path.join(mkdtempSync(path.join(tmpdir(), 'supcon-hinge-')), 'run');
// startBackend: false keeps the wasm backend started above (its thread count is fixed by then).
// (train() takes a `Record<string, unknown>`, which defineConfig's interface type is not: spread it.)
const { summary } = await train({ ...config }, { out, startBackend: false, logger: { info: () => {}, warn: console.warn } });
const knn = (summary.eval.knn as { top1: number }).top1;
if (summary.stage !== 'simclr') throw new Error(`a loss that ignores labels trains as simclr, got stage ${String(summary.stage)}`);
if (!(Number.isFinite(summary.finalLoss) && knn > 0.2)) throw new Error(`training with the hinge loss: final loss ${summary.finalLoss}, 20-NN top-1 ${knn}`);
console.log(`hinge plugin: 0.3 as by hand, no tensor left, errors name loss.margin and suggest 'hinge'; one epoch: stage ${summary.stage}, loss ${summary.finalLoss?.toFixed(3)}, 20-NN top-1 ${(100 * knn).toFixed(1)}%`);
