/**
 * @supcon/cli: the `supcon` command, a thin shell over @supcon/train (argument parsing, progress
 * display, report files and prompts). To train from code, use @supcon/train's `train()`.
 */

export { main, VERSION } from './main';
export type { MainIo } from './main';
export { builtinPlugins, builtinDefaults, defineConfig } from '@supcon/train';
export { train, evalRun } from './train/run';
export type { TrainOptions, TrainResult, EvalRunOptions, BackendStarter } from './train/run';
export { progressHooks } from './train/progress';
export type { ProgressOptions } from './train/progress';
export { readRun, renderReport, renderChart, compareRuns, formatCompareTable, relativeMce, corruptionErrors, numberAt } from './report';
export type { RunArtifacts, MetricLine, EmbeddingMap, CompareRow } from './report';
export { writeReport } from './commands/run-commands';
export { demoConfigs } from './commands/demo';

export { sweepAxisStats, sweepReportHtml, sweepCounts, sweepValueLabel } from './report/sweep-html';
export type { SweepAxisStats, SweepAxisPoint, SweepSpread, SweepCounts } from './report/sweep-html';
