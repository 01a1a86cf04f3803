import { definePlugin, defineFactory } from '@supcon/core';
import { z } from 'zod';

/** Options of the example dataset; every field has a default, so `{ type: 'data-example' }` is enough. */
export const exampleSchema = z.object({
  scale: z.number().positive().default(1),
});

/**
 * The package's plugin: place it in a config's `plugins` list or pass it to `registry.use()`.
 * Importing this module registers nothing.
 */
export const dataPlugin = definePlugin({
  name: '@supcon/data',
  version: '0.0.1',
  datasets: {
    'data-example': defineFactory({
      schema: exampleSchema,
      description: 'Example dataset scaffolded by @supcon/tools:plugin-package; replace it.',
      create: (options) => ({ scale: options.scale }),
    }),
  },
});
