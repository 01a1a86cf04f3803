import { defineFactory, definePlugin } from '@supcon/core';
import {
  clusteringSchema,
  corruptionSchema,
  createClusteringEvaluator,
  createCorruptionEvaluator,
  createKnnEvaluator,
  createLinearProbeEvaluator,
  createRetrievalEvaluator,
  knnSchema,
  linearProbeSchema,
  retrievalSchema,
} from './evaluators';

export * from './features';
export * from './metrics';
export * from './probe';
export { minimizeLbfgs, DEFAULT_FTOL } from './lbfgs';
export type { LbfgsOptions, LbfgsProblem, LbfgsResult, LbfgsStopReason, LinePoint, ValueAndGradient } from './lbfgs';
export { multinomialObjective } from './multinomial';
export type { MultinomialObjective } from './multinomial';
export * from './knn';
export * from './retrieval';
export * from './clustering';
export * from './corruptions';
export * from './mce';
export * from './evaluators';

/**
 * The package's plugin with evaluators `linear-probe`, `knn`, `retrieval`, `clustering` and
 * `corruption`. Place it in a config's `plugins` list or pass it to `registry.use()`.
 * Importing this module registers nothing.
 */
export const evalPlugin = definePlugin({
  name: '@supcon/eval',
  version: '0.1.0',
  evaluators: {
    'linear-probe': defineFactory({
      schema: linearProbeSchema,
      description: 'Linear classifier on frozen features: top-1/top-5, per-class accuracy, confusion matrix.',
      create: (options) => createLinearProbeEvaluator(options),
    }),
    knn: defineFactory({
      schema: knnSchema,
      description: 'Weighted kNN (cosine, exp(sim/τ) votes, Wu et al. 2018): top-1/top-5.',
      create: (options) => createKnnEvaluator(options),
    }),
    retrieval: defineFactory({
      schema: retrievalSchema,
      description: 'Retrieval metrics: precision@1, recall@k, MAP@R, R-precision.',
      create: (options) => createRetrievalEvaluator(options),
    }),
    clustering: defineFactory({
      schema: clusteringSchema,
      description: 'k-means (k = classes, seeded k-means++) NMI with the labels.',
      create: (options) => createClusteringEvaluator(options),
    }),
    corruption: defineFactory({
      schema: corruptionSchema,
      description: 'ImageNet-C style corruption errors (5 severities) and mCE against a baseline run.',
      create: (options) => createCorruptionEvaluator(options),
    }),
  },
});
