/**
 * @supcon/eval for browsers (the `browser` export condition): the same exports as the Node entry
 * (index.ts), except that a string `corruption.baseline` is a URL (relative to the page) to fetch,
 * not a file to read. Importing this module registers nothing.
 */
import type { z } from 'zod';
import type { EvaluatorPart } from '@supcon/core';
import { corruptionEvaluator } from './evaluators';
import type { CorruptionEvaluatorOptions, corruptionSchema } from './evaluators';
import { createEvalPlugin } from './plugin';
import { fetchText } from './read-text';

export * from './api';

/** See the Node entry's `createCorruptionEvaluator`; a string baseline is fetched as a URL. */
export function createCorruptionEvaluator(cfg: z.infer<typeof corruptionSchema>, options: CorruptionEvaluatorOptions = {}): EvaluatorPart {
  return corruptionEvaluator(cfg, { readText: fetchText, ...options });
}

/** The package's plugin (see the Node entry); a string `corruption.baseline` is fetched as a URL. */
export const evalPlugin = /* @__PURE__ */ createEvalPlugin({ readText: fetchText });
