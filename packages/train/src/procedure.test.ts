import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { SupconNonFiniteError, createRegistry, createRunner, defineFactory, definePlugin, resolveConfig } from '@supcon/core';
import type { ImageDataset, RunnerHooks, RunnerContext } from '@supcon/core';
import { z } from 'zod';
import { cosineSchedule } from '@supcon/optim';
import { createProcedure, stageOf } from './procedure';

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
  name: 'toy',
  datasets: {
    toy: defineFactory({ schema: z.object({}), create: () => ({ load: async (split: 'train' | 'test') => toyDataset(split === 'train' ? 32 : 16, split === 'train' ? 1 : 2) }) }),
  },
  backbones: {
    dense: defineFactory({
      schema: z.object({ units: z.number().int().positive().default(8) }),
      create: (o, ctx) => {
        const m = tfl.sequential();
        m.add(tfl.layers.flatten({ inputShape: ctx.inputShape as number[] }));
        m.add(tfl.layers.dense({ units: o.units, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: ctx.rng.uint32() }) }));
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
  samplers: {
    seq: defineFactory({
      schema: z.object({}),
      create: (_o, ctx) => ({
        *epoch(labels: ArrayLike<number>, e: number) {
          const order = Int32Array.from({ length: labels.length }, (_, i) => i);
          ctx.rng.fork(`epoch-${e}`).shuffle(order);
          for (let i = 0; i < order.length; i += 8) yield order.subarray(i, i + 8);
        },
        batchesPerEpoch: (labels: ArrayLike<number>) => Math.ceil(labels.length / 8),
      }),
    }),
  },
  losses: {
    // A small supervised contrastive loss (out variant), written independently of @supcon/losses.
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
          const masked = tf.sub(logits, tf.mul(eye, 1e9));
          const logProb = tf.sub(logits, tf.logSumExp(masked, 1, true));
          return tf.neg(tf.mean(tf.div(tf.sum(tf.mul(pos, logProb), 1), tf.sum(pos, 1)))) as tf.Scalar;
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
  schedules: {
    cosine: defineFactory({ schema: z.object({ finalFraction: z.number().default(0) }), create: (o) => cosineSchedule(o) }),
  },
  optimizers: {
    sgd: defineFactory({
      schema: z.object({ lr: z.number().default(0.1) }),
      create: (o) => {
        const optimizer = tf.train.sgd(o.lr);
        return { optimizer, baseLearningRate: o.lr, setLearningRate: (lr: number) => optimizer.setLearningRate(lr) };
      },
    }),
  },
  evaluators: {
    // Nearest class centroid on the frozen features: an independent check that training separated the classes.
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
          return { top1: correct / test.length };
        },
      }),
    }),
  },
});

function config(loss: string, out: string, epochs = 4, extra: Record<string, unknown> = {}) {
  const registry = createRegistry([toyPlugin]);
  const resolved = resolveConfig(
    {
      seed: 7,
      data: { type: 'toy' },
      backbone: { type: 'dense' },
      head: { type: 'dense' },
      augment: { type: 'noise' },
      sampler: { type: 'seq' },
      loss: { type: loss },
      optimizer: { type: 'sgd', lr: 0.2 },
      train: { epochs, batchSize: 8, views: 2 },
      eval: [{ type: 'centroid' }],
      out,
      ...extra,
    },
    registry,
  );
  return { registry, resolved };
}

