import type { Sweep, SweepResult } from '@supcon/train';
import { renderChart } from './html';
import { sweepAxisStats, sweepCounts, sweepReportHtml } from './sweep-html';
import { embeddedOptions, list } from './test-runs';

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

/** The body rows of the page's `<table class="NAME" ...>` (the first one after `after`), cell by cell. */
function tableRows(html: string, name: string, after = 0): { key: string; value: unknown; text: string }[][] {
  const table = new RegExp(`<table class="${name}"[^>]*>([\\s\\S]*?)</table>`).exec(html.slice(after));
  if (!table) throw new Error(`no ${name} table`);
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table[1])![1];
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<td[^>]*data-key="([^"]*)" data-value="([^"]*)">([\s\S]*?)<\/td>/g)].map((c) => ({ key: c[1], value: JSON.parse(unescapeHtml(c[2])), text: unescapeHtml(c[3]) })),
  );
}

function sweepOf(grid: Record<string, unknown[]>, name = 'sweep-test'): Sweep {
  return { name, base: {}, grid: Object.entries(grid).map(([key, values]) => ({ key, values })), out: '/tmp/sweeps/test' };
}

type Row = Partial<SweepResult> & Pick<SweepResult, 'values' | 'status'>;

function rows(given: Row[]): SweepResult[] {
  return given.map((r, index) => ({ index, id: Object.entries(r.values).map(([k, v]) => `${k}-${String(v)}`).join('_'), dir: `/tmp/sweeps/test/${index}`, ...r }));
}

