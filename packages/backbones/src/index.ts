import { definePlugin, defineFactory } from '@supcon/core';
import { z } from 'zod';

/** Options of the example backbone; every field has a default, so `{ type: 'backbones-example' }` is enough. */
export const exampleSchema = z.object({
  scale: z.number().positive().default(1),
});

/**
 * The package's plugin: place it in a config's `plugins` list or pass it to `registry.use()`.
 * Importing this module registers nothing.
 */
export const backbonesPlugin = definePlugin({
  name: '@supcon/backbones',
  version: '0.0.1',
  backbones: {
    'backbones-example': defineFactory({
      schema: exampleSchema,
      description: 'Example backbone scaffolded by @supcon/tools:plugin-package; replace it.',
      create: (options) => ({ scale: options.scale }),
    }),
  },
});
