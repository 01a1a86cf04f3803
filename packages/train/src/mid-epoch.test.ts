/**
 * Mid-epoch checkpoints with the real training task: for each procedure (contrastive, cross-
 * entropy) and each built-in sampler, a run with `checkpoint.everySteps` interrupted mid-epoch
 * and resumed ends with the weights, optimizer state, metrics lines (but timings), epoch losses
 * and evaluation of an uninterrupted one. Toy data and models (as in procedure.test.ts), cpu backend.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRegistry, createRng, createRunner, defineFactory, definePlugin, resolveConfig } from '@supcon/core';
import type { ImageDataset, RunnerContext, RunnerHooks, RunSummary } from '@supcon/core';
import { classWeightedSampler, mPerClassSampler, randomSampler, samplersPlugin } from '@supcon/samplers';
import { z } from 'zod';
import { createProcedure } from './procedure';

/** Two classes of 4x4x1 images: class 0 bright on the left half, class 1 on the right half. */
function toyDataset(size: number, seed: number): ImageDataset {
  const images = new Uint8Array(size * 16);
  const labels = new Uint8Array(size);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < size; i++) {
    labels[i] = i % 2;
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) images[i * 16 + y * 4 + x] = (x < 2) === (labels[i] === 0) ? 200 + Math.floor(rand() * 50) : Math.floor(rand() * 60);
  }
  return { size, shape: [4, 4, 1], images, labels, classes: ['left', 'right'] };
}

const l2Normalize = (x: tf.Tensor2D) => tf.div(x, tf.add(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;

const toyPlugin = definePlugin({
  name: 'toy-mid-epoch',
  datasets: {
    toy: defineFactory({ schema: z.object({}), create: () => ({ load: async (split: 'train' | 'test') => toyDataset(split === 'train' ? 32 : 16, split === 'train' ? 1 : 2) }) }),
  },
  backbones: {
    dense: defineFactory({
      schema: z.object({}),
      create: (_o, ctx) => {
        const m = tfl.sequential();
        m.add(tfl.layers.flatten({ inputShape: ctx.inputShape as number[] }));
        m.add(tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: ctx.rng.uint32() }) }));
        return m;
      },
    }),
  },
  heads: {
    dense: defineFactory({
      schema: z.object({}),
      create: (_o, ctx) => {
        const m = tfl.sequential();
        m.add(tfl.layers.dense({ inputShape: ctx.inputShape as number[], units: 4, kernelInitializer: tfl.initializers.glorotUniform({ seed: ctx.rng.uint32() }) }));
        return m;
      },
    }),
  },
  augmentations: {
    noise: defineFactory({
      schema: z.object({}),
      create: () => ({
        apply: (images: tf.Tensor4D, rng) => tf.add(images, tf.mul(tf.randomUniform(images.shape, -1, 1, 'float32', rng.uint32()), 0.05)) as tf.Tensor4D,
      }),
    }),
  },
  losses: {
    'toy-supcon': defineFactory({
      schema: z.object({}),
      create: () => ({
        input: 'embeddings' as const,
        supervised: true,
        compute: ({ features, labels }) => {
          const [b, v, d] = features!.shape;
          const z2 = l2Normalize(tf.reshape(tf.transpose(features!, [1, 0, 2]), [b * v, d]) as tf.Tensor2D);
          const logits = tf.div(tf.matMul(z2, z2, false, true), 0.5);
          const eye = tf.eye(b * v);
          const lab = tf.tile(labels, [v]);
          const pos = tf.mul(tf.cast(tf.equal(tf.expandDims(lab, 1), tf.expandDims(lab, 0)), 'float32'), tf.sub(1, eye));
          const logProb = tf.sub(logits, tf.logSumExp(tf.sub(logits, tf.mul(eye, 1e9)), 1, true));
          return tf.neg(tf.mean(tf.div(tf.sum(tf.mul(pos, logProb), 1), tf.maximum(tf.sum(pos, 1), 1)))) as tf.Scalar;
        },
      }),
    }),
    'toy-ce': defineFactory({
      schema: z.object({}),
      create: () => ({
        input: 'logits' as const,
        supervised: true,
        compute: ({ logits, labels }) => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits!.shape[1]), logits!) as tf.Scalar,
      }),
    }),
  },
  optimizers: {
    // Momentum, so that a resume must restore optimizer state to match.
    momentum: defineFactory({
      schema: z.object({ lr: z.number().default(0.1) }),
      create: (o) => {
        const optimizer = tf.train.momentum(o.lr, 0.9);
        return { optimizer, baseLearningRate: o.lr, setLearningRate: (lr: number) => optimizer.setLearningRate(lr) };
      },
    }),
  },
  evaluators: {
    centroid: defineFactory({
      schema: z.object({}),
      create: () => ({
        key: 'centroid',
        evaluate: async (input) => {
          const train = (await input.trainFeatures.array()) as number[][];
          const test = (await input.testFeatures.array()) as number[][];
          const centroids = [0, 1].map((c) => {
            const rows = train.filter((_, i) => input.train.labels[i] === c);
            return rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
          });
          const dist = (a: number[], b: number[]) => a.reduce((s, x, j) => s + (x - b[j]) ** 2, 0);
          const correct = test.filter((r, i) => (dist(r, centroids[0]) < dist(r, centroids[1]) ? 0 : 1) === input.test.labels[i]).length;
          // A number that depends on every feature: any difference in the final weights shows.
          const spread = test.reduce((s, r) => s + dist(r, centroids[0]), 0);
          return { top1: correct / test.length, spread };
        },
      }),
    }),
  },
});

