/**
 * @supcon/eval: linear probe, kNN, retrieval and clustering metrics, corruption robustness, and
 * the plugin with their evaluators. This is the Node entry; browser.ts is the same for browsers
 * (the `browser` export condition), where a string `corruption.baseline` is a URL, not a file.
 * Importing this module registers nothing.
 */
import type { z } from 'zod';
import type { EvaluatorPart } from '@supcon/core';
import { corruptionEvaluator } from './evaluators';
import type { CorruptionEvaluatorOptions, corruptionSchema } from './evaluators';
import { createEvalPlugin } from './plugin';
import { readTextFile } from './read-text-node';

export * from './api';

/**
 * `corruption`: trains a linear probe on clean train features, then classifies corrupted test
 * images through `preprocess` + encoder + probe. Reports `cleanError`, per corruption `error`
 * (mean over severities) and `perSeverity`, `meanError` (mean over corruptions) and, with a
 * baseline (its errors, or a path to another run's summary.json), `mCE` and `ce` (percentages).
 * Without a baseline mCE is omitted: compute it across runs with `computeMce`.
 */
export function createCorruptionEvaluator(cfg: z.infer<typeof corruptionSchema>, options: CorruptionEvaluatorOptions = {}): EvaluatorPart {
  return corruptionEvaluator(cfg, { readText: readTextFile, ...options });
}

/**
 * The package's plugin with evaluators `linear-probe`, `knn`, `retrieval`, `clustering` and
 * `corruption`. Place it in a config's `plugins` list or pass it to `registry.use()`.
 */
export const evalPlugin = /* @__PURE__ */ createEvalPlugin({ readText: readTextFile });
