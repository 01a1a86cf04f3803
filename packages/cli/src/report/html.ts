import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';
import type { MetricLine, RunArtifacts } from './run-dir';
import { numberAt } from './run-dir';
import { corruptionErrors } from './compare';
import { chartValue, formatValue, isFraction, knnLabel, labelOf, labelWithUnit } from './labels';
import { PALETTE, chartBlock, escapeHtml, frame, page } from './page';
import type { ChartSpec } from './page';

/** Renders one chart to an inline SVG string with ECharts' server-side renderer (no browser, no CDN). */
export function renderChart(option: EChartsOption, width = 640, height = 360): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, color: PALETTE, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** A value axis in percent, 0–100, named with its label and unit. */
export function percentAxis(name: string): Record<string, unknown> {
  return { type: 'value', min: 0, max: 100, name, nameLocation: 'middle', axisLabel: { formatter: '{value}%' } };
}

/** A value axis named in its middle (never at its end, where it would meet the legend). */
export function valueAxis(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'value', name, nameLocation: 'middle', scale: true, ...extra };
}

/** The epoch lines of a run, one per epoch (the last line wins), in epoch order. */
export function epochLines(metrics: readonly MetricLine[]): MetricLine[] {
  const byEpoch = new Map<number, MetricLine>();
  for (const m of metrics) if (m.kind === 'epoch' && typeof m.epoch === 'number') byEpoch.set(m.epoch, m);
  return [...byEpoch.values()].sort((a, b) => a.epoch! - b.epoch!);
}

/** Numeric keys of `lines` other than the bookkeeping ones. */
function numericKeys(lines: readonly MetricLine[]): string[] {
  const skip = new Set(['epoch', 'step', 'globalStep', 'steps']);
  const keys = new Set<string>();
  for (const m of lines) for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && !skip.has(k)) keys.add(k);
  return [...keys];
}

/** The epoch-axis used by every per-epoch chart: epochs counted from 1. */
export const EPOCH_AXIS = { type: 'value', name: labelOf('epoch'), nameLocation: 'middle', nameGap: 28, minInterval: 1, min: 1, max: 'dataMax' } as const;

/** The global-step axis of per-step charts. */
const STEP_AXIS = { type: 'value', name: labelOf('globalStep'), nameLocation: 'middle', nameGap: 28, minInterval: 1, min: 0, max: 'dataMax' } as const;

function lossChart(run: RunArtifacts): ChartSpec | undefined {
  const steps = run.metrics.filter((m) => m.kind === 'step' && typeof m.loss === 'number' && typeof m.globalStep === 'number');
  const epochs = epochLines(run.metrics).filter((m) => typeof m.loss === 'number');
  if (steps.length === 0 && epochs.length === 0) return undefined;
  const series: Record<string, unknown>[] = [];
  if (steps.length) {
    // An epoch's mean sits at its last step.
    const lastStep = new Map<number, number>();
    for (const m of steps) if (typeof m.epoch === 'number') lastStep.set(m.epoch, Math.max(lastStep.get(m.epoch) ?? 0, m.globalStep!));
    series.push({ name: labelOf('stepLoss'), type: 'line', showSymbol: false, sampling: 'lttb', lineStyle: { width: 1 }, data: steps.map((m) => [m.globalStep!, chartValue('loss', m.loss!)]) });
    if (epochs.length) {
      series.push({ name: labelOf('epochLoss'), type: 'line', symbolSize: 6, data: epochs.filter((m) => lastStep.has(m.epoch!)).map((m) => [lastStep.get(m.epoch!)!, chartValue('loss', m.loss!)]) });
    }
  } else {
    series.push({ name: labelOf('epochLoss'), type: 'line', symbolSize: 6, data: epochs.map((m) => [m.epoch! + 1, chartValue('loss', m.loss!)]) });
  }
  return {
    id: 'loss',
    description: 'Training loss',
    option: {
      ...frame('Training loss', { legend: true }),
      tooltip: { trigger: 'axis' },
      xAxis: steps.length ? STEP_AXIS : EPOCH_AXIS,
      yAxis: valueAxis(labelOf('loss')),
      series,
    } as EChartsOption,
  };
}

