/**
 * Everything the package exports in Node and in browsers alike; index.ts (Node) and browser.ts
 * add the parts that read a baseline file: `createCorruptionEvaluator` and `evalPlugin`.
 */
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
export {
  linearProbeSchema,
  knnSchema,
  retrievalSchema,
  clusteringSchema,
  corruptionSchema,
  createLinearProbeEvaluator,
  createKnnEvaluator,
  createRetrievalEvaluator,
  createClusteringEvaluator,
} from './evaluators';
export type { LinearProbeConfig, ReadText, CorruptionEvaluatorOptions } from './evaluators';
export { createEvalPlugin } from './plugin';
export type { EvalPluginOptions } from './plugin';
