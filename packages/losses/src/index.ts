import { definePlugin, defineFactory } from '@supcon/core';
import { z } from 'zod';

/** Options of the example loss; every field has a default, so `{ type: 'losses-example' }` is enough. */
export const exampleSchema = z.object({
  scale: z.number().positive().default(1),
});

/**
 * The package's plugin: place it in a config's `plugins` list or pass it to `registry.use()`.
 * Importing this module registers nothing.
 */
export const lossesPlugin = definePlugin({
  name: '@supcon/losses',
  version: '0.0.1',
  losses: {
    'losses-example': defineFactory({
      schema: exampleSchema,
      description: 'Example loss scaffolded by @supcon/tools:plugin-package; replace it.',
      create: (options) => ({ scale: options.scale }),
    }),
  },
});
