/**
 * `supcon compare --html FILE`: the comparison of several runs (or groups of runs, `--group`) as
 * one self-contained page: the metric table (the rows of the text table; mean ± std over a group's
 * runs) and their curves overlaid (loss per epoch, the per-epoch monitor accuracy).
 */
import { existsSync } from 'node:fs';
import type { EChartsOption } from 'echarts';
import { runFileError, writeFileAtomic } from '@supcon/core';
import type { CompareRow } from './compare';
import { runsBaseline } from './compare';
import type { GroupRow, Spread } from './groups';
import { groupsBaseline } from './groups';
import { EPOCH_AXIS, epochLines, percentAxis, valueAxis } from './html';
import { chartValue, formatNumber, isFraction, labelOf, labelWithUnit } from './labels';
import { PALETTE, chartBlock, escapeHtml, frame, page } from './page';
import type { ChartSpec } from './page';
import type { RunArtifacts } from './run-dir';

/** The figures of the table, in the text table's order, after the run (or loss and runs) columns. */
export const COMPARE_COLUMNS = ['finalLoss', 'linearProbeTop1', 'knnTop1', 'meanCorruptionError', 'mCE', 'wallTimeSeconds'] as const;

type Column = (typeof COMPARE_COLUMNS)[number];

interface Curve {
  /** The run's folder. */
  run: string;
  /** Series id: the run's folder (`<folder>#2`... for a folder given twice: ECharts needs unique ids). */
  id?: string;
  /** Legend entry: the run, or its group. */
  name: string;
  color: string;
}

/** Metric keys (other than the loss) that any run logged per epoch as fractions: the accuracy curves. */
function accuracyKeys(runs: readonly RunArtifacts[]): string[] {
  const keys = new Set<string>();
  for (const run of runs) for (const m of epochLines(run.metrics)) for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && isFraction(k)) keys.add(k);
  // The monitor first: it is the one every run logs.
  return [...keys].sort((a, b) => Number(b === 'monitorKnnTop1') - Number(a === 'monitorKnnTop1') || a.localeCompare(b));
}

/** One chart of `key` per epoch, one series per run (id: the run's folder). */
function curvesChart(id: string, title: string, key: string, runs: readonly RunArtifacts[], curves: readonly Curve[]): ChartSpec | undefined {
  const series = runs
    .map((run, i) => {
      const points = epochLines(run.metrics).filter((m) => typeof m[key] === 'number');
      if (points.length === 0) return undefined;
      return {
        id: curves[i].id ?? curves[i].run,
        name: curves[i].name,
        type: 'line',
        symbolSize: 5,
        itemStyle: { color: curves[i].color },
        lineStyle: { color: curves[i].color, width: 1.5 },
        // Each point names its run, so a group's tooltip says which seed it is; the tooltip lists both dimensions by name.
        dimensions: [labelOf('epoch'), labelWithUnit(key)],
        encode: { x: 0, y: 1, tooltip: [0, 1] },
        data: points.map((m) => ({ name: curves[i].run, value: [m.epoch! + 1, chartValue(key, m[key] as number)] })),
      };
    })
    .filter((s) => s !== undefined);
  if (series.length === 0) return undefined;
  return {
    id,
    description: title,
    height: 420,
    option: {
      ...frame(title, { legend: true }),
      tooltip: { trigger: 'item' },
      xAxis: EPOCH_AXIS,
      yAxis: isFraction(key) ? percentAxis(labelWithUnit(key)) : valueAxis(labelWithUnit(key)),
      series,
    } as EChartsOption,
  };
}

/** Ids for series of `dirs`: each folder, with `#2`, `#3`... on repeats. */
function uniqueIds(dirs: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return dirs.map((d) => {
    const n = (seen.get(d) ?? 0) + 1;
    seen.set(d, n);
    return n === 1 ? d : `${d}#${n}`;
  });
}

function charts(runs: readonly RunArtifacts[], given: readonly Curve[]): string {
  const ids = uniqueIds(given.map((c) => c.run));
  const curves = given.map((c, i) => ({ ...c, id: ids[i] }));
  const specs = [curvesChart('loss', 'Training loss (mean over each epoch)', 'loss', runs, curves)];
  for (const key of accuracyKeys(runs)) specs.push(curvesChart(`acc-${key}`, `${labelOf(key)} by epoch`, key, runs, curves));
  const blocks = specs.filter((s): s is ChartSpec => s !== undefined).map(chartBlock);
  return blocks.length ? `<section><h2>Curves</h2>${blocks.join('\n')}</section>` : '<section><h2>Curves</h2><p>No run logged per-epoch metrics.</p></section>';
}

function cell(key: string, value: unknown, text: string, numeric: boolean): string {
  return `<td${numeric ? ' class="num"' : ''} data-key="${escapeHtml(key)}" data-value="${escapeHtml(JSON.stringify(value ?? null))}">${escapeHtml(text)}</td>`;
}

function head(keys: readonly string[], numericFrom: number): string {
  return `<thead><tr>${keys.map((k, i) => `<th${i >= numericFrom ? ' class="num"' : ''} data-key="${escapeHtml(k)}">${escapeHtml(labelWithUnit(k))}</th>`).join('')}</tr></thead>`;
}

/** `mean ± std`, both in the column's unit and decimals (as the text table shows them). */
export function formatSpread(key: string, s: Spread | undefined): string {
  return s === undefined ? '–' : `${formatNumber(key, s.mean)} ± ${formatNumber(key, s.std)}`;
}