async function runToy(
  loss: string,
  epochs: number,
  opts: { resume?: boolean; out?: string; hooks?: RunnerHooks<RunnerContext>[]; extra?: Record<string, unknown> } = {},
) {
  const out = opts.out ?? mkdtempSync(join(tmpdir(), 'supcon-task-'));
  const { registry, resolved } = config(loss, out, epochs, opts.extra);
  const task = createProcedure({ backend: 'cpu', mapPoints: 10 });
  const runner = createRunner(resolved, { registry, task, resume: opts.resume, hooks: opts.hooks, logger: { info: () => {}, warn: () => {} } });
  const summary = await runner.run();
  const weights = (task.checkpoint() as { model: tfl.LayersModel }).model.getWeights().map((w) => Array.from(w.dataSync()));
  return { out, summary, task, weights };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('training task', () => {
  it('picks the stage from the loss', () => {
    expect(stageOf({ input: 'logits', supervised: true })).toBe('ce');
    expect(stageOf({ input: 'embeddings', supervised: false })).toBe('simclr');
    expect(stageOf({ input: 'embeddings', supervised: true })).toBe('supcon');
  });

  it('pre-trains with a contrastive loss: loss falls, frozen features separate the classes, no leaks', async () => {
    const before = tf.memory().numTensors;
    const { out, summary, task } = await runToy('toy-supcon', 6);
    expect(task.stage).toBe('supcon');
    expect(summary.epochLoss[5]).toBeLessThan(summary.epochLoss[0]);
    expect((summary.eval.centroid as { top1: number }).top1).toBe(1);
    // The per-epoch monitor (20-NN on frozen features) lands in the epoch lines; separable toy data ends at 1.
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'epoch');
    expect(epochs).toHaveLength(6);
    expect(epochs[5].monitorKnnTop1).toBe(1);
    const map = JSON.parse(readFileSync(join(out, 'embedding-map.json'), 'utf8'));
    expect(map.points).toHaveLength(10);
    expect(map.labels).toEqual([0, 1, 1, 0, 0, 1, 1, 0, 0, 1].map((_, i) => Math.floor((i * 16) / 10) % 2));
    // The procedure's fields are in the one summary.json, as returned.
    expect(summary).toMatchObject({ stage: 'supcon', backend: 'cpu', classes: ['left', 'right'], trainSize: 32, testSize: 16 });
    expect(summary.imagesPerSecond).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(summary);
    // Only the models and optimizer state the task holds remain (no per-step leaks): a second run adds the same number.
    const afterFirst = tf.memory().numTensors;
    await runToy('toy-supcon', 6);
    expect(tf.memory().numTensors - afterFirst).toBe(afterFirst - before);
  });

  it('trains cross-entropy end to end on one view', async () => {
    const { summary, task } = await runToy('toy-ce', 6);
    expect(task.stage).toBe('ce');
    expect(summary.epochLoss[5]).toBeLessThan(summary.epochLoss[0]);
    expect((summary.eval.centroid as { top1: number }).top1).toBe(1);
  });

  it('a run interrupted after epoch 2 and resumed ends with the weights of an uninterrupted run', async () => {
    const full = await runToy('toy-supcon', 4);
    const out = mkdtempSync(join(tmpdir(), 'supcon-resume-'));
    const crash: RunnerHooks<RunnerContext> = {
      beforeEpoch: (_c, epoch) => {
        if (epoch === 2) throw new Error('simulated crash');
      },
    };
    await expect(runToy('toy-supcon', 4, { out, hooks: [crash] })).rejects.toThrow('simulated crash');
    const resumed = await runToy('toy-supcon', 4, { out, resume: true });
    expect(resumed.summary.resumedFrom).toMatch(/epoch-0002$/);
    expect(resumed.weights).toHaveLength(full.weights.length);
    resumed.weights.forEach((w, i) => expect(w).toEqual(full.weights[i]));
    expect(resumed.summary.epochLoss).toEqual(full.summary.epochLoss);
  });

  it('the lr column follows one cosine over the whole run (no restart at epoch starts) and ends at finalFraction', async () => {
    const { out } = await runToy('toy-supcon', 3, { extra: { schedule: { type: 'cosine', finalFraction: 0.05 } } });
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'step');
    // 32 images, batches of 8: 4 steps an epoch, 12 in all; lr = 0.2 * (0.05 + 0.95 * (1 + cos(pi * g / 11)) / 2) by hand.
    expect(steps.map((l) => l.globalStep)).toEqual(Array.from({ length: 12 }, (_, g) => g));
    steps.forEach((l) => expect(l.lr).toBeCloseTo(0.2 * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * l.globalStep) / 11))), 10));
    for (let i = 1; i < steps.length; i++) expect(steps[i].lr).toBeLessThan(steps[i - 1].lr);
    expect(steps[11].lr).toBeCloseTo(0.2 * 0.05, 12);
    expect(steps.every((l) => Number.isFinite(l.gradNorm) && l.gradNorm > 0)).toBe(true);
  });

  it('a diverging run (learning rate 1e30) stops with the epoch, step and non-finite value, and keeps its last checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'supcon-diverge-'));
    const error = await runToy('toy-ce', 4, { out, extra: { optimizer: { type: 'sgd', lr: 1e30 } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SupconNonFiniteError);
    const e = error as SupconNonFiniteError;
    expect(e.message).toMatch(/^training diverged: the (loss|gradient) is not finite at epoch \d+, step \d+ \(global step \d+\)/);
    expect(e.globalStep).toBeGreaterThan(0);
    // Every weight the model had at the last good step is finite: the bad update was never applied.
    if (e.lastCheckpoint) expect(e.lastCheckpoint).toMatch(/epoch-\d{4}$/);
    expect(existsSync(join(out, 'summary.json'))).toBe(false);
  });
});
