import { definePlugin, defineFactory } from '@supcon/core';
import { z } from 'zod';

/** Options of the example augmentation; every field has a default, so `{ type: 'augment-example' }` is enough. */
export const exampleSchema = z.object({
  scale: z.number().positive().default(1),
});

/**
 * The package's plugin: place it in a config's `plugins` list or pass it to `registry.use()`.
 * Importing this module registers nothing.
 */
export const augmentPlugin = definePlugin({
  name: '@supcon/augment',
  version: '0.0.1',
  augmentations: {
    'augment-example': defineFactory({
      schema: exampleSchema,
      description: 'Example augmentation scaffolded by @supcon/tools:plugin-package; replace it.',
      create: (options) => ({ scale: options.scale }),
    }),
  },
});
