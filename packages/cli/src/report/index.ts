export { readRun, numberAt } from './run-dir';
export type { RunArtifacts, MetricLine, EmbeddingMap } from './run-dir';
export { renderReport, renderChart } from './html';
export { compareRuns, formatCompareTable, relativeMce, corruptionErrors } from './compare';
export type { CompareRow } from './compare';
export { compareGroups, formatGroupTable, spread } from './groups';
export type { GroupRow, Spread } from './groups';
