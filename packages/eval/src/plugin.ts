/** The package's plugin, built with the way its entry reads files (see index.ts and browser.ts). */
import { defineFactory, definePlugin } from '@supcon/core';
import {
  clusteringSchema,
  corruptionEvaluator,
  corruptionSchema,
  createClusteringEvaluator,
  createKnnEvaluator,
  createLinearProbeEvaluator,
  createRetrievalEvaluator,
  knnSchema,
  linearProbeSchema,
  retrievalSchema,
} from './evaluators';
import type { CorruptionEvaluatorOptions } from './evaluators';

/** Options of {@link createEvalPlugin}. */
export type EvalPluginOptions = CorruptionEvaluatorOptions;

/**
 * The plugin with evaluators `linear-probe`, `knn`, `retrieval`, `clustering` and `corruption`;
 * `readText` reads a `corruption.baseline` given as a string (`evalPlugin` reads a file in Node
 * and fetches a URL in browsers).
 */
export function createEvalPlugin(options: EvalPluginOptions = {}) {
  return definePlugin({
    name: '@supcon/eval',
    version: '0.1.0',
    evaluators: {
      'linear-probe': defineFactory({
        schema: linearProbeSchema,
        description: 'Linear classifier on frozen features: top-1/top-5, per-class accuracy, confusion matrix.',
        create: (o) => createLinearProbeEvaluator(o),
      }),
      knn: defineFactory({
        schema: knnSchema,
        description: 'Weighted kNN (cosine, exp(sim/τ) votes, Wu et al. 2018): top-1/top-5.',
        create: (o) => createKnnEvaluator(o),
      }),
      retrieval: defineFactory({
        schema: retrievalSchema,
        description: 'Retrieval metrics: precision@1, recall@k, MAP@R, R-precision.',
        create: (o) => createRetrievalEvaluator(o),
      }),
      clustering: defineFactory({
        schema: clusteringSchema,
        description: 'k-means (k = classes, seeded k-means++) NMI with the labels.',
        create: (o) => createClusteringEvaluator(o),
      }),
      corruption: defineFactory({
        schema: corruptionSchema,
        description: 'ImageNet-C style corruption errors (5 severities) and mCE against a baseline run.',
        create: (o) => corruptionEvaluator(o, options),
      }),
    },
  });
}
