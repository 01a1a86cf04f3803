import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';
import type { RunArtifacts } from './run-dir';
import { numberAt } from './run-dir';
import { corruptionErrors } from './compare';

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

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

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function pct(value: number | undefined): string {
  return value === undefined ? '–' : `${(100 * value).toFixed(2)}%`;
}

function lossChart(run: RunArtifacts): string | undefined {
  const steps = run.metrics.filter((m) => m.kind === 'step' && typeof m.loss === 'number' && typeof m.globalStep === 'number');
  const epochs = run.metrics.filter((m) => m.kind === 'epoch' && typeof m.loss === 'number');
  if (steps.length === 0 && epochs.length === 0) return undefined;
  // An epoch's point sits at its last step.
  const lastStep = new Map<number, number>();
  for (const m of steps) if (typeof m.epoch === 'number') lastStep.set(m.epoch, Math.max(lastStep.get(m.epoch) ?? 0, m.globalStep!));
  const series: EChartsOption['series'] = [];
  if (steps.length) {
    series.push({ name: 'step loss', type: 'line', showSymbol: false, lineStyle: { width: 1 }, data: steps.map((m) => [m.globalStep!, m.loss!]) });
  }
  if (epochs.length) {
    series.push({
      name: 'epoch mean loss',
      type: 'line',
      data: epochs.map((m) => [lastStep.get(m.epoch!) ?? m.epoch!, m.loss!]),
    });
  }
  return renderChart({
    title: { text: 'Training loss', left: 'left' },
    tooltip: {},
    legend: { top: 28, right: 10 },
    grid: { top: 60, left: 60, right: 20, bottom: 40 },
    xAxis: { type: 'value', name: steps.length ? 'step' : 'epoch', nameLocation: 'middle', nameGap: 25 },
    yAxis: { type: 'value', scale: true, name: 'loss' },
    series,
  });
}

function accuracyChart(run: RunArtifacts): string | undefined {
  const epochs = run.metrics.filter((m) => m.kind === 'epoch');
  const keys = new Set<string>();
  for (const m of epochs) for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && /top1|accuracy/i.test(k)) keys.add(k);
  if (keys.size === 0) return undefined;
  return renderChart({
    title: { text: 'Accuracy by epoch' },
    legend: { top: 28, right: 10 },
    grid: { top: 60, left: 60, right: 20, bottom: 40 },
    xAxis: { type: 'value', name: 'epoch', minInterval: 1, nameLocation: 'middle', nameGap: 25 },
    yAxis: { type: 'value', min: 0, max: 1, name: 'accuracy' },
    series: [...keys].map((k) => ({ name: k, type: 'line', data: epochs.filter((m) => typeof m[k] === 'number').map((m) => [m.epoch! + 1, m[k] as number]) })),
  });
}

function embeddingChart(run: RunArtifacts, classes: string[]): string | undefined {
  const map = run.embeddingMap;
  if (!map || map.points.length === 0) return undefined;
  const byClass = new Map<number, [number, number][]>();
  map.points.forEach((p, i) => {
    const label = map.labels[i];
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push(p);
  });
  return renderChart(
    {
      title: { text: `Test embeddings (${map.method ?? '2-D projection'})` },
      legend: { top: 28, right: 10, type: 'scroll' },
      grid: { top: 70, left: 50, right: 20, bottom: 30 },
      xAxis: { type: 'value', scale: true },
      yAxis: { type: 'value', scale: true },
      series: [...byClass.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([label, points]) => ({ name: classes[label] ?? String(label), type: 'scatter', symbolSize: 6, data: points })),
    },
    720,
    520,
  );
}

function perClassChart(perClass: number[], classes: string[]): string {
  return renderChart({
    title: { text: 'Per-class accuracy (linear probe)' },
    grid: { top: 50, left: 60, right: 20, bottom: 90 },
    xAxis: { type: 'category', data: perClass.map((_, i) => classes[i] ?? String(i)), axisLabel: { rotate: 40 } },
    yAxis: { type: 'value', min: 0, max: 1 },
    series: [{ type: 'bar', data: perClass, label: { show: true, position: 'top', formatter: (p: { value: unknown }) => (Number(p.value) * 100).toFixed(0) } }],
  });
}

