/**
 * @supcon/samplers: seeded batch samplers (`random`, `m-per-class`, `class-weighted`). Each is a
 * SamplerPart: `epoch(labels, e)` yields Int32Array batches of indices, deterministic in
 * (seed, labels, e). Importing registers nothing.
 */
import { SupconConfigError, defineFactory, definePlugin } from '@supcon/core';
import type { BuildContext } from '@supcon/core';
import { z } from 'zod';
import { classWeightedSampler, mPerClassSampler, randomSampler } from './samplers';

export { randomSampler, mPerClassSampler, classWeightedSampler } from './samplers';
export type { RandomSamplerOptions, MPerClassOptions, ClassWeightedOptions } from './samplers';

function batchSizeOf(context: BuildContext, option: number | undefined, name: string): number {
  const b = option ?? context.batchSize;
  if (b === undefined) throw new Error(`${name}: no batchSize: set it in the sampler options or train.batchSize`);
  return b;
}

/** The plugin: samplers `random`, `m-per-class`, `class-weighted` (batchSize defaults to train.batchSize). */
export const samplersPlugin = definePlugin({
  name: '@supcon/samplers',
  version: '0.1.0',
  specificationVersion: 'v1',
  samplers: {
    random: defineFactory({
      schema: z.strictObject({ batchSize: z.number().int().positive().optional(), dropLast: z.boolean().default(false) }),
      description: 'Every index once per epoch, shuffled',
      create: (o, ctx) => randomSampler(ctx.rng, { batchSize: batchSizeOf(ctx, o.batchSize, 'random'), dropLast: o.dropLast }),
    }),
    'm-per-class': defineFactory({
      schema: z.strictObject({ m: z.number().int().positive().default(4), batchSize: z.number().int().positive().optional(), batchesPerEpoch: z.number().int().positive().optional() }),
      description: 'm images of each of batchSize/m classes per batch (for triplet / N-pair)',
      create: (o, ctx) => {
        const batchSize = batchSizeOf(ctx, o.batchSize, 'm-per-class');
        const batchPath = o.batchSize === undefined ? 'train.batchSize' : 'sampler.batchSize';
        if (batchSize % o.m !== 0) {
          throw new SupconConfigError([{ path: batchPath, message: `m-per-class needs a multiple of sampler.m (${o.m}), got ${batchSize}` }]);
        }
        const sampler = mPerClassSampler(ctx.rng, { m: o.m, batchSize, batchesPerEpoch: o.batchesPerEpoch });
        return {
          ...sampler,
          check(labels: ArrayLike<number>) {
            const classes = new Set<number>();
            for (let i = 0; i < labels.length; i++) classes.add(labels[i] as number);
            const needed = batchSize / o.m;
            return classes.size >= needed
              ? []
              : [{ path: batchPath, message: `m-per-class batches of ${batchSize} with m = ${o.m} need ${needed} classes, but the training data has ${classes.size}` }];
          },
        };
      },
    }),
    'class-weighted': defineFactory({
      schema: z.strictObject({ batchSize: z.number().int().positive().optional(), power: z.number().min(0).default(1), batchesPerEpoch: z.number().int().positive().optional() }),
      description: 'With replacement, weight ∝ class count^-power (imbalanced data)',
      create: (o, ctx) => classWeightedSampler(ctx.rng, { batchSize: batchSizeOf(ctx, o.batchSize, 'class-weighted'), power: o.power, batchesPerEpoch: o.batchesPerEpoch }),
    }),
  },
});