// 32 images in batches of 8: 4 steps an epoch with each sampler, 12 in all; checkpoints every 3
// global steps: mid-epoch after global steps 3, 6 and 9.
const SAMPLERS: Record<string, Record<string, unknown>> = {
  random: { type: 'random' },
  'm-per-class': { type: 'm-per-class', m: 4 },
  'class-weighted': { type: 'class-weighted', power: 0.5 },
};

async function runToy(loss: string, sampler: string, out: string, opts: { resume?: boolean; hooks?: RunnerHooks<RunnerContext>[] } = {}) {
  const registry = createRegistry([toyPlugin, samplersPlugin]);
  const config = resolveConfig(
    {
      seed: 5,
      data: { type: 'toy' },
      backbone: { type: 'dense' },
      head: { type: 'dense' },
      augment: { type: 'noise' },
      sampler: SAMPLERS[sampler],
      loss: { type: loss },
      optimizer: { type: 'momentum', lr: 0.05 },
      train: { epochs: 3, batchSize: 8, views: 2 },
      checkpoint: { everySteps: 3 },
      eval: [{ type: 'centroid' }],
      out,
    },
    registry,
  );
  const task = createProcedure({ backend: 'cpu', mapPoints: 8 });
  const runner = createRunner(config, { registry, task, resume: opts.resume, hooks: opts.hooks, logger: { info: () => {}, warn: () => {} } });
  const summary = await runner.run();
  const { model, optimizer } = (await task.checkpoint()) as { model: tfl.LayersModel; optimizer: tf.Optimizer };
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  const optimizerWeights = await optimizer.getWeights();
  const optimizerState = optimizerWeights.map((w) => Array.from(w.tensor.dataSync()));
  tf.dispose(optimizerWeights.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
  return { summary, weights, optimizerState };
}

/** metrics.jsonl without its timings. */
function metrics(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => {
      const { seconds: _s, imagesPerSecond: _i, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

const crashBefore = (globalStep: number): RunnerHooks<RunnerContext> => ({
  beforeStep: (_c, s) => {
    if (s.globalStep === globalStep) throw new Error(`crash before step ${globalStep}`);
  },
});

const stable = (s: RunSummary) => ({ steps: s.steps, epochLoss: s.epochLoss, finalLoss: s.finalLoss, eval: s.eval });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('built-in samplers replay an epoch from the rng state at its start', () => {
  const labels = Int32Array.from({ length: 40 }, (_, i) => i % 4);
  const make = {
    random: (rng: ReturnType<typeof createRng>) => randomSampler(rng, { batchSize: 6 }),
    'm-per-class': (rng: ReturnType<typeof createRng>) => mPerClassSampler(rng, { m: 2, batchSize: 6 }),
    'class-weighted': (rng: ReturnType<typeof createRng>) => classWeightedSampler(rng, { batchSize: 6 }),
  };
  for (const [name, build] of Object.entries(make)) {
    it(`${name}: the same batches however the generator is drawn from around the iteration`, () => {
      const rng = createRng(9);
      const reference = [...build(rng).epoch(labels, 2)].map((b) => Array.from(b));
      // Drawing from the sampler's generator before and while iterating changes nothing.
      const again = createRng(9);
      const sampler = build(again);
      again.uint32();
      const lazily: number[][] = [];
      for (const batch of sampler.epoch(labels, 2)) {
        lazily.push(Array.from(batch));
        again.normal();
      }
      expect(lazily).toEqual(reference);
      // A fresh process (new generator, new sampler) skipping k batches sees the rest unchanged.
      const iterator = build(createRng(9)).epoch(labels, 2)[Symbol.iterator]();
      for (let k = 0; k < 3; k++) iterator.next();
      const rest: number[][] = [];
      for (let n = iterator.next(); !n.done; n = iterator.next()) rest.push(Array.from(n.value));
      expect(rest).toEqual(reference.slice(3));
      // Different epochs differ.
      expect([...build(createRng(9)).epoch(labels, 3)].map((b) => Array.from(b))).not.toEqual(reference);
    });
  }
});

describe('training task: mid-epoch checkpoints resume bit-exactly', () => {
  for (const loss of ['toy-supcon', 'toy-ce']) {
    for (const sampler of Object.keys(SAMPLERS)) {
      it(`${loss}, ${sampler} sampler: interrupted mid-epoch twice and resumed, it ends as an uninterrupted run`, async () => {
        const straightDir = mkdtempSync(join(tmpdir(), 'supcon-mid-straight-'));
        const straight = await runToy(loss, sampler, straightDir);
        const out = mkdtempSync(join(tmpdir(), 'supcon-mid-'));
        // Before global step 7: the last checkpoint is epoch-0001-step-000002 (global step 6).
        await expect(runToy(loss, sampler, out, { hooks: [crashBefore(7)] })).rejects.toThrow('crash before step 7');
        // Resumed mid-epoch 1, then interrupted again before global step 11 (epoch 2, after its step-1 checkpoint).
        await expect(runToy(loss, sampler, out, { resume: true, hooks: [crashBefore(11)] })).rejects.toThrow('crash before step 11');
        const resumed = await runToy(loss, sampler, out, { resume: true });
        expect(resumed.summary.resumedFrom).toBe(join(out, 'checkpoints', 'epoch-0002-step-000001'));
        expect(resumed.weights).toEqual(straight.weights);
        expect(resumed.optimizerState).toEqual(straight.optimizerState);
        expect(metrics(out)).toEqual(metrics(straightDir));
        expect(stable(resumed.summary)).toEqual(stable(straight.summary));
      });
    }
  }
});
