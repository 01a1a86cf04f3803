/**
 * @supcon/losses: the losses of Khosla et al. (2020) and its baselines for TensorFlow.js — SupCon
 * (out and in), SimCLR's NT-Xent, triplet, N-pair and cross-entropy — as pure functions usable in
 * any tfjs training loop, and as plugin entries. Importing registers nothing.
 */
import { defineFactory, definePlugin } from '@supcon/core';
import type { LossInput, LossPart } from '@supcon/core';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { crossEntropyLoss, nPairLoss, tripletLoss } from './metric';
import { simclrLoss, supConLoss } from './supcon';

export { supConLoss, simclrLoss } from './supcon';
export type { SupConOptions, SimclrOptions, SupConMemory, UniformSource } from './supcon';
export { loadFusedKernel, fusedKernelInfo } from './native/kernel';
export { tripletLoss, nPairLoss, crossEntropyLoss, pairwiseDistances } from './metric';
export type { TripletOptions, Distance } from './metric';

function features(input: LossInput, type: string): tf.Tensor3D {
  if (!input.features)
    throw new Error(
      `loss '${type}': needs features [batch, views, dim] (the runner's embedding stage)`,
    );
  return input.features;
}

const temperatures = {
  temperature: z.number().positive().default(0.1),
  baseTemperature: z.number().positive().optional(),
  contrastMode: z.enum(['all', 'one']).default('all'),
};
/**
 * google-research's supcon denominator modes (see SupConOptions.denominator). The options added
 * since 0.1 are optional without a default, so that a resolved config without them stays as it
 * was (supConLoss applies the defaults: 'all', -1).
 */
const denominator = z.enum(['all', 'one-positive', 'only-negatives']).optional();
const supconSchema = z.strictObject({
  ...temperatures,
  noPositives: z.enum(['exclude', 'zero', 'error']).default('exclude'),
  normalize: z.boolean().default(false),
  denominator,
  /** Positive rows per anchor besides its own views (-1: all); a multiple of train.views. */
  positivesCap: z.number().int().min(-1).optional(),
  /**
   * Multi-hot labels (SupConOptions.multiLabel): the runner hands the loss the data's label sets
   * `[batch, classes]` (a multi-label dataset's, one-hot rows for single-label data) and the
   * memory bank's. Unset: each image's first label.
   */
  multiLabel: z.enum(['any', 'jaccard']).optional(),
});

function supconPart(variant: 'out' | 'in') {
  return defineFactory({
    schema: supconSchema,
    description: `Supervised contrastive loss, summation ${variant === 'out' ? 'outside (eq. 2, recommended)' : 'inside (eq. 3)'} the log`,
    create: (o, context): LossPart => ({
      input: 'embeddings',
      supervised: true,
      memory: true,
      multiLabel: o.multiLabel !== undefined,
      // The positives cap draws from the part's generator (saved and restored with the run).
      compute: (input) => {
        const type = `supcon-${variant}`;
        const f = features(input, type);
        // With multiLabel, the label sets of the batch and of the memory; else the int labels.
        const sets = o.multiLabel !== undefined;
        if (sets && !input.multiHot) throw new Error(`loss '${type}': loss.multiLabel needs multi-hot labels [batch, classes] (LossInput.multiHot)`);
        if (sets && input.memory && !input.memory.multiHot) throw new Error(`loss '${type}': loss.multiLabel needs the memory's multi-hot labels [M, classes] (LossInput.memory.multiHot)`);
        const labels = sets ? input.multiHot! : input.labels;
        const memoryLabels = sets ? input.memory?.multiHot : input.memory?.labels;
        return supConLoss(f, labels, {
          ...o,
          variant,
          rng: context.rng,
          ...(input.memory ? { memory: { features: input.memory.features, labels: memoryLabels } } : {}),
        });
      },
    }),
  });
}

/** Rows of `[b, v, d]` view-major as `[v*b, d]`, with labels tiled to match. */
function flatten(f: tf.Tensor3D, labels: tf.Tensor1D): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const [b, v, d] = f.shape;
  return {
    x: tf.reshape(tf.transpose(f, [1, 0, 2]), [v * b, d]) as tf.Tensor2D,
    y: tf.tile(labels, [v]) as tf.Tensor1D,
  };
}

/** The plugin: losses `supcon-out`, `supcon-in`, `simclr`, `triplet`, `npair`, `cross-entropy`. */
export const lossesPlugin = definePlugin({
  name: '@supcon/losses',
  version: '0.1.0',
  specificationVersion: 'v1',
  losses: {
    'supcon-out': supconPart('out'),
    'supcon-in': supconPart('in'),
    simclr: defineFactory({
      schema: z.strictObject({ ...temperatures, denominator }),
      description:
        "SimCLR's NT-Xent: the other views of the same image are the positives (no labels)",
      create: (o): LossPart => ({
        input: 'embeddings',
        supervised: false,
        memory: true,
        // A memory bank's rows are extra negatives (SimCLR has no labels).
        compute: (input) =>
          simclrLoss(features(input, 'simclr'), {
            ...o,
            ...(input.memory ? { memory: { features: input.memory.features } } : {}),
          }),
      }),
    }),
    triplet: defineFactory({
      schema: z.strictObject({
        margin: z.number().min(0).default(0.2),
        mining: z.enum(['all', 'hard', 'semi-hard']).default('semi-hard'),
        distance: z.enum(['euclidean', 'squared-euclidean', 'cosine']).default('euclidean'),
        reduction: z.enum(['mean', 'mean-nonzero']).default('mean'),
      }),
      description: 'Triplet loss over every view of the batch (use an m-per-class sampler)',
      create: (o): LossPart => ({
        input: 'embeddings',
        supervised: true,
        compute: (input) =>
          tf.tidy(() => {
            const { x, y } = flatten(features(input, 'triplet'), input.labels);
            return tripletLoss(x, y, o);
          }),
      }),
    }),
    npair: defineFactory({
      schema: z.strictObject({ l2Reg: z.number().min(0).default(0) }),
      description: 'N-pair loss: view 0 anchors against view 1 positives',
      create: (o): LossPart => ({
        input: 'embeddings',
        supervised: true,
        compute: (input) =>
          tf.tidy(() => {
            const f = features(input, 'npair');
            if (f.shape[1] < 2)
              throw new Error(
                `loss 'npair': needs 2 views (train.views >= 2), got [${f.shape.join(', ')}]`,
              );
            const [a, p] = tf.unstack(f, 1);
            return nPairLoss(a as tf.Tensor2D, p as tf.Tensor2D, o);
          }),
      }),
    }),
    'cross-entropy': defineFactory({
      schema: z.strictObject({ labelSmoothing: z.number().min(0).lt(1).default(0) }),
      description:
        'Softmax cross-entropy on a linear classifier (the paper baseline, trained end to end)',
      create: (o): LossPart => ({
        input: 'logits',
        supervised: true,
        compute: (input) => {
          if (!input.logits) throw new Error("loss 'cross-entropy': needs logits [batch, classes]");
          return crossEntropyLoss(input.logits, input.labels, o);
        },
      }),
    }),
  },
});
