import { definePlugin, defineFactory } from '@supcon/core';
import { z } from 'zod';

/** Options of the example sampler; every field has a default, so `{ type: 'samplers-example' }` is enough. */
export const exampleSchema = z.object({
  scale: z.number().positive().default(1),
});

/**
 * The package's plugin: place it in a config's `plugins` list or pass it to `registry.use()`.
 * Importing this module registers nothing.
 */
export const samplersPlugin = definePlugin({
  name: '@supcon/samplers',
  version: '0.0.1',
  samplers: {
    'samplers-example': defineFactory({
      schema: exampleSchema,
      description: 'Example sampler scaffolded by @supcon/tools:plugin-package; replace it.',
      create: (options) => ({ scale: options.scale }),
    }),
  },
});
