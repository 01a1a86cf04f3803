/**
 * @supcon/optim: SGD (momentum, Nesterov), LARS, Adam and AdamW as tf.Optimizer subclasses with
 * PyTorch's update rules and weight decay kept off biases and batch-norm parameters; and
 * learning-rate schedules (cosine with warm-up, step, constant). Importing registers nothing.
 */
import { defineFactory, definePlugin } from '@supcon/core';
import type { OptimizerPart } from '@supcon/core';
import { z } from 'zod';
import { Adam, Lars, Sgd } from './optimizers';
import type { SlottedOptimizer } from './optimizers';
import { constantSchedule, cosineSchedule, stepSchedule } from './schedules';

export { Sgd, Adam, Lars, SlottedOptimizer, isDecayed } from './optimizers';
export type { CommonOptions, SgdOptions, AdamOptions, LarsOptions, WeightDecayOn } from './optimizers';
export { cosineSchedule, stepSchedule, constantSchedule } from './schedules';
export type { CosineOptions, StepScheduleOptions } from './schedules';

/** Wraps an optimiser as the runner's OptimizerPart. */
export function optimizerPart(optimizer: SlottedOptimizer): OptimizerPart {
  const base = optimizer.getLearningRate();
  return { optimizer, baseLearningRate: base, setLearningRate: (lr) => optimizer.setLearningRate(lr) };
}

const common = {
  learningRate: z.number().positive().default(0.1),
  weightDecay: z.number().min(0).default(0),
  weightDecayOn: z.enum(['kernels', 'all']).default('kernels'),
};

export const sgdSchema = z.strictObject({
  ...common,
  momentum: z.number().min(0).lt(1).default(0.9),
  nesterov: z.boolean().default(false),
});
export const larsSchema = z.strictObject({ ...common, momentum: z.number().min(0).lt(1).default(0.9), eta: z.number().positive().default(0.001) });
export const adamSchema = z.strictObject({
  ...common,
  learningRate: z.number().positive().default(0.001),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  epsilon: z.number().positive().default(1e-8),
});
export const cosineScheduleSchema = z.strictObject({
  warmupEpochs: z.number().min(0).default(0),
  warmupStart: z.number().min(0).max(1).default(0),
  finalFraction: z.number().min(0).max(1).default(0),
});
export const stepScheduleSchema = z.strictObject({
  milestones: z.array(z.number().int().positive()).min(1),
  gamma: z.number().positive().default(0.1),
  warmupEpochs: z.number().min(0).default(0),
});

/** The plugin: optimizers `sgd`, `lars`, `adam`, `adamw`; schedules `cosine`, `step`, `constant`. */
export const optimPlugin = definePlugin({
  name: '@supcon/optim',
  version: '0.1.0',
  specificationVersion: 'v1',
  optimizers: {
    sgd: defineFactory({
      schema: sgdSchema,
      description: 'SGD with momentum (optionally Nesterov), weight decay on kernels only',
      create: (o) => optimizerPart(new Sgd(o)),
    }),
    lars: defineFactory({
      schema: larsSchema,
      description: 'LARS (layer-wise trust ratio), as in the SupCon paper for large batches',
      create: (o) => optimizerPart(new Lars(o)),
    }),
    adam: defineFactory({
      schema: adamSchema,
      description: 'Adam (weight decay as L2 on the gradient)',
      create: (o) => optimizerPart(new Adam({ ...o, decay: 'l2' })),
    }),
    adamw: defineFactory({
      schema: adamSchema.extend({ weightDecay: z.number().min(0).default(0.01) }),
      description: 'AdamW (decoupled weight decay)',
      create: (o) => optimizerPart(new Adam({ ...o, decay: 'decoupled' })),
    }),
  },
  schedules: {
    cosine: defineFactory({ schema: cosineScheduleSchema, description: 'Cosine decay with linear warm-up', create: (o) => cosineSchedule(o) }),
    step: defineFactory({ schema: stepScheduleSchema, description: 'Multiply by gamma at each milestone epoch', create: (o) => stepSchedule(o) }),
    constant: defineFactory({ schema: z.strictObject({ factor: z.number().positive().default(1) }), description: 'Constant rate', create: (o) => constantSchedule(o.factor) }),
  },
});
