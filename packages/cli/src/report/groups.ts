/**
 * `supcon compare --group a,b,c --group d,e,f`: one row per group of runs (seeds of one config),
 * each figure as mean ± standard deviation over the group's runs.
 */
import { corruptionErrors, relativeMce } from './compare';
import type { RunArtifacts } from './run-dir';
import { numberAt } from './run-dir';

/** Mean, sample standard deviation (n - 1; 0 for one run) and count of the runs that have the figure. */
export interface Spread {
  mean: number;
  std: number;
  n: number;
}

export interface GroupRow {
  /** The group's runs, as given. */
  runs: string[];
  loss: string;
  finalLoss?: Spread;
  linearProbeTop1?: Spread;
  knnTop1?: Spread;
  meanCorruptionError?: Spread;
  /** Each run's mCE relative to the baseline group's per-corruption mean errors. */
  mCE?: Spread;
  wallTimeSeconds?: Spread;
}

/** Mean and sample standard deviation of the defined values; undefined when none is. */
export function spread(values: readonly (number | undefined)[]): Spread | undefined {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (xs.length === 0) return undefined;
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, n: xs.length };
}

function meanErrors(runs: RunArtifacts[]): Record<string, number> | undefined {
  const all = runs.map((r) => corruptionErrors(r.summary)).filter((e): e is Record<string, number> => e !== undefined);
  if (all.length === 0) return undefined;
  const names = Object.keys(all[0]).filter((k) => all.every((e) => typeof e[k] === 'number'));
  return Object.fromEntries(names.map((k) => [k, all.reduce((s, e) => s + e[k], 0) / all.length]));
}

/** The group mCE is relative to: `baselineIndex`, else the first group of cross-entropy runs, else the first. */
export function groupsBaseline(groups: readonly RunArtifacts[][], baselineIndex?: number): number {
  return baselineIndex ?? Math.max(0, groups.findIndex((g) => g.every((r) => r.summary.stage === 'ce')));
}

/**
 * One row per group. mCE is relative to `baselineIndex` (default: the first group whose runs are
 * cross-entropy runs, else the first group): per corruption, the baseline group's mean error.
 * @throws if a group is empty, or the runs of a group used different losses.
 */
export function compareGroups(groups: RunArtifacts[][], baselineIndex?: number): GroupRow[] {
  groups.forEach((g, i) => {
    if (g.length === 0) throw new Error(`compare: --group ${i + 1} is empty`);
  });
  const lossOf = (run: RunArtifacts) => String((run.config.loss as Record<string, unknown> | undefined)?.type ?? run.summary.stage ?? '?');
  for (const g of groups) {
    const losses = [...new Set(g.map(lossOf))];
    if (losses.length > 1) throw new Error(`compare: a group mixes losses (${losses.join(', ')}): ${g.map((r) => r.dir).join(', ')}`);
  }
  const base = groupsBaseline(groups, baselineIndex);
  const baseErrors = meanErrors(groups[base] ?? []);
  return groups.map((g) => ({
    runs: g.map((r) => r.dir),
    loss: lossOf(g[0]),
    finalLoss: spread(g.map((r) => numberAt(r.summary, 'finalLoss'))),
    linearProbeTop1: spread(g.map((r) => numberAt(r.summary, 'linearProbe.top1'))),
    knnTop1: spread(g.map((r) => numberAt(r.summary, 'knn.top1'))),
    meanCorruptionError: spread(g.map((r) => numberAt(r.summary, 'corruption.meanError'))),
    mCE: spread(g.map((r) => relativeMce(corruptionErrors(r.summary), baseErrors))),
    wallTimeSeconds: spread(g.map((r) => numberAt(r.summary, 'wallTimeSeconds'))),
  }));
}

/** A plain-text table of `compareGroups`' rows: `mean ± std` (percent for accuracies and errors). */
export function formatGroupTable(rows: GroupRow[]): string {
  const fmt = (s: Spread | undefined, scale: number, digits: number) => (s === undefined ? '–' : `${(scale * s.mean).toFixed(digits)} ± ${(scale * s.std).toFixed(digits)}`);
  const header = ['loss', 'runs', 'final loss', 'probe top-1 %', 'kNN top-1 %', 'corr. err %', 'mCE', 'time s'];
  const body = rows.map((r) => [
    r.loss,
    String(r.runs.length),
    fmt(r.finalLoss, 1, 4),
    fmt(r.linearProbeTop1, 100, 2),
    fmt(r.knnTop1, 100, 2),
    fmt(r.meanCorruptionError, 100, 2),
    fmt(r.mCE, 1, 1),
    fmt(r.wallTimeSeconds, 1, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