function accuracyChart(run: RunArtifacts): ChartSpec | undefined {
  const epochs = epochLines(run.metrics);
  const keys = numericKeys(epochs).filter(isFraction);
  if (keys.length === 0) return undefined;
  return {
    id: 'accuracy',
    description: 'Accuracy by epoch',
    option: {
      ...frame('Accuracy by epoch', { legend: true }),
      tooltip: { trigger: 'axis' },
      xAxis: EPOCH_AXIS,
      yAxis: percentAxis(keys.length === 1 ? labelWithUnit(keys[0]) : 'accuracy (%)'),
      series: keys.map((k) => ({ name: labelOf(k), type: 'line', data: epochs.filter((m) => typeof m[k] === 'number').map((m) => [m.epoch! + 1, chartValue(k, m[k] as number)]) })),
    } as EChartsOption,
  };
}

/** Learning rate and gradient norm: two units, so two y axes (learning rate left, gradient norm right). */
function optimisationChart(run: RunArtifacts): ChartSpec | undefined {
  const steps = run.metrics.filter((m) => m.kind === 'step' && typeof m.globalStep === 'number');
  const perStep = steps.some((m) => typeof m.lr === 'number' || typeof m.gradNorm === 'number');
  const lines = perStep ? steps : epochLines(run.metrics);
  const x = (m: MetricLine) => (perStep ? m.globalStep! : m.epoch! + 1);
  const keys = ['lr', 'gradNorm'].filter((k) => lines.some((m) => typeof m[k] === 'number'));
  if (keys.length === 0) return undefined;
  const yAxis = keys.map((k, i) => valueAxis(labelOf(k), { position: i === 0 ? 'left' : 'right', splitLine: { show: i === 0 } }));
  return {
    id: 'optimisation',
    description: keys.map(labelOf).join(' and '),
    option: {
      ...frame(keys.length === 2 ? 'Learning rate and gradient norm' : `${labelOf(keys[0])[0].toUpperCase()}${labelOf(keys[0]).slice(1)}`, { legend: true }),
      tooltip: { trigger: 'axis' },
      xAxis: perStep ? STEP_AXIS : EPOCH_AXIS,
      yAxis,
      series: keys.map((k, i) => ({
        name: labelOf(k),
        type: 'line',
        yAxisIndex: i,
        showSymbol: !perStep,
        sampling: 'lttb',
        lineStyle: { width: 1 },
        data: lines.filter((m) => typeof m[k] === 'number').map((m) => [x(m), chartValue(k, m[k] as number)]),
      })),
    } as EChartsOption,
  };
}

function throughputChart(run: RunArtifacts): ChartSpec | undefined {
  const epochs = epochLines(run.metrics).filter((m) => typeof m.imagesPerSecond === 'number');
  if (epochs.length === 0) return undefined;
  return {
    id: 'throughput',
    description: 'Training throughput by epoch',
    height: 300,
    option: {
      ...frame('Training throughput'),
      tooltip: { trigger: 'axis' },
      xAxis: EPOCH_AXIS,
      yAxis: valueAxis(labelWithUnit('imagesPerSecond'), { min: 0, scale: false }),
      series: [{ name: labelOf('imagesPerSecond'), type: 'line', data: epochs.map((m) => [m.epoch! + 1, chartValue('imagesPerSecond', m.imagesPerSecond as number)]) }],
    } as EChartsOption,
  };
}

/** Axis names of a 2-D projection: `PC 1`/`PC 2` for PCA, else `<method> 1`/`<method> 2`. */
export function projectionAxisNames(method: string | undefined): [string, string] {
  const prefix = !method || /^pca$/i.test(method) ? 'PC' : method;
  return [`${prefix} 1`, `${prefix} 2`];
}

function embeddingChart(run: RunArtifacts, classes: string[]): ChartSpec | undefined {
  const map = run.embeddingMap;
  if (!map || map.points.length === 0) return undefined;
  const byClass = new Map<number, [number, number][]>();
  map.points.forEach((p, i) => {
    const label = map.labels[i];
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push([Number(p[0].toPrecision(5)), Number(p[1].toPrecision(5))]);
  });
  const [xName, yName] = projectionAxisNames(map.method);
  return {
    id: 'embedding',
    description: `Test embeddings, ${map.method ?? '2-D projection'}, coloured by class`,
    height: 560,
    option: {
      ...frame(`Test embeddings (${map.method ?? '2-D projection'}), coloured by class`, { legend: true }),
      tooltip: { trigger: 'item' },
      xAxis: valueAxis(xName, { nameGap: 28 }),
      yAxis: valueAxis(yName),
      series: [...byClass.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([label, points]) => ({ name: classes[label] ?? String(label), type: 'scatter', symbolSize: 5, data: points })),
    } as EChartsOption,
  };
}

