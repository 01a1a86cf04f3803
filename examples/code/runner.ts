/**
 * @supcon/core's runner driven directly, with a training procedure of your own: a `RunnerTask`
 * that learns a nearest-class-mean classifier on raw pixels of the Fashion-MNIST sample, one
 * batch at a time (no tfjs, no backend). The runner builds the parts the config names (here the
 * data and the sampler), owns the loop, metrics, checkpoints and summary.json; the task owns what
 * a step does. The run goes to memory (`memoryStorage`), as it would in a browser or a test.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/runner.ts`).
 */
import { createRegistry, createRunner, memoryStorage, resolveConfig } from '@supcon/core';
import type { ImageDataset, JsonValue, RunnerTask } from '@supcon/core';
import { dataPlugin } from '@supcon/data';
import { samplersPlugin } from '@supcon/samplers';

const registry = createRegistry([dataPlugin, samplersPlugin]);
const config = resolveConfig(
  {
    name: 'nearest-mean',
    data: { type: 'fashion-mnist-sample', trainSize: 1000, testSize: 500 },
    sampler: { type: 'random' },
    train: { epochs: 2, batchSize: 100 },
  },
  registry,
);

/** Class sums of the pixels seen so far; predicts the class whose mean image is nearest. */
function nearestMeanTask(): RunnerTask {
  let train: ImageDataset, test: ImageDataset, pixels: number, classes: number;
  let sums: Float64Array, counts: Float64Array;
  const predict = (data: ImageDataset, i: number): number => {
    let best = 0, bestDistance = Infinity;
    for (let c = 0; c < classes; c++) {
      if (counts[c] === 0) continue;
      let distance = 0;
      for (let p = 0; p < pixels; p++) distance += (data.images[i * pixels + p]! - sums[c * pixels + p]! / counts[c]!) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [c, distance];
    }
    return best;
  };
  return {
    setup(parts) {
      ({ train, test } = parts);
      pixels = train.shape[0] * train.shape[1] * train.shape[2];
      classes = train.classes.length;
      sums = new Float64Array(classes * pixels);
      counts = new Float64Array(classes);
    },
    // The step's loss: the error rate on the batch before the batch is added to the class sums.
    step(batch) {
      let errors = 0;
      for (const i of batch) if (predict(train, i) !== train.labels[i]) errors++;
      for (const i of batch) {
        const c = train.labels[i]!;
        counts[c]!++;
        for (let p = 0; p < pixels; p++) sums[c * pixels + p]! += train.images[i * pixels + p]!;
      }
      return errors / batch.length;
    },
    evaluate() {
      let right = 0;
      for (let i = 0; i < test.size; i++) if (predict(test, i) === test.labels[i]) right++;
      return { nearestMean: { top1: right / test.size } };
    },
    checkpoint: () => ({ state: { sums: Array.from(sums), counts: Array.from(counts) } }),
    restore(state) {
      const saved = state as { sums: number[]; counts: number[] } & JsonValue;
      sums = Float64Array.from(saved.sums);
      counts = Float64Array.from(saved.counts);
    },
  };
}

// #region run
const storage = memoryStorage('nearest-mean'); // in Node, leave it out: the run goes to config.out
const runner = createRunner(config, { registry, task: nearestMeanTask(), storage, logger: { info: () => {}, warn: console.warn } });
const summary = await runner.run(); // train, evaluate, write summary.json
// #endregion run

const top1 = (summary.eval.nearestMean as { top1: number }).top1;
const [first, second] = summary.epochLoss as [number, number];
const files = [...storage.files().keys()];
if (!(top1 > 0.5)) throw new Error(`nearest class mean on pixels should get about 2/3 of the test images right, got ${top1}`);
if (!(second < first)) throw new Error(`the online error should fall from epoch 1 (${first}) to epoch 2 (${second})`);
for (const file of ['config.json', 'metrics.jsonl', 'summary.json', 'checkpoints/epoch-0002/checkpoint.json']) {
  if (!files.includes(file)) throw new Error(`the run has no ${file}: ${files.join(', ')}`);
}
console.log(`createRunner with a nearest-class-mean task: ${summary.steps} steps, online error ${first.toFixed(3)} then ${second.toFixed(3)}, test top-1 ${(100 * top1).toFixed(1)}%, ${files.length} files in memory`);
