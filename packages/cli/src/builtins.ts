/**
 * The plugins `supcon` registers before a config's own, and the part each config slot gets when
 * a config leaves it out (so a config of just `data`, `loss` and `train` runs).
 */
import type { ResolveOptions } from '@supcon/core';
import { augmentPlugin } from '@supcon/augment';
import { evalPlugin } from '@supcon/eval';

/** Built-in plugins, in registration order. */
export const builtinPlugins = [augmentPlugin, evalPlugin] as const;

/** Defaults for the parts a config omits. */
export const builtinDefaults: NonNullable<ResolveOptions['defaults']> = {
  augment: { type: 'simclr' },
  eval: [{ type: 'linear-probe' }, { type: 'knn' }],
  train: { views: 2 },
};