function perClassChart(perClass: number[], classes: string[]): ChartSpec {
  const key = 'linearProbe.perClassAccuracy';
  return {
    id: 'per-class',
    description: 'Linear probe accuracy per class',
    option: {
      ...frame('Per-class accuracy (linear probe)'),
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: perClass.map((_, i) => classes[i] ?? String(i)), name: 'class', nameLocation: 'middle', nameGap: 28, axisLabel: { interval: 0, rotate: perClass.length > 6 ? 30 : 0 } },
      yAxis: percentAxis(labelWithUnit(key)),
      series: [{ name: labelOf(key), type: 'bar', data: perClass.map((v) => Number((100 * v).toFixed(2))), label: { show: true, position: 'top', formatter: '{c}%' } }],
    } as EChartsOption,
  };
}

/** The confusion matrix's smallest and largest counts: its colour scale's ends. */
export function matrixRange(matrix: number[][]): { min: number; max: number } {
  const values = matrix.flat().filter((v) => Number.isFinite(v));
  return values.length ? { min: Math.min(...values), max: Math.max(...values) } : { min: 0, max: 0 };
}

function confusionChart(matrix: number[][], classes: string[]): ChartSpec {
  const n = matrix.length;
  const data: [number, number, number][] = [];
  for (let t = 0; t < n; t++) for (let p = 0; p < matrix[t].length; p++) data.push([p, t, matrix[t][p]]);
  const { min, max } = matrixRange(matrix);
  const names = matrix.map((_, i) => classes[i] ?? String(i));
  const integer = matrix.flat().every((v) => Number.isInteger(v));
  const scaleWidth = 90;
  return {
    id: 'confusion',
    description: 'Confusion matrix of the linear probe on the test set',
    height: Math.max(420, Math.min(760, 140 + 40 * n)),
    option: {
      ...frame('Confusion matrix (rows: true class, columns: predicted class)', { right: scaleWidth }),
      tooltip: { trigger: 'item' },
      xAxis: { type: 'category', data: names, name: labelOf('predictedClass'), nameLocation: 'middle', nameGap: 28, axisLabel: { interval: 0, rotate: n > 6 ? 30 : 0 }, splitArea: { show: true } },
      yAxis: { type: 'category', data: names, name: labelOf('trueClass'), nameLocation: 'middle', inverse: true, axisLabel: { interval: 0 }, splitArea: { show: true } },
      visualMap: {
        type: 'continuous',
        min,
        max: max > min ? max : min + 1,
        // The scale's ends, as numbers, and draggable handles that show the value they sit at.
        text: [String(max), String(min)],
        calculable: false,
        precision: integer ? 0 : 2,
        orient: 'vertical',
        right: 12,
        top: 'middle',
        itemHeight: 200,
        inRange: { color: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'] },
      },
      series: [{ name: labelOf('images'), type: 'heatmap', data, label: { show: n <= 12, fontSize: n <= 10 ? 11 : 9 }, emphasis: { itemStyle: { borderColor: '#333', borderWidth: 1 } } }],
    } as EChartsOption,
  };
}

function corruptionChart(errors: Record<string, number>, cleanError: number | undefined): ChartSpec {
  const names = Object.keys(errors);
  const key = 'corruption.error';
  const series: Record<string, unknown>[] = [
    {
      name: labelOf(key),
      type: 'bar',
      data: names.map((n) => Number((100 * errors[n]).toFixed(1))),
      label: { show: names.length <= 16, position: 'top', formatter: '{c}%', fontSize: 10 },
    },
  ];
  if (cleanError !== undefined) {
    // The clean error as a dashed line across the bars, named in the legend (a label on the line would sit on a bar).
    const clean = Number((100 * cleanError).toFixed(1));
    series.push({
      name: `${labelOf('corruption.cleanError')} (${clean}%)`,
      type: 'line',
      data: [],
      itemStyle: { color: '#333' },
      lineStyle: { type: 'dashed', color: '#333' },
      markLine: { symbol: 'none', silent: true, label: { show: false }, lineStyle: { type: 'dashed', color: '#333' }, data: [{ yAxis: clean }] },
    });
  }
  return {
    id: 'corruption',
    description: 'Error under each corruption, mean over severities',
    option: {
      ...frame('Error under corruption (mean over severities)', { legend: true }),
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: names, name: 'corruption', nameLocation: 'middle', nameGap: 28, axisLabel: { interval: 0, rotate: names.length > 5 ? 30 : 0 } },
      yAxis: percentAxis(labelWithUnit(key)),
      series,
    } as EChartsOption,
  };
}

