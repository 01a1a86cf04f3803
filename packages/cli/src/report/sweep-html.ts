/**
 * A sweep's `<out>/report.html` (`supcon sweep`, `supcon sweep --gather`): one self-contained page
 * with the runs' counts, then for each grid key other than `seed` (and each `vary` key) the
 * accuracy at each of its values (mean ± sample standard deviation over the finished runs that
 * share the value: over the seeds and the other keys), the spread of those means (the stability
 * measure: how much the accuracy moves with the key), and every run's row.
 *
 * `sweepAxisStats` is the aggregation alone, for the CLI's text output and the docs.
 */
import type { EChartsOption } from 'echarts';
import type { Sweep, SweepAxis, SweepResult } from '@supcon/train';
import { spread } from './groups';
import { valueAxis } from './html';
import { formatNumber, labelOf, labelWithUnit } from './labels';
import { PALETTE, chartBlock, escapeHtml, frame, page } from './page';
import type { ChartSpec } from './page';

/** The grid key that is averaged over, never shown as an axis of its own. */
export const SEED_KEY = 'seed';

/** Accuracy at one value of a key, over the finished runs that have that value. */
export interface SweepAxisPoint {
  /** The value, as the sweep file gives it (a `vary` key's base point: the base config's value, undefined where it has none). */
  value: unknown;
  /** The value as text: a string as it is, anything else as JSON (`0.05`, `{"type":"sgd"}`); `default` for none. */
  label: string;
  /** A `vary` key's point made of the grid points' base runs (the key at the base config's value). */
  base?: boolean;
  /** Finished (`done`) runs with this value; failed, stopped, running and pending runs are left out. */
  n: number;
  /** Mean and sample standard deviation (n − 1; 0 for one run) of linear probe top-1 (fractions), over the runs that have it. */
  probeMean?: number;
  probeStd?: number;
  /** The same for kNN top-1. */
  knnMean?: number;
  knnStd?: number;
}

/** How much the linear probe's per-value mean moves along a key (fractions). */
export interface SweepSpread {
  /** Sample standard deviation (n − 1; 0 for one value) of the per-value means. */
  std: number;
  /** max − min of the per-value means. */
  range: number;
  /** How many values have a mean. */
  n: number;
}

export interface SweepAxisStats {
  key: string;
  /**
   * grid: every run at each value (with `vary` in the sweep, the grid points' base runs only);
   * vary: the runs that vary this key, and the base runs as the point at the base's value.
   */
  kind: 'grid' | 'vary';
  /** One per value of the key, in the sweep file's order (values no finished run has included, with n = 0). */
  points: SweepAxisPoint[];
  /** Undefined when no value has a linear probe mean. */
  spread?: SweepSpread;
}

export type SweepCounts = Record<SweepResult['status'], number>;

const STATUSES: readonly SweepResult['status'][] = ['done', 'failed', 'stopped', 'running', 'pending'];

