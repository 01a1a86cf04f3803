/**
 * @supcon/backbones: ResNet-18/34/50/101 (CIFAR and ImageNet stems), a small CNN / small ResNet,
 * an MLP encoder, projection heads ending on the unit sphere, and an encoder+head holder.
 * Importing registers nothing (call `registerBackboneLayers()` before loading saved models; the
 * `batchNormTraining` op registers its own gradient when it first runs its kernel).
 */
import { defineFactory, definePlugin } from '@supcon/core';
import type { BuildContext } from '@supcon/core';
import { z } from 'zod';
import { projectionHead } from './heads';
import { mlp, resnet, smallCnn } from './resnet';

export { resnet, smallCnn, smallResNet, mlp, Builder } from './resnet';
export type { ResNetOptions, SmallCnnOptions, MlpOptions, SeedSource } from './resnet';
export { projectionHead, createContrastiveModel, countTrainableParams } from './heads';
export type { ProjectionHeadOptions, ContrastiveModel } from './heads';
export { L2Normalize, registerBackboneLayers } from './l2-normalize';
export { BatchNorm } from './batch-norm';
export type { BatchNormOptions } from './batch-norm';
export {
  batchNormTraining,
  registerBatchNormTrainingGradient,
  batchNormTrainingGradConfig,
  BATCH_NORM_TRAINING,
  BATCH_NORM_TRAINING_GRAD,
} from './batch-norm-op';
export type { BatchNormTrainingResult, BatchNormTrainingAttrs } from './batch-norm-op';

function inputShapeOf(context: BuildContext, kind: string, rank: number): number[] {
  const shape = context.inputShape;
  if (!shape || shape.length !== rank) {
    throw new Error(
      `${kind}: the runner must pass inputShape of rank ${rank} in the build context, got ${shape ? `[${shape.join(', ')}]` : 'none'}`,
    );
  }
  return [...shape];
}

const seedOf = (context: BuildContext) => () => context.rng.uint32();

export const resnetSchema = z.strictObject({
  depth: z.union([z.literal(18), z.literal(34), z.literal(50), z.literal(101)]).default(18),
  stem: z.enum(['cifar', 'imagenet']).default('cifar'),
  widthMultiplier: z.number().positive().default(1),
  zeroInitResidual: z.boolean().default(false),
});
export const smallCnnSchema = z.strictObject({
  channels: z.array(z.number().int().positive()).min(1).default([32, 64, 128]),
  residual: z.boolean().default(false),
});
export const mlpSchema = z.strictObject({
  hidden: z.array(z.number().int().positive()).min(1).default([512, 256]),
  batchNorm: z.boolean().default(true),
});
export const headSchema = z.strictObject({
  hidden: z.number().int().positive().optional(),
  dim: z.number().int().positive().default(128),
  normalize: z.boolean().default(true),
});

/** The plugin: backbones `resnet`, `small-cnn`, `mlp`; heads `mlp`, `linear`. */
export const backbonesPlugin = definePlugin({
  name: '@supcon/backbones',
  version: '0.1.0',
  specificationVersion: 'v1',
  backbones: {
    resnet: defineFactory({
      schema: resnetSchema,
      description: 'ResNet-18/34/50/101 with a CIFAR (3x3, no max-pool) or ImageNet stem',
      create: (o, ctx) =>
        resnet({ ...o, inputShape: inputShapeOf(ctx, 'resnet', 3), seed: seedOf(ctx) }),
    }),
    'small-cnn': defineFactory({
      schema: smallCnnSchema,
      description:
        'A few conv-BN-ReLU (or residual) stages and global pooling, for 28x28/32x32 images',
      create: (o, ctx) =>
        smallCnn({ ...o, inputShape: inputShapeOf(ctx, 'small-cnn', 3), seed: seedOf(ctx) }),
    }),
    mlp: defineFactory({
      schema: mlpSchema,
      description: 'Dense-BN-ReLU layers on flattened inputs',
      create: (o, ctx) =>
        mlp({
          ...o,
          inputShape: ctx.inputShape ? [...ctx.inputShape] : inputShapeOf(ctx, 'mlp', 1),
          seed: seedOf(ctx),
        }),
    }),
  },
  heads: {
    mlp: defineFactory({
      schema: headSchema,
      description: 'Dense(hidden)-ReLU-Dense(dim), L2-normalised (SupContrast head)',
      create: (o, ctx) =>
        projectionHead({
          type: 'mlp',
          inputDim: inputShapeOf(ctx, 'head mlp', 1)[0],
          ...o,
          seed: seedOf(ctx),
        }),
    }),
    linear: defineFactory({
      schema: headSchema.omit({ hidden: true }),
      description: 'Dense(dim), L2-normalised',
      create: (o, ctx) =>
        projectionHead({
          type: 'linear',
          inputDim: inputShapeOf(ctx, 'head linear', 1)[0],
          ...o,
          seed: seedOf(ctx),
        }),
    }),
  },
});