function asMatrix(value: unknown): number[][] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((row) => Array.isArray(row) && row.every((v) => typeof v === 'number')) ? (value as number[][]) : undefined;
}

function asVector(value: unknown): number[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'number') ? (value as number[]) : undefined;
}

/** The summary table's rows: `[label, value]`, leaving out figures the run does not have. */
export function summaryRows(run: RunArtifacts): [string, string][] {
  const s = run.summary;
  const lossFunction = (run.config.loss as Record<string, unknown> | undefined)?.type;
  const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  const rows: [string, string | undefined][] = [
    [labelOf('stage'), text(s.stage)],
    [labelOf('lossFunction'), text(lossFunction)],
    [labelOf('backend'), text(s.backend)],
    [labelOf('threads'), text(s.threads)],
    [labelOf('seed'), text(s.seed)],
    [labelOf('epochs'), text(s.epochs)],
    [labelOf('steps'), text(s.steps)],
    [labelOf('trainSize'), text(s.trainSize)],
    [labelOf('testSize'), text(s.testSize)],
    [labelOf('encoderParameters'), numberAt(s, 'encoderParameters')?.toLocaleString('en-US')],
    [labelOf('finalLoss'), numberAt(s, 'finalLoss') === undefined ? undefined : formatValue('finalLoss', numberAt(s, 'finalLoss'))],
  ];
  const metric = (label: string, key: string) => {
    const v = numberAt(s, key);
    rows.push([label, v === undefined ? undefined : formatValue(key, v)]);
  };
  metric(labelOf('linearProbe.top1'), 'linearProbe.top1');
  metric(labelOf('linearProbe.top5'), 'linearProbe.top5');
  const k = numberAt(s, 'knn.k');
  metric(knnLabel(k, 'top1'), 'knn.top1');
  metric(knnLabel(k, 'top5'), 'knn.top5');
  metric(labelOf('corruption.cleanError'), 'corruption.cleanError');
  metric(labelOf('corruption.meanError'), 'corruption.meanError');
  metric(labelOf('imagesPerSecond'), 'imagesPerSecond');
  metric(labelOf('wallTimeSeconds'), 'wallTimeSeconds');
  return rows.filter((r): r is [string, string] => r[1] !== undefined);
}

/**
 * The report page: one self-contained HTML file (inline CSS, ECharts inlined, no network), with
 * the summary, loss, accuracy, learning-rate/gradient-norm and throughput curves, the embedding
 * map, per-class accuracy, the confusion matrix, corruption errors when evaluated, and the
 * resolved config (folded away).
 */
export function renderReport(run: RunArtifacts): string {
  const s = run.summary;
  const classes = Array.isArray(s.classes) ? (s.classes as string[]) : [];
  const probe = (s.linearProbe ?? {}) as Record<string, unknown>;
  const perClass = asVector(probe.perClassAccuracy ?? probe.perClass);
  const confusion = asMatrix(probe.confusionMatrix ?? probe.confusion);
  const corruption = corruptionErrors(s);
  const title = `supcon run ${typeof s.name === 'string' ? s.name : run.dir}`;
  const sections: string[] = [];
  const add = (heading: string, charts: (ChartSpec | undefined)[]) => {
    const blocks = charts.filter((c): c is ChartSpec => c !== undefined).map(chartBlock);
    if (blocks.length) sections.push(`<section><h2>${escapeHtml(heading)}</h2>${blocks.join('\n')}</section>`);
  };
  const rows = summaryRows(run);
  sections.push(`<section><h2>Summary</h2><table class="summary">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table></section>`);
  add('Loss', [lossChart(run)]);
  add('Accuracy', [accuracyChart(run)]);
  add('Optimisation', [optimisationChart(run), throughputChart(run)]);
  add('Embeddings', [embeddingChart(run, classes)]);
  add('Per-class accuracy', [perClass ? perClassChart(perClass, classes) : undefined]);
  add('Confusion matrix', [confusion ? confusionChart(confusion, classes) : undefined]);
  add('Corruption robustness', [corruption ? corruptionChart(corruption, numberAt(s, 'corruption.cleanError')) : undefined]);
  sections.push(`<section><h2>Config</h2><details class="config"><summary>Resolved config (config.json)</summary><pre>${escapeHtml(JSON.stringify(run.config, null, 2))}</pre></details></section>`);
  return page(title, `<p class="meta">${escapeHtml(run.dir)}</p>\n${sections.join('\n')}`, 'supcon report');
}
