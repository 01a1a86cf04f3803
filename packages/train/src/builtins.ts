/**
 * The plugins `supcon` registers before a config's own, and the part each config slot gets when
 * a config leaves it out (so a config of just `data`, `loss` and `train` runs).
 */
import { createDefineConfig } from '@supcon/core';
import type { ResolveOptions } from '@supcon/core';
import { augmentPlugin } from '@supcon/augment';
import { backbonesPlugin } from '@supcon/backbones';
import { dataPlugin } from '@supcon/data';
import { evalPlugin } from '@supcon/eval';
import { lossesPlugin } from '@supcon/losses';
import { optimPlugin } from '@supcon/optim';
import { samplersPlugin } from '@supcon/samplers';

/** Built-in plugins, in registration order. */
export const builtinPlugins = [dataPlugin, lossesPlugin, backbonesPlugin, optimPlugin, augmentPlugin, samplersPlugin, evalPlugin] as const;

/**
 * Defaults for the parts a config omits: a small CNN encoder with a 128-d MLP head, the SimCLR
 * augmentation, SGD (momentum 0.9, weight decay 1e-4 on kernels) with cosine decay, random
 * batches, two views, and a linear probe plus kNN at the end.
 */
export const builtinDefaults: NonNullable<ResolveOptions['defaults']> = {
  backbone: { type: 'small-cnn' },
  head: { type: 'mlp', dim: 128 },
  augment: { type: 'simclr' },
  sampler: { type: 'random', dropLast: true },
  optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4 },
  schedule: { type: 'cosine' },
  eval: [{ type: 'linear-probe' }, { type: 'knn' }],
  train: { views: 2 },
};

/**
 * Identity at run time; its types allow the built-in parts' `type` names and options plus those
 * of the plugins in the config's `plugins`, so a typo fails `tsc` in `supcon.config.ts`.
 */
export const defineConfig = /* @__PURE__ */ createDefineConfig(builtinPlugins);
