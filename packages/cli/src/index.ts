/**
 * @supcon/cli: the `supcon` command and its programmatic API. It registers the built-in plugins
 * (losses, backbones, optimisers, augmentations, samplers, datasets, evaluators) before a
 * config's own, starts the backend the config names, and runs @supcon/core's runner.
 */
import { createDefineConfig } from '@supcon/core';
import { builtinPlugins } from './builtins';

export { main, VERSION } from './main';
export type { MainIo } from './main';
export { builtinPlugins, builtinDefaults } from './builtins';
export { train, evalRun } from './train/run';
export type { TrainOptions, TrainResult, EvalRunOptions, BackendStarter } from './train/run';
export { createTrainingTask, stageOf, encodeDataset } from './train/task';
export type { Stage, TrainingTask, TrainingTaskOptions } from './train/task';
export { progressHooks } from './train/progress';
export type { ProgressOptions } from './train/progress';
export { pca2d } from './train/pca';
export { readRun, renderReport, renderChart, compareRuns, formatCompareTable, relativeMce, corruptionErrors, numberAt } from './report';
export type { RunArtifacts, MetricLine, EmbeddingMap, CompareRow } from './report';
export { writeReport } from './commands/run-commands';
export { demoConfigs } from './commands/demo';

/**
 * Identity at run time; its types allow the built-in parts' `type` names and options plus those
 * of the plugins in the config's `plugins`, so a typo fails `tsc` in `supcon.config.ts`.
 */
export const defineConfig = createDefineConfig(builtinPlugins);
