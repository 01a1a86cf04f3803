import type { RunArtifacts } from './run-dir';
import { numberAt } from './run-dir';

export interface CompareRow {
  run: string;
  loss: string;
  finalLoss?: number;
  linearProbeTop1?: number;
  knnTop1?: number;
  meanCorruptionError?: number;
  /** Mean corruption error relative to the first run (the baseline), in percent. */
  mCE?: number;
  wallTimeSeconds?: number;
}

/** Per-corruption mean errors (over severities) of a run's corruption evaluation, keyed by corruption name. */
export function corruptionErrors(summary: Record<string, unknown>): Record<string, number> | undefined {
  const entry = summary.corruption as Record<string, unknown> | undefined;
  // @supcon/eval writes `corruptions: { name: { error, perSeverity } }`; plain `{ name: error }` maps are read too.
  const errors = (entry?.corruptions ?? entry?.errors) as Record<string, unknown> | undefined;
  if (!errors || typeof errors !== 'object') return undefined;
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(errors)) {
    const value = typeof v === 'number' ? v : (v as Record<string, unknown> | null)?.error;
    if (typeof value === 'number') out[name] = value;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * mCE as in Hendrycks & Dietterich: CE_c = E_c / E_c(baseline) per corruption, mCE = 100 * mean_c CE_c,
 * over the corruptions both runs have. Undefined when either run lacks corruption errors.
 */
export function relativeMce(errors: Record<string, number> | undefined, baseline: Record<string, number> | undefined): number | undefined {
  if (!errors || !baseline) return undefined;
  const shared = Object.keys(errors).filter((k) => typeof baseline[k] === 'number' && baseline[k] > 0);
  if (shared.length === 0) return undefined;
  return (100 * shared.reduce((sum, k) => sum + errors[k] / baseline[k], 0)) / shared.length;
}

/** The run mCE is relative to: `baselineIndex`, else the first run whose stage is 'ce', else the first. */
export function runsBaseline(runs: readonly RunArtifacts[], baselineIndex?: number): number {
  return baselineIndex ?? Math.max(0, runs.findIndex((r) => r.summary.stage === 'ce'));
}

/** One row per run; mCE is relative to `baselineIndex` (default: the run whose stage is 'ce', else the first). */
export function compareRuns(runs: RunArtifacts[], baselineIndex?: number): CompareRow[] {
  const base = runsBaseline(runs, baselineIndex);
  const baseErrors = runs[base] ? corruptionErrors(runs[base].summary) : undefined;
  return runs.map((run) => ({
    run: run.dir,
    loss: String((run.config.loss as Record<string, unknown> | undefined)?.type ?? run.summary.stage ?? '?'),
    finalLoss: numberAt(run.summary, 'finalLoss'),
    linearProbeTop1: numberAt(run.summary, 'linearProbe.top1'),
    knnTop1: numberAt(run.summary, 'knn.top1'),
    meanCorruptionError: numberAt(run.summary, 'corruption.meanError'),
    mCE: relativeMce(corruptionErrors(run.summary), baseErrors),
    wallTimeSeconds: numberAt(run.summary, 'wallTimeSeconds'),
  }));
}

/** A plain-text table (fixed-width columns) of `compareRuns`' rows. */
export function formatCompareTable(rows: CompareRow[]): string {
  const pct = (v: number | undefined) => (v === undefined ? '–' : (100 * v).toFixed(2));
  const header = ['run', 'loss', 'final loss', 'probe top-1 %', 'kNN top-1 %', 'corr. err %', 'mCE', 'time s'];
  const body = rows.map((r) => [
    r.run,
    r.loss,
    r.finalLoss === undefined ? '–' : r.finalLoss.toFixed(4),
    pct(r.linearProbeTop1),
    pct(r.knnTop1),
    pct(r.meanCorruptionError),
    r.mCE === undefined ? '–' : r.mCE.toFixed(1),
    r.wallTimeSeconds === undefined ? '–' : r.wallTimeSeconds.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
