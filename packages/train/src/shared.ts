/** What both entries (Node and browser) export besides `train` and `evaluate`. */
export { builtinPlugins, builtinDefaults, defineConfig } from './builtins';
export { createProcedure, stageOf, encodeDataset, monitorAccuracy } from './procedure';
export type { Procedure, ProcedureOptions, Stage } from './procedure';
export { configIssues, trainabilityIssues, assertTrainable, preflight } from './preflight';
export type { FolderCheck, TrainabilityInput } from './preflight';
export { pca2d } from './pca';
export type { BackendStarter, ConfigSource, EvaluateOptions, TrainOptions, TrainResult } from './run';
