import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareRuns, formatCompareTable, readRun, relativeMce, renderReport } from './index';
import { CLASSES, embeddedOptions, list, makeRun } from './test-runs';

/** Units of the series names a report may show: one unit per axis means one of these per y axis. */
const UNIT_OF_SERIES: Record<string, string> = {
  'loss per step': 'loss',
  'epoch mean loss': 'loss',
  '20-NN top-1 (monitor)': '%',
  'learning rate': 'learning rate',
  'gradient norm': 'gradient norm',
  'images / s': 'images / s',
  'linear probe top-1 per class': '%',
  'error (mean over severities)': '%',
  'test images': 'count',
  'clean error (10%)': '%',
};

/** Every string a reader sees in a chart option: titles, legends, axis names, series and category names. */
function visibleNames(option: Record<string, any>): string[] {
  const out: string[] = [];
  for (const t of list(option.title)) out.push(t.text);
  for (const axis of [...list(option.xAxis), ...list(option.yAxis)]) {
    if (axis.name) out.push(axis.name);
  }
  for (const s of list(option.series) as Record<string, any>[]) out.push(s.name);
  return out.filter((x): x is string => typeof x === 'string');
}

describe('run report', () => {
  const dir = makeRun({ torn: true, confusion: [[9, 1, 0], [1, 8, 1], [2, 3, 7]] });
  const html = renderReport(readRun(dir));
  const options = embeddedOptions(html);

  it('reads a run, tolerating a torn last metrics line', () => {
    const run = readRun(dir);
    expect(run.metrics).toHaveLength(2 * 3 + 1);
    expect(run.embeddingMap?.labels).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('names the missing file for a directory that is not a run', () => {
    const empty = mkdtempSync(join(tmpdir(), 'supcon-empty-'));
    expect(() => readRun(empty)).toThrow(/summary\.json is missing/);
  });

  it('is one self-contained page: every section, every chart, nothing loaded from elsewhere', () => {
    const headings = [...html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]);
    expect(headings).toEqual(['Summary', 'Loss', 'Accuracy', 'Optimisation', 'Embeddings', 'Per-class accuracy', 'Confusion matrix', 'Corruption robustness', 'Config']);
    expect(Object.keys(options).sort()).toEqual(
      ['chart-accuracy', 'chart-confusion', 'chart-corruption', 'chart-embedding', 'chart-loss', 'chart-optimisation', 'chart-per-class', 'chart-throughput'].sort(),
    );
    // Every option has its container.
    for (const id of Object.keys(options)) expect(html).toContain(`<div class="chart" id="${id}"`);
    // No external scripts, styles, images or frames: ECharts is inline. (Script bodies left out: the library's code has markup in strings.)
    const markup = html.replace(/(<script[^>]*>)[\s\S]*?<\/script>/g, '$1</script>');
    expect(markup).not.toMatch(/\s(src|href)=/i);
    expect(markup).not.toMatch(/<link\b/i);
    expect(html).toContain('echarts');
    expect(html.length).toBeGreaterThan(500_000); // the inlined library
  });

  it('human labels, never metric keys, in every chart and in the summary table', () => {
    const keys = /^(monitorKnnTop1|imagesPerSecond|lr|gradNorm|finalLoss|wallTimeSeconds|linearProbe|knn\.top1|globalStep)$/;
    for (const [id, option] of Object.entries(options)) {
      for (const name of visibleNames(option)) {
        expect({ id, name, key: keys.test(name) || /^[a-z]+[A-Z][A-Za-z0-9]*$/.test(name) }).toEqual({ id, name, key: false });
      }
    }
    expect(options['chart-accuracy'].series.map((s: any) => s.name)).toEqual(['20-NN top-1 (monitor)']);
    expect(options['chart-optimisation'].series.map((s: any) => s.name)).toEqual(['learning rate', 'gradient norm']);
    expect(options['chart-throughput'].series[0].name).toBe('images / s');
    expect(options['chart-loss'].series.map((s: any) => s.name)).toEqual(['loss per step', 'epoch mean loss']);
    const summary = /<table class="summary">([\s\S]*?)<\/table>/.exec(html)![1];
    const rows = Object.fromEntries([...summary.matchAll(/<tr><th>([^<]*)<\/th><td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1], m[2]]));
    expect(rows).toMatchObject({
      'loss function': 'supcon-out',
      'final loss': '1.2500',
      'linear probe top-1': '80.00%',
      '20-NN top-1': '70.00%',
      'mean corruption error': '25.00%',
      'images / s': '123.4',
      'wall time': '42 s',
      'encoder parameters': '93,344',
    });
    for (const label of Object.keys(rows)) expect(label).not.toMatch(/[a-z][A-Z]|\./);
  });

  it('one unit per axis; accuracies in percent on a 0–100 axis; axes named', () => {
    for (const [id, option] of Object.entries(options)) {
      const yAxes = list(option.yAxis) as Record<string, any>[];
      for (const axis of [...list(option.xAxis), ...yAxes] as Record<string, any>[]) expect({ id, named: typeof axis.name === 'string' && axis.name.length > 0 }).toEqual({ id, named: true });
      if (id === 'chart-embedding') continue; // classes, one unit (PC coordinates)
      const unitsPerAxis = yAxes.map((_, i) => new Set((list(option.series) as Record<string, any>[]).filter((s) => (s.yAxisIndex ?? 0) === i).map((s) => UNIT_OF_SERIES[s.name])));
      for (const units of unitsPerAxis) {
        expect({ id, units: [...units] }).toEqual({ id, units: [expect.any(String)] });
      }
    }
    const acc = options['chart-accuracy'];
    expect(acc.yAxis).toMatchObject({ min: 0, max: 100 });
    expect(acc.yAxis.name).toMatch(/%/);
    // The monitor values are the metrics.jsonl fractions times 100, at epochs counted from 1.
    expect(acc.series[0].data).toEqual([
      [1, 60],
      [2, 70],
    ]);
    expect(options['chart-per-class'].yAxis).toMatchObject({ min: 0, max: 100 });
    expect(options['chart-per-class'].series[0].data).toEqual([90, 80, 70]);
    expect(options['chart-corruption'].yAxis).toMatchObject({ min: 0, max: 100 });
    const opt = options['chart-optimisation'];
    expect(opt.yAxis.map((a: any) => a.name)).toEqual(['learning rate', 'gradient norm']);
    expect(opt.series.map((s: any) => s.yAxisIndex)).toEqual([0, 1]);
    expect(options['chart-loss'].yAxis.name).toBe('loss');
    expect(options['chart-loss'].xAxis.name).toBe('step');
  });

  it('the confusion matrix has a numbered colour scale from its smallest to its largest count', () => {
    const matrix = (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { linearProbe: { confusionMatrix: number[][] } }).linearProbe.confusionMatrix;
    const flat = matrix.flat();
    const option = options['chart-confusion'];
    const [visualMap] = list(option.visualMap) as Record<string, any>[];
    expect(visualMap.min).toBe(Math.min(...flat));
    expect(visualMap.max).toBe(Math.max(...flat));
    expect(visualMap.min).toBe(0);
    expect(visualMap.max).toBe(9);
    expect(visualMap.text).toEqual(['9', '0']);
    expect(option.xAxis.name).toBe('predicted class');
    expect(option.yAxis.name).toBe('true class');
    expect(option.xAxis.data).toEqual(CLASSES);
    // Cell (predicted p, true t) holds matrix[t][p].
    for (const [p, t, v] of option.series[0].data) expect(v).toBe(matrix[t][p]);
  });

  it('the embedding map has its axes named PC 1 and PC 2, one series per class', () => {
    const option = options['chart-embedding'];
    expect(option.xAxis.name).toBe('PC 1');
    expect(option.yAxis.name).toBe('PC 2');
    expect(option.series.map((s: any) => s.name)).toEqual(CLASSES);
  });

  it('title, legend and axes each have their own band', () => {
    for (const [id, option] of Object.entries(options)) {
      const title = list(option.title)[0] as Record<string, any>;
      const legend = list(option.legend)[0] as Record<string, any> | undefined;
      const grid = list(option.grid)[0] as Record<string, any>;
      const titleBottom = title.top + title.textStyle.fontSize * 1.3 + 10; // text plus ECharts' 5px padding each side
      let axesTop = titleBottom;
      if (legend) {
        expect({ id, legendBelowTitle: legend.top >= titleBottom }).toEqual({ id, legendBelowTitle: true });
        expect(legend.type).toBe('scroll'); // one line, however many entries
        axesTop = legend.top + Math.max(legend.itemHeight, 12 * 1.5) + 10;
      }
      // The axes, their labels and names included, stay inside outerBounds, which starts below both.
      expect({ id, mode: grid.outerBoundsMode, contain: grid.outerBoundsContain }).toEqual({ id, mode: 'auto', contain: 'all' });
      expect({ id, axesBelow: grid.outerBounds.top >= axesTop && grid.top >= grid.outerBounds.top }).toEqual({ id, axesBelow: true });
      // Axis names in the middle of their axis, never at the end where they would meet the legend.
      for (const axis of list(option.yAxis) as Record<string, any>[]) expect(axis.nameLocation).toBe('middle');
    }
  });

  it('charts take the full width; the config is folded away', () => {
    expect(html).toMatch(/\.chart\{width:100%\}/);
    expect(html).not.toMatch(/<div class="chart"[^>]*style="[^"]*width:\s*\d+px/);
    const details = [...html.matchAll(/<details([^>]*)>/g)];
    expect(details.length).toBeGreaterThanOrEqual(1);
    for (const d of details) expect(d[1]).not.toMatch(/\bopen\b/);
    expect(html).toMatch(/<details class="config"><summary>[^<]+<\/summary><pre>\{/);
  });

  it('computes mCE relative to the baseline by hand', () => {
    // CE_noise = 0.3/0.6 = 0.5, CE_blur = 0.2/0.2 = 1 -> mCE = 75
    expect(relativeMce({ noise: 0.3, blur: 0.2 }, { noise: 0.6, blur: 0.2 })).toBeCloseTo(75, 10);
    const ce = readRun(makeRun({ stage: 'ce', top1: 0.75, errors: { noise: 0.6, blur: 0.2 } }));
    const sc = readRun(makeRun({ stage: 'supcon', top1: 0.8, errors: { noise: 0.3, blur: 0.2 } }));
    const rows = compareRuns([sc, ce]);
    expect(rows[1].mCE).toBeCloseTo(100, 10); // the CE run is the baseline
    expect(rows[0].mCE).toBeCloseTo(75, 10);
    const table = formatCompareTable(rows);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toMatch(/supcon-out\s+1\.2500\s+80\.00\s+70\.00\s+25\.00\s+75\.0\s+42/);
  });
});
