import { definePlugin, defineFactory } from '@supcon/core';
import { z } from 'zod';

/** Options of the example evaluator; every field has a default, so `{ type: 'eval-example' }` is enough. */
export const exampleSchema = z.object({
  scale: z.number().positive().default(1),
});

/**
 * The package's plugin: place it in a config's `plugins` list or pass it to `registry.use()`.
 * Importing this module registers nothing.
 */
export const evalPlugin = definePlugin({
  name: '@supcon/eval',
  version: '0.0.1',
  evaluators: {
    'eval-example': defineFactory({
      schema: exampleSchema,
      description: 'Example evaluator scaffolded by @supcon/tools:plugin-package; replace it.',
      create: (options) => ({ scale: options.scale }),
    }),
  },
});