function confusionChart(matrix: number[][], classes: string[]): string {
  const n = matrix.length;
  const data: [number, number, number][] = [];
  let max = 0;
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < n; p++) {
      data.push([p, t, matrix[t][p]]);
      max = Math.max(max, matrix[t][p]);
    }
  }
  const names = matrix.map((_, i) => classes[i] ?? String(i));
  return renderChart(
    {
      title: { text: 'Confusion matrix (rows: true class, columns: predicted)' },
      grid: { top: 50, left: 110, right: 80, bottom: 100 },
      xAxis: { type: 'category', data: names, axisLabel: { rotate: 40 }, name: 'predicted' },
      yAxis: { type: 'category', data: names, inverse: true, name: 'true' },
      visualMap: { min: 0, max: Math.max(1, max), calculable: false, orient: 'vertical', right: 0, top: 'center', inRange: { color: ['#f7fbff', '#08306b'] } },
      series: [{ type: 'heatmap', data, label: { show: n <= 12, fontSize: 9 } }],
    },
    720,
    600,
  );
}

function corruptionChart(errors: Record<string, number>): string {
  const names = Object.keys(errors);
  return renderChart({
    title: { text: 'Error under corruption (mean over severities)' },
    grid: { top: 50, left: 60, right: 20, bottom: 100 },
    xAxis: { type: 'category', data: names, axisLabel: { rotate: 40 } },
    yAxis: { type: 'value', min: 0, max: 1, name: 'error' },
    series: [{ type: 'bar', data: names.map((n) => errors[n]) }],
  });
}

function asMatrix(value: unknown): number[][] | undefined {
  return Array.isArray(value) && value.every((row) => Array.isArray(row)) ? (value as number[][]) : undefined;
}

function asVector(value: unknown): number[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'number') ? (value as number[]) : undefined;
}

/**
 * The report page: one self-contained HTML file (inline SVG charts, inline CSS, no scripts, no
 * network), with loss and accuracy curves, the embedding map, per-class accuracy, the confusion
 * matrix, corruption errors when evaluated, and the resolved config.
 */
export function renderReport(run: RunArtifacts): string {
  const s = run.summary;
  const classes = Array.isArray(s.classes) ? (s.classes as string[]) : [];
  const probe = (s.linearProbe ?? {}) as Record<string, unknown>;
  const perClass = asVector(probe.perClassAccuracy ?? probe.perClass);
  const confusion = asMatrix(probe.confusionMatrix ?? probe.confusion);
  const corruption = corruptionErrors(s);
  const title = `supcon run ${typeof s.name === 'string' ? s.name : run.dir}`;
  const rows: [string, string][] = [
    ['stage', String(s.stage ?? '–')],
    ['loss', String((run.config.loss as Record<string, unknown> | undefined)?.type ?? '–')],
    ['backend', String(s.backend ?? '–')],
    ['epochs', String(s.epochs ?? '–')],
    ['final loss', numberAt(s, 'finalLoss')?.toFixed(4) ?? '–'],
    ['linear probe top-1', pct(numberAt(s, 'linearProbe.top1'))],
    ['linear probe top-5', pct(numberAt(s, 'linearProbe.top5'))],
    ['kNN top-1', pct(numberAt(s, 'knn.top1'))],
    ['mean corruption error', pct(numberAt(s, 'corruption.meanError'))],
    ['images/s', numberAt(s, 'imagesPerSecond')?.toFixed(1) ?? '–'],
    ['wall time', numberAt(s, 'wallTimeSeconds') !== undefined ? `${numberAt(s, 'wallTimeSeconds')!.toFixed(0)} s` : '–'],
  ];
  const sections: string[] = [];
  const add = (heading: string, body: string | undefined) => {
    if (body) sections.push(`<section><h2>${escapeHtml(heading)}</h2>${body}</section>`);
  };
  add('Summary', `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`);
  add('Loss', lossChart(run));
  add('Accuracy', accuracyChart(run));
  add('Embeddings', embeddingChart(run, classes));
  add('Per-class accuracy', perClass ? perClassChart(perClass, classes) : undefined);
  add('Confusion matrix', confusion ? confusionChart(confusion, classes) : undefined);
  add('Corruption robustness', corruption ? corruptionChart(corruption) : undefined);
  add('Config', `<pre>${escapeHtml(JSON.stringify(run.config, null, 2))}</pre>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse}th,td{text-align:left;padding:3px 12px 3px 0;border-bottom:1px solid #eee}
pre{background:#f6f8fa;padding:12px;overflow:auto;font-size:12px}svg{max-width:100%;height:auto}
</style></head>
<body><h1>${escapeHtml(title)}</h1>
${sections.join('\n')}
<footer><p>Generated by supcon report on ${new Date().toISOString()}.</p></footer>
</body></html>
`;
}