describe('sweep report', () => {
  // loss.temperature × seed, 9 runs. Per temperature, over the seeds that finished:
  //   0.05: probe 0.90, 0.92, 0.94 -> mean 0.92, sample std sqrt((0.02² + 0 + 0.02²) / 2) = 0.02
  //         kNN   0.88, 0.89, 0.90 -> mean 0.89, std 0.01
  //   0.1:  probe 0.95, 0.97 (seed 2 failed) -> mean 0.96, std sqrt((0.01² + 0.01²) / 1) = 0.0141421
  //         kNN   0.93, 0.95 -> mean 0.94, std 0.0141421
  //   0.5:  probe 0.88 (seed 1 pending, seed 2 running) -> mean 0.88, std 0 (one run)
  // Spread of the probe means 0.92, 0.96, 0.88: mean 0.92, std sqrt((0 + 0.04² + 0.04²) / 2) = 0.04, range 0.96 - 0.88 = 0.08.
  const sweep = sweepOf({ 'loss.temperature': [0.05, 0.1, 0.5], seed: [0, 1, 2] });
  const results = rows([
    { values: { 'loss.temperature': 0.05, seed: 0 }, status: 'done', linearProbeTop1: 0.9, knnTop1: 0.88, corruptionError: 0.25, seconds: 61.4, backend: 'wasm' },
    { values: { 'loss.temperature': 0.05, seed: 1 }, status: 'done', linearProbeTop1: 0.92, knnTop1: 0.89, seconds: 60 },
    { values: { 'loss.temperature': 0.05, seed: 2 }, status: 'done', linearProbeTop1: 0.94, knnTop1: 0.9, seconds: 59 },
    { values: { 'loss.temperature': 0.1, seed: 0 }, status: 'done', linearProbeTop1: 0.95, knnTop1: 0.93 },
    { values: { 'loss.temperature': 0.1, seed: 1 }, status: 'done', linearProbeTop1: 0.97, knnTop1: 0.95 },
    // A failed run's figures (if any were there) never count.
    { values: { 'loss.temperature': 0.1, seed: 2 }, status: 'failed', linearProbeTop1: 0.1, knnTop1: 0.1, error: 'loss is NaN at step 12' },
    { values: { 'loss.temperature': 0.5, seed: 0 }, status: 'done', linearProbeTop1: 0.88, knnTop1: 0.86 },
    { values: { 'loss.temperature': 0.5, seed: 1 }, status: 'pending', linearProbeTop1: 0.2 },
    { values: { 'loss.temperature': 0.5, seed: 2 }, status: 'running', knnTop1: 0.3 },
  ]);

  it('per value: mean ± sample std over the finished seeds; failed, pending and running runs left out', () => {
    const stats = sweepAxisStats(sweep, results);
    expect(stats.map((s) => s.key)).toEqual(['loss.temperature']); // seed is averaged over, not an axis
    const [t] = stats;
    expect(t.points.map((p) => [p.value, p.label, p.n])).toEqual([
      [0.05, '0.05', 3],
      [0.1, '0.1', 2],
      [0.5, '0.5', 1],
    ]);
    const expected = [
      [0.92, 0.02, 0.89, 0.01],
      [0.96, Math.SQRT2 / 100, 0.94, Math.SQRT2 / 100],
      [0.88, 0, 0.86, 0],
    ];
    t.points.forEach((p, i) => {
      expect(p.probeMean).toBeCloseTo(expected[i][0], 12);
      expect(p.probeStd).toBeCloseTo(expected[i][1], 12);
      expect(p.knnMean).toBeCloseTo(expected[i][2], 12);
      expect(p.knnStd).toBeCloseTo(expected[i][3], 12);
    });
    expect(t.spread!.n).toBe(3);
    expect(t.spread!.std).toBeCloseTo(0.04, 12);
    expect(t.spread!.range).toBeCloseTo(0.08, 12);
    expect(sweepCounts(results)).toEqual({ done: 6, failed: 1, stopped: 0, running: 1, pending: 1 });
  });

  it('over the other keys too: marginal means of each key of a two-key grid', () => {
    // No seed; optimizer.learningRate × loss.temperature, one run each:
    //   (0.1, 0.1) 0.80   (0.1, 0.5) 0.84   (0.2, 0.1) 0.90   (0.2, 0.5) 0.86
    // lr 0.1: mean 0.82, std sqrt(2 · 0.02²) = 0.0282843; lr 0.2: mean 0.88, std 0.0282843 -> spread std sqrt(2 · 0.03²) = 0.0424264, range 0.06
    // t 0.1: mean 0.85, std sqrt(2 · 0.05²) = 0.0707107; t 0.5: mean 0.85, std 0.0141421 -> spread std 0, range 0
    const two = sweepOf({ 'optimizer.learningRate': [0.1, 0.2], 'loss.temperature': [0.1, 0.5] });
    const r = rows([
      { values: { 'optimizer.learningRate': 0.1, 'loss.temperature': 0.1 }, status: 'done', linearProbeTop1: 0.8 },
      { values: { 'optimizer.learningRate': 0.1, 'loss.temperature': 0.5 }, status: 'done', linearProbeTop1: 0.84 },
      { values: { 'optimizer.learningRate': 0.2, 'loss.temperature': 0.1 }, status: 'done', linearProbeTop1: 0.9 },
      { values: { 'optimizer.learningRate': 0.2, 'loss.temperature': 0.5 }, status: 'done', linearProbeTop1: 0.86 },
    ]);
    const [lr, t] = sweepAxisStats(two, r);
    expect(lr.points.map((p) => p.probeMean)).toEqual([expect.closeTo(0.82, 12), expect.closeTo(0.88, 12)]);
    expect(lr.points.map((p) => p.probeStd)).toEqual([expect.closeTo(0.02 * Math.SQRT2, 12), expect.closeTo(0.02 * Math.SQRT2, 12)]);
    expect(lr.spread).toEqual({ n: 2, std: expect.closeTo(0.03 * Math.SQRT2, 12), range: expect.closeTo(0.06, 12) });
    expect(t.points.map((p) => [p.n, p.probeMean, p.probeStd])).toEqual([
      [2, expect.closeTo(0.85, 12), expect.closeTo(0.05 * Math.SQRT2, 12)],
      [2, expect.closeTo(0.85, 12), expect.closeTo(0.01 * Math.SQRT2, 12)],
    ]);
    expect(t.spread).toEqual({ n: 2, std: expect.closeTo(0, 12), range: expect.closeTo(0, 12) });
    // No run evaluated kNN: no kNN figures.
    expect(lr.points.every((p) => p.knnMean === undefined && p.knnStd === undefined)).toBe(true);
    const html = sweepReportHtml(two, r);
    expect(html).toContain('over the other grid key (loss.temperature)');
    expect(html).toContain('<table class="sweep-axis" data-key="optimizer.learningRate">');
    expect(html).toContain('<table class="sweep-axis" data-key="loss.temperature">');
  });

  it('object values are matched by their JSON; values no run finished have n = 0 and no figures', () => {
    const s = sweepOf({ optimizer: [{ type: 'sgd' }, { type: 'lars' }], seed: [0, 1] });
    const r = rows([
      { values: { optimizer: { type: 'sgd' }, seed: 0 }, status: 'done', linearProbeTop1: 0.5 },
      { values: { optimizer: { type: 'sgd' }, seed: 1 }, status: 'done', linearProbeTop1: 0.7 },
      { values: { optimizer: { type: 'lars' }, seed: 0 }, status: 'failed', error: 'boom' },
      { values: { optimizer: { type: 'lars' }, seed: 1 }, status: 'pending' },
    ]);
    const [opt] = sweepAxisStats(s, r);
    expect(opt.points[0]).toMatchObject({ label: '{"type":"sgd"}', n: 2, probeMean: expect.closeTo(0.6, 12), probeStd: expect.closeTo(0.1 * Math.SQRT2, 12) });
    expect(opt.points[1]).toEqual({ value: { type: 'lars' }, label: '{"type":"lars"}', n: 0 });
    expect(opt.spread).toEqual({ n: 1, std: 0, range: 0 });
    // Only seeds: no axis, but the page still shows the overall mean.
    const seeds = sweepOf({ seed: [0, 1] });
    expect(sweepAxisStats(seeds, r.slice(0, 2))).toEqual([]);
    expect(sweepReportHtml(seeds, rows([r[0], r[1]]))).toContain('Over all 2 finished runs: linear probe top-1 60.00 ± 14.14%');
  });

  it('vary: each key over the runs that vary it, with the base runs as the point at the base value', () => {
    // grid seed × vary (one at a time) train.batchSize (base 50) and loss.temperature (the base leaves it to the defaults):
    //   batchSize 25: 0.70, 0.72 -> 0.71 ± 0.0141421;  50 (base runs): 0.80, 0.82 -> 0.81 ± 0.0141421;  100: 0.84, 0.86 -> 0.85 ± 0.0141421
    //     spread of 0.71, 0.81, 0.85: mean 0.79, std sqrt((0.08² + 0.02² + 0.06²) / 2) = sqrt(0.0052), range 0.14
    //   temperature default (base runs): 0.81 ± 0.0141421;  0.05: 0.78, 0.80 -> 0.79 ± 0.0141421;  0.5: 0.65 (seed 1 pending) -> 0.65 ± 0
    //     spread of 0.81, 0.79, 0.65: mean 0.75, std sqrt((0.06² + 0.04² + 0.10²) / 2) = sqrt(0.0076), range 0.16
    const runsOf = (seed: number, [b, b25, b100, t05, t5]: (number | undefined)[]): Row[] => [
      { values: { seed, 'train.batchSize': 50, 'loss.temperature': undefined }, status: 'done', linearProbeTop1: b },
      { values: { seed, 'train.batchSize': 25, 'loss.temperature': undefined }, varied: 'train.batchSize', status: 'done', linearProbeTop1: b25 },
      { values: { seed, 'train.batchSize': 100, 'loss.temperature': undefined }, varied: 'train.batchSize', status: 'done', linearProbeTop1: b100 },
      { values: { seed, 'train.batchSize': 50, 'loss.temperature': 0.05 }, varied: 'loss.temperature', status: 'done', linearProbeTop1: t05 },
      { values: { seed, 'train.batchSize': 50, 'loss.temperature': 0.5 }, varied: 'loss.temperature', status: t5 === undefined ? 'pending' : 'done', linearProbeTop1: t5 },
    ];
    const r = rows([...runsOf(0, [0.8, 0.7, 0.84, 0.78, 0.65]), ...runsOf(1, [0.82, 0.72, 0.86, 0.8, undefined])]);
    // The base's batch size listed among the values or not: the same points, in order.
    for (const batchSizes of [
      [25, 50, 100],
      [25, 100],
    ]) {
      const s: Sweep = { ...sweepOf({ seed: [0, 1] }), vary: [{ key: 'train.batchSize', values: batchSizes }, { key: 'loss.temperature', values: [0.05, 0.5] }] };
      const [bs, t] = sweepAxisStats(s, r);
      expect([bs.key, bs.kind, t.key, t.kind]).toEqual(['train.batchSize', 'vary', 'loss.temperature', 'vary']);
      expect(bs.points.map((p) => [p.label, p.n, p.probeMean, p.probeStd])).toEqual([
        ['25', 2, expect.closeTo(0.71, 12), expect.closeTo(0.01 * Math.SQRT2, 12)],
        ['50 (base)', 2, expect.closeTo(0.81, 12), expect.closeTo(0.01 * Math.SQRT2, 12)],
        ['100', 2, expect.closeTo(0.85, 12), expect.closeTo(0.01 * Math.SQRT2, 12)],
      ]);
      expect(bs.points[1].base).toBe(true);
      expect(bs.spread).toEqual({ n: 3, std: expect.closeTo(Math.sqrt(0.0052), 12), range: expect.closeTo(0.14, 12) });
      expect(t.points.map((p) => [p.label, p.n, p.probeMean, p.probeStd])).toEqual([
        ['default (base)', 2, expect.closeTo(0.81, 12), expect.closeTo(0.01 * Math.SQRT2, 12)],
        ['0.05', 2, expect.closeTo(0.79, 12), expect.closeTo(0.01 * Math.SQRT2, 12)],
        ['0.5', 1, expect.closeTo(0.65, 12), 0],
      ]);
      expect(t.spread).toEqual({ n: 3, std: expect.closeTo(Math.sqrt(0.0076), 12), range: expect.closeTo(0.16, 12) });
      const html = sweepReportHtml(s, r);
      expect(html).toContain('<h2>train.batchSize (one at a time)</h2>');
      expect(tableRows(html, 'sweep-spread').map((row) => row.map((c) => c.text))).toEqual([
        ['train.batchSize', 'vary', '3', '7.21', '14.00'],
        ['loss.temperature', 'vary', '3', '8.72', '16.00'],
      ]);
      const all = tableRows(html, 'sweep-runs');
      expect(all[0].filter((c) => ['varied', 'loss.temperature'].includes(c.key)).map((c) => c.text)).toEqual(['default', 'base']);
      expect(all[1].find((c) => c.key === 'varied')!.text).toBe('train.batchSize');
    }
  });

  describe('the page', () => {
    const html = sweepReportHtml(sweep, results);

    it('a header with the sweep name and the counts', () => {
      expect(html).toContain('<title>supcon sweep sweep-test</title>');
      expect(html).toContain('9 runs: <span class="count" data-status="done">6 done</span>, <span class="count" data-status="failed">1 failed</span>, <span class="count" data-status="running">1 running</span>, <span class="count" data-status="pending">1 pending</span>.');
    });

    it("each key's table, in percent with 2 decimals, and the spread table", () => {
      expect(html).toContain('mean ± sample standard deviation (n − 1) over seeds, finished runs only');
      const table = tableRows(html, 'sweep-axis');
      expect(table.map((row) => row.map((c) => c.text))).toEqual([
        ['0.05', '3', '92.00 ± 2.00', '89.00 ± 1.00'],
        ['0.1', '2', '96.00 ± 1.41', '94.00 ± 1.41'],
        ['0.5', '1', '88.00 ± 0.00', '86.00 ± 0.00'],
      ]);
      expect(table[0][0].value).toBe(0.05);
      const spreadRows = tableRows(html, 'sweep-spread');
      expect(spreadRows.map((row) => row.map((c) => c.text))).toEqual([['loss.temperature', 'grid', '3', '4.00', '8.00']]);
    });

    it('the chart: the per-value means in percent, a ± std band, and ECharts renders it', () => {
      const options = embeddedOptions(html);
      expect(Object.keys(options)).toEqual(['chart-axis-0']);
      const option = options['chart-axis-0'];
      expect(option.xAxis.data).toEqual(['0.05', '0.1', '0.5']);
      const series = list(option.series) as Record<string, any>[];
      const probe = series.find((s) => s.name === 'linear probe top-1')!;
      expect(probe.data.map((d: { value: number[] }) => d.value.slice(0, 3))).toEqual([
        ['0.05', 92, 2],
        ['0.1', 96, Number((100 * 0.01 * Math.SQRT2).toPrecision(6))],
        ['0.5', 88, 0],
      ]);
      const lower = series.find((s) => s.name === 'linear probe top-1 − std')!;
      const width = series.find((s) => s.name === 'linear probe top-1 ± std')!;
      expect(lower.data).toEqual([90, expect.closeTo(96 - 1.41421, 4), 88]);
      expect(width.data).toEqual([4, expect.closeTo(2.82843, 4), 0]);
      expect(option.legend.data).toEqual(['linear probe top-1', 'kNN top-1']);
      const svg = renderChart(option as never, 640, 380);
      expect(svg).toContain('<svg');
      expect(svg).toContain('loss.temperature');
    });

    it('every run in the full table, with its status and error', () => {
      const all = tableRows(html, 'sweep-runs');
      expect(all).toHaveLength(9);
      expect(all[0].map((c) => c.text)).toEqual(['0', 'loss.temperature-0.05_seed-0', '0.05', '0', 'done', '90.00', '88.00', '25.00', '61', 'wasm', '']);
      const failed = all[5];
      expect(failed.find((c) => c.key === 'status')!.text).toBe('failed');
      expect(failed.find((c) => c.key === 'error')!.text).toBe('loss is NaN at step 12');
      expect(all[7].find((c) => c.key === 'status')!.text).toBe('pending');
      expect(all[8].find((c) => c.key === 'linearProbeTop1')!.text).toBe('–');
    });

    it('escapes every user string: the sweep name, ids, values, errors', () => {
      const evil = '<img src=x onerror="alert(1)">';
      const s = sweepOf({ 'loss.type': [evil, 'supcon'], seed: [0] }, `${evil}&`);
      const r = rows([
        { values: { 'loss.type': evil, seed: 0 }, status: 'failed', id: `</script><script>alert(2)</script>`, error: `${evil} failed` },
        { values: { 'loss.type': 'supcon', seed: 0 }, status: 'done', linearProbeTop1: 0.9, backend: '<b>cpu</b>' },
      ]);
      const page = sweepReportHtml(s, r);
      // What this module wrote (the inlined ECharts after the footer has its own markup strings).
      const body = page.slice(0, page.indexOf('<footer>'));
      expect(body).not.toContain('<img');
      expect(body).not.toContain('<b>cpu');
      expect(body).not.toContain('alert(2)</script>');
      expect(page).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;');
      // The escaped text reads back as given.
      const all = tableRows(page, 'sweep-runs');
      expect(all[0].find((c) => c.key === 'id')!.text).toBe('</script><script>alert(2)</script>');
      expect(all[0].find((c) => c.key === 'loss.type')!.value).toBe(evil);
      expect(all[0].find((c) => c.key === 'error')!.text).toBe(`${evil} failed`);
      // The chart's categories hold the value too, as JSON that cannot end its script element.
      expect(embeddedOptions(page)['chart-axis-0'].xAxis.data).toEqual([evil, 'supcon']);
    });
  });
});