function runsTable(rows: readonly CompareRow[]): string {
  const body = rows
    .map(
      (r) =>
        `<tr>${cell('run', r.run, r.run, false)}${cell('lossFunction', r.loss, r.loss, false)}${COMPARE_COLUMNS.map((k: Column) => cell(k, r[k], formatNumber(k, r[k]), true)).join('')}</tr>`,
    )
    .join('\n');
  return `<div class="table-wrap"><table class="compare">${head(['run', 'lossFunction', ...COMPARE_COLUMNS], 2)}<tbody>\n${body}\n</tbody></table></div>`;
}

function groupsTable(rows: readonly GroupRow[], labels: readonly string[]): string {
  const body = rows
    .map(
      (r, i) =>
        `<tr>${cell('lossFunction', r.loss, labels[i], false)}${cell('runs', r.runs, String(r.runs.length), true)}${COMPARE_COLUMNS.map((k: Column) => cell(k, r[k], formatSpread(k, r[k]), true)).join('')}</tr>`,
    )
    .join('\n');
  return `<div class="table-wrap"><table class="compare">${head(['lossFunction', 'runs', ...COMPARE_COLUMNS], 1)}<tbody>\n${body}\n</tbody></table></div>`;
}

/** Group names for legends: the loss, numbered when two groups share one. */
export function groupLabels(rows: readonly GroupRow[]): string[] {
  const count = new Map<string, number>();
  for (const r of rows) count.set(r.loss, (count.get(r.loss) ?? 0) + 1);
  return rows.map((r, i) => ((count.get(r.loss) ?? 0) > 1 ? `${r.loss} (group ${i + 1})` : r.loss));
}

/**
 * Legend names for run folders: the folders less the leading path they all share (at least the
 * last segment is kept): `runs/repro/ce-seed0`, `runs/repro/supcon-seed0` → `ce-seed0`, `supcon-seed0`.
 */
export function shortRunNames(dirs: readonly string[]): string[] {
  const parts = dirs.map((d) => d.split(/[\\/]+/).filter(Boolean));
  let shared = 0;
  while (parts.every((p) => p.length - 1 > shared && p[shared] === parts[0][shared])) shared++;
  const names = parts.map((p, i) => (p.length ? p.slice(shared).join('/') : dirs[i]));
  // Two folders that end the same (a/x and a/x/) would collide: then keep them as given.
  return new Set(names).size === names.length ? names : [...dirs];
}

/** The comparison page of `runs`, with `rows` = `compareRuns(runs, baselineIndex)`. */
export function renderComparePage(runs: readonly RunArtifacts[], rows: readonly CompareRow[], baselineIndex?: number): string {
  const base = runsBaseline(runs, baselineIndex);
  const names = shortRunNames(runs.map((r) => r.dir));
  const curves = runs.map((run, i) => ({ run: run.dir, name: names[i], color: PALETTE[i % PALETTE.length] }));
  const body = [
    `<section><h2>Metrics</h2>${runsTable(rows)}`,
    `<p class="meta">Accuracies and errors in percent on the test set. mCE: mean over corruptions of each corruption's error relative to the baseline run's (${escapeHtml(runs[base]?.dir ?? '–')}), times 100.</p></section>`,
    charts(runs, curves),
  ].join('\n');
  return page(`supcon compare: ${runs.length} run${runs.length === 1 ? '' : 's'}`, body, 'supcon compare');
}

/** The comparison page of groups of runs (seeds), with `rows` = `compareGroups(groups, baselineIndex)`. */
export function renderGroupComparePage(groups: readonly RunArtifacts[][], rows: readonly GroupRow[], baselineIndex?: number): string {
  const base = groupsBaseline(groups, baselineIndex);
  const labels = groupLabels(rows);
  const runs = groups.flat();
  const curves = groups.flatMap((g, i) => g.map((run) => ({ run: run.dir, name: labels[i], color: PALETTE[i % PALETTE.length] })));
  const members = groups
    .map((g, i) => `<tr><th>${escapeHtml(labels[i])}</th><td>${g.map((r) => escapeHtml(r.dir)).join('<br>')}</td></tr>`)
    .join('');
  const body = [
    `<section><h2>Metrics</h2>${groupsTable(rows, labels)}`,
    `<p class="meta">Mean ± sample standard deviation (n − 1) over each group's runs. Accuracies and errors in percent on the test set. ` +
      `mCE: each run's mean over corruptions of its error relative to the baseline group's (${escapeHtml(labels[base] ?? '–')}) mean error, times 100.</p>`,
    `<details class="groups"><summary>Runs of each group</summary><table>${members}</table></details></section>`,
    charts(runs, curves),
  ].join('\n');
  return page(`supcon compare: ${groups.length} group${groups.length === 1 ? '' : 's'} of runs`, body, 'supcon compare');
}

/**
 * Writes a page to `file` atomically (a temporary file renamed over it: never half a page).
 * An existing `file` is kept, and this throws, unless `overwrite`.
 */
export async function writeHtmlFile(file: string, html: string, options: { overwrite?: boolean } = {}): Promise<string> {
  if (!options.overwrite && existsSync(file)) throw new Error(`${file} exists: pass --overwrite to replace it`);
  try {
    await writeFileAtomic(file, html);
  } catch (error) {
    throw runFileError(error, undefined);
  }
  return file;
}