/** How many runs have each status. */
export function sweepCounts(results: readonly SweepResult[]): SweepCounts {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as SweepCounts;
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** A value as text: strings as they are, the rest as JSON; `default` for none (a base config that leaves a key to the defaults). */
export function sweepValueLabel(value: unknown): string {
  if (value === undefined) return 'default';
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/** Values are matched by their JSON (results.json round-trips objects, and drops undefined ones). */
const sameValue = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

function point(value: unknown, runs: readonly SweepResult[], base?: boolean): SweepAxisPoint {
  const probe = spread(runs.map((r) => r.linearProbeTop1));
  const knn = spread(runs.map((r) => r.knnTop1));
  return {
    value,
    label: base ? `${sweepValueLabel(value)} (base)` : sweepValueLabel(value),
    ...(base ? { base: true } : {}),
    n: runs.length,
    ...(probe ? { probeMean: probe.mean, probeStd: probe.std } : {}),
    ...(knn ? { knnMean: knn.mean, knnStd: knn.std } : {}),
  };
}

function spreadOf(points: readonly SweepAxisPoint[]): SweepSpread | undefined {
  const means = points.map((p) => p.probeMean).filter((m): m is number => m !== undefined);
  const s = spread(means);
  return s ? { std: s.std, range: Math.max(...means) - Math.min(...means), n: s.n } : undefined;
}

/** A `vary` key's values with its base value among them: where the file has it, else in order (numbers given ascending), else first. */
function withBase(values: readonly unknown[], base: unknown): { value: unknown; base: boolean }[] {
  const at = values.findIndex((v) => sameValue(v, base));
  const points = values.map((value, i) => ({ value, base: i === at }));
  if (at >= 0) return points;
  const numbers = typeof base === 'number' && values.every((v) => typeof v === 'number');
  const ascending = numbers && values.every((v, i) => i === 0 || (values[i - 1] as number) <= (v as number));
  const pos = ascending ? values.filter((v) => (v as number) < (base as number)).length : 0;
  points.splice(pos, 0, { value: base, base: true });
  return points;
}

/**
 * For each grid key but `seed`, then each `vary` key: linear probe and kNN top-1 at each of its
 * values, mean ± sample std over the finished runs with the value (grid keys: over seeds and the
 * other grid keys; with `vary` in the sweep, the grid points' base runs only. vary keys: the runs
 * that vary the key, over seeds and the grid keys, and the base runs as the point at the base's
 * value), and the spread (std and range) of the linear probe's per-value means. Only `done` runs count.
 */
export function sweepAxisStats(sweep: Sweep, results: readonly SweepResult[]): SweepAxisStats[] {
  const done = results.filter((r) => r.status === 'done');
  const vary = sweep.vary ?? [];
  const baseRuns = done.filter((r) => r.varied === undefined);
  const gridRuns = vary.length ? baseRuns : done;
  const grid = sweep.grid
    .filter((axis) => axis.key !== SEED_KEY)
    .map((axis): SweepAxisStats => {
      const points = axis.values.map((value) => point(value, gridRuns.filter((r) => sameValue(r.values[axis.key], value))));
      const s = spreadOf(points);
      return { key: axis.key, kind: 'grid', points, ...(s ? { spread: s } : {}) };
    });
  const baseRow = results.find((r) => r.varied === undefined);
  const varied = vary.map((axis): SweepAxisStats => {
    const baseValue = baseRow?.values[axis.key];
    const points = withBase(axis.values, baseValue).map((p) =>
      p.base ? point(p.value, baseRuns, true) : point(p.value, done.filter((r) => r.varied === axis.key && sameValue(r.values[axis.key], p.value))),
    );
    const s = spreadOf(points);
    return { key: axis.key, kind: 'vary', points, ...(s ? { spread: s } : {}) };
  });
  return [...grid, ...varied];
}

/** What a point averages over, in words. */
function averagedOver(sweep: Sweep, stats: SweepAxisStats): string {
  const vary = sweep.vary ?? [];
  const others = sweep.grid.map((a) => a.key).filter((k) => k !== stats.key && k !== SEED_KEY);
  const parts = [
    ...(sweep.grid.some((a) => a.key === SEED_KEY) ? ['seeds'] : []),
    ...(others.length ? [`the ${stats.kind === 'grid' ? 'other ' : ''}grid key${others.length > 1 ? 's' : ''} (${others.join(', ')})`] : []),
  ];
  const over = parts.length ? parts.join(' and ') : 'the runs with that value';
  if (stats.kind === 'vary') return `${over}, the other keys at the base's values`;
  return vary.length ? `${over}, base runs only (the vary keys at the base's values)` : over;
}

const pct = (key: string, v: number | undefined) => formatNumber(key, v);
const meanStd = (key: string, mean: number | undefined, std: number | undefined) => (mean === undefined ? '–' : `${pct(key, mean)} ± ${pct(key, std)}`);

function cell(key: string, value: unknown, text: string, numeric: boolean): string {
  return `<td${numeric ? ' class="num"' : ''} data-key="${escapeHtml(key)}" data-value="${escapeHtml(JSON.stringify(value ?? null))}">${escapeHtml(text)}</td>`;
}

/** Column heads; `numeric(i)`: the column holds numbers (right-aligned). */
function head(labels: readonly string[], numeric: (i: number) => boolean): string {
  return `<thead><tr>${labels.map((l, i) => `<th${numeric(i) ? ' class="num"' : ''}>${escapeHtml(l)}</th>`).join('')}</tr></thead>`;
}

function axisTable(stats: SweepAxisStats): string {
  const body = stats.points
    .map(
      (p) =>
        `<tr>${cell('value', p.value, p.label, false)}${cell('runs', p.n, String(p.n), true)}` +
        `${cell('linearProbeTop1', p.probeMean === undefined ? null : { mean: p.probeMean, std: p.probeStd }, meanStd('linearProbeTop1', p.probeMean, p.probeStd), true)}` +
        `${cell('knnTop1', p.knnMean === undefined ? null : { mean: p.knnMean, std: p.knnStd }, meanStd('knnTop1', p.knnMean, p.knnStd), true)}</tr>`,
    )
    .join('\n');
  return `<div class="table-wrap"><table class="sweep-axis" data-key="${escapeHtml(stats.key)}">${head([stats.key, labelOf('runs'), labelWithUnit('linearProbeTop1'), labelWithUnit('knnTop1')], (i) => i >= 1)}<tbody>\n${body}\n</tbody></table></div>`;
}

/** Mean lines with a ± std band (a transparent lower bound and the band's width stacked on it: plain JSON, no functions). */
function axisChart(stats: SweepAxisStats, index: number, over: string): ChartSpec | undefined {
  const metrics = [
    { key: 'linearProbeTop1', mean: (p: SweepAxisPoint) => p.probeMean, std: (p: SweepAxisPoint) => p.probeStd },
    { key: 'knnTop1', mean: (p: SweepAxisPoint) => p.knnMean, std: (p: SweepAxisPoint) => p.knnStd },
  ].filter((m) => stats.points.some((p) => m.mean(p) !== undefined));
  if (metrics.length === 0) return undefined;
  const categories = stats.points.map((p) => p.label);
  const round = (v: number) => Number((100 * v).toPrecision(6));
  const series: Record<string, unknown>[] = [];
  metrics.forEach((m, i) => {
    const color = PALETTE[i % PALETTE.length];
    const name = labelOf(m.key);
    const stack = `band-${m.key}`;
    series.push({
      name,
      type: 'line',
      symbolSize: 7,
      connectNulls: true,
      itemStyle: { color },
      lineStyle: { color, width: 2 },
      dimensions: [stats.key, `${labelWithUnit(m.key)} mean`, 'std (%)', labelOf('runs')],
      encode: { x: 0, y: 1, tooltip: [1, 2, 3] },
      data: stats.points.map((p) => {
        const mean = m.mean(p);
        return mean === undefined ? { name: p.label, value: [p.label, null, null, p.n] } : { name: p.label, value: [p.label, round(mean), round(m.std(p) ?? 0), p.n] };
      }),
    });
    series.push({
      name: `${name} − std`,
      type: 'line',
      stack,
      silent: true,
      symbol: 'none',
      lineStyle: { opacity: 0 },
      data: stats.points.map((p) => (m.mean(p) === undefined ? null : round(m.mean(p)! - (m.std(p) ?? 0)))),
    });
    series.push({
      name: `${name} ± std`,
      type: 'line',
      stack,
      silent: true,
      symbol: 'none',
      lineStyle: { opacity: 0 },
      areaStyle: { color, opacity: 0.18 },
      data: stats.points.map((p) => (m.mean(p) === undefined ? null : round(2 * (m.std(p) ?? 0)))),
    });
  });
  const base = frame(`Top-1 by ${stats.key}${stats.kind === 'vary' ? ' (one at a time)' : ''}: mean ± std`, { legend: true });
  return {
    id: `axis-${index}`,
    description: `Linear probe and kNN top-1 against ${stats.key}, mean and standard deviation over ${over}`,
    height: 380,
    option: {
      ...base,
      legend: { ...(base.legend as Record<string, unknown>), data: metrics.map((m) => labelOf(m.key)) },
      tooltip: { trigger: 'item' },
      xAxis: { type: 'category', data: categories, name: stats.key, nameLocation: 'middle', nameGap: 28, boundaryGap: false },
      yAxis: valueAxis('top-1 (%)', { axisLabel: { formatter: '{value}%' } }),
      series,
    } as EChartsOption,
  };
}

function spreadTable(all: readonly SweepAxisStats[]): string {
  const body = all
    .map(
      (s) =>
        `<tr>${cell('key', s.key, s.key, false)}${cell('kind', s.kind, s.kind, false)}${cell('values', s.spread?.n ?? 0, String(s.spread?.n ?? 0), true)}` +
        `${cell('std', s.spread?.std ?? null, pct('linearProbeTop1', s.spread?.std), true)}${cell('range', s.spread?.range ?? null, pct('linearProbeTop1', s.spread?.range), true)}</tr>`,
    )
    .join('\n');
  return `<div class="table-wrap"><table class="sweep-spread">${head(['key', 'how', 'values with a mean', 'std of the means (pp)', 'range of the means (pp)'], (i) => i >= 2)}<tbody>\n${body}\n</tbody></table></div>`;
}

function resultsTable(sweep: Sweep, results: readonly SweepResult[]): string {
  const varyKeys = (sweep.vary ?? []).map((a) => a.key);
  const keys = [...sweep.grid.map((a) => a.key), ...varyKeys];
  const varies = varyKeys.length > 0;
  const heads = ['#', 'run', ...keys, ...(varies ? ['varied'] : []), 'status', labelWithUnit('linearProbeTop1'), labelWithUnit('knnTop1'), labelWithUnit('meanCorruptionError'), labelWithUnit('wallTimeSeconds'), labelOf('backend'), 'error'];
  const firstFigure = 3 + keys.length + (varies ? 1 : 0);
  const numeric = (i: number) => i === 0 || (i >= firstFigure && i < firstFigure + 4);
  const body = results
    .map(
      (r) =>
        `<tr class="status-${escapeHtml(r.status)}">${cell('index', r.index, String(r.index), true)}${cell('id', r.id, r.id, false)}` +
        keys.map((k) => cell(k, r.values[k], Object.prototype.hasOwnProperty.call(r.values, k) || varyKeys.includes(k) ? sweepValueLabel(r.values[k]) : '–', false)).join('') +
        (varies ? cell('varied', r.varied ?? null, r.varied ?? 'base', false) : '') +
        cell('status', r.status, r.status, false) +
        cell('linearProbeTop1', r.linearProbeTop1, formatNumber('linearProbeTop1', r.linearProbeTop1), true) +
        cell('knnTop1', r.knnTop1, formatNumber('knnTop1', r.knnTop1), true) +
        cell('corruptionError', r.corruptionError, formatNumber('meanCorruptionError', r.corruptionError), true) +
        cell('seconds', r.seconds, formatNumber('wallTimeSeconds', r.seconds), true) +
        cell('backend', r.backend, r.backend ?? '–', false) +
        cell('error', r.error, r.error ?? '', false) +
        '</tr>',
    )
    .join('\n');
  return `<div class="table-wrap"><table class="sweep-runs">${head(heads, numeric)}<tbody>\n${body}\n</tbody></table></div>`;
}

/** The sweep's report page (`<out>/report.html`), from `gatherSweep(sweep)`'s rows. */
export function sweepReportHtml(sweep: Sweep, results: readonly SweepResult[]): string {
  const counts = sweepCounts(results);
  const stats = sweepAxisStats(sweep, results);
  const done = results.filter((r) => r.status === 'done');
  const overall = spread(done.map((r) => r.linearProbeTop1));
  const overallKnn = spread(done.map((r) => r.knnTop1));
  const countText = STATUSES.filter((s) => s !== 'stopped' || counts.stopped > 0)
    .map((s) => `<span class="count" data-status="${s}">${counts[s]} ${s}</span>`)
    .join(', ');
  const axisRow = (a: SweepAxis, note: string) => `<tr><th>${escapeHtml(a.key)}</th><td>${a.values.map((v) => escapeHtml(sweepValueLabel(v))).join(', ')}${note}</td></tr>`;
  const grid = [...sweep.grid.map((a) => axisRow(a, '')), ...(sweep.vary ?? []).map((a) => axisRow(a, ' (vary: one at a time, the other keys at the base&#39;s values)'))].join('');
  const sections: string[] = [
    `<section><h2>Runs</h2><p class="counts">${results.length} run${results.length === 1 ? '' : 's'}: ${countText}.</p>` +
      `<p class="meta">${escapeHtml(sweep.out)}${sweep.file ? ` · sweep file ${escapeHtml(sweep.file)}` : ''}${sweep.random ? ` · ${sweep.random.n} grid points drawn with seed ${sweep.random.seed}` : ''}</p>` +
      `<table class="summary">${grid}</table>` +
      (overall || overallKnn
        ? `<p>Over all ${done.length} finished run${done.length === 1 ? '' : 's'}: ${escapeHtml(labelOf('linearProbeTop1'))} ${escapeHtml(meanStd('linearProbeTop1', overall?.mean, overall?.std))}%, ` +
          `${escapeHtml(labelOf('knnTop1'))} ${escapeHtml(meanStd('knnTop1', overallKnn?.mean, overallKnn?.std))}%.</p>`
        : '<p>No run has finished yet.</p>') +
      '</section>',
  ];
  stats.forEach((s, i) => {
    const over = averagedOver(sweep, s);
    const chart = axisChart(s, i, over);
    sections.push(
      `<section class="sweep-key" data-key="${escapeHtml(s.key)}"><h2>${escapeHtml(s.key)}${s.kind === 'vary' ? ' (one at a time)' : ''}</h2>` +
        `<p class="meta">Each value's mean ± sample standard deviation (n − 1) over ${escapeHtml(over)}, finished runs only; accuracies in percent on the test set.</p>` +
        `${chart ? chartBlock(chart) : ''}${axisTable(s)}</section>`,
    );
  });
  if (stats.length) {
    sections.push(
      `<section><h2>Spread</h2><p class="meta">How much the ${escapeHtml(labelOf('linearProbeTop1'))} moves with each key: the sample standard deviation and the range (max − min) of its per-value means, in percentage points. Smaller is more stable.</p>${spreadTable(stats)}</section>`,
    );
  }
  sections.push(`<section><h2>All runs</h2>${resultsTable(sweep, results)}</section>`);
  return page(`supcon sweep ${sweep.name}`, sections.join('\n'), 'supcon sweep');
}
