import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { main } from '../main';
import { compareGroups, compareRuns, formatCompareTable, formatGroupTable, readRun, renderComparePage, renderGroupComparePage, shortRunNames } from './index';
import { compareTableHeads, compareTableRows, embeddedOptions, epochLossesOf, list, makeRun } from './test-runs';

/** The text table's body rows, cell by cell (columns are two or more spaces apart). */
function textRows(table: string): string[][] {
  return table
    .split('\n')
    .slice(2)
    .map((line) => line.trim().split(/\s{2,}/));
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { print: (l: string) => void out.push(l), printError: (l: string) => void err.push(l) } };
}

describe('supcon compare --html', () => {
  const ce = makeRun({ stage: 'ce', top1: 0.75, knn: 0.74, errors: { noise: 0.6, blur: 0.2 }, epochLosses: [1.9, 1.1, 0.7], monitor: [0.7, 0.75, 0.8], wallTimeSeconds: 30 });
  const sc = makeRun({ stage: 'supcon', top1: 0.8, knn: 0.79, errors: { noise: 0.3, blur: 0.2 }, epochLosses: [4.8, 4.2, 3.9], monitor: [0.72, 0.81, 0.84], wallTimeSeconds: 61 });
  const simclr = makeRun({ stage: 'supcon', loss: 'simclr', top1: 0.7, knn: 0.66, errors: { noise: 0.5, blur: 0.3 }, epochLosses: [5.5, 5.1], monitor: [0.5, 0.55], torn: true });
  const dirs = [sc, ce, simclr];
  const runs = dirs.map((d) => readRun(d));
  const rows = compareRuns(runs);
  const html = renderComparePage(runs, rows);
  const options = embeddedOptions(html);

  it("the table's rows are compareRuns' rows, shown as the text table shows them", () => {
    const cells = compareTableRows(html);
    expect(cells).toHaveLength(rows.length);
    const fields = ['run', 'loss', 'finalLoss', 'linearProbeTop1', 'knnTop1', 'meanCorruptionError', 'mCE', 'wallTimeSeconds'] as const;
    cells.forEach((row, i) => {
      // The raw values, as compareRuns returns them (data-value), column by column.
      expect(row.map((c) => c.value)).toEqual(fields.map((f) => rows[i][f] ?? null));
    });
    // The text, cell for cell what `supcon compare` prints.
    expect(cells.map((row) => row.map((c) => c.text))).toEqual(textRows(formatCompareTable(rows)));
    expect(rows[1].mCE).toBeCloseTo(100, 10); // the CE run is the baseline...
    expect(html).toContain(`baseline run's (${ce})`); // ...and the page says so
    expect(compareTableHeads(html)).toEqual(['run', 'loss function', 'final loss', 'linear probe top-1 (%)', 'kNN top-1 (%)', 'mean corruption error (%)', 'mCE (baseline = 100)', 'wall time (s)']);
  });

  it("overlays every run's epoch losses from its metrics.jsonl, and the monitor accuracy in percent", () => {
    const loss = options['chart-loss'];
    const series = list(loss.series) as Record<string, any>[];
    expect(series.map((s) => s.id)).toEqual(dirs);
    for (const s of series) {
      const expected = epochLossesOf(readFileSync(join(s.id, 'metrics.jsonl'), 'utf8'));
      expect(expected.length).toBeGreaterThan(0);
      expect(s.data.map((p: { value: number[] }) => p.value)).toEqual(expected);
    }
    expect(series.map((s) => s.name)).toEqual(shortRunNames(dirs));
    expect(new Set(series.map((s) => s.itemStyle.color)).size).toBe(3);
    expect(loss.yAxis.name).toBe('loss');
    expect(loss.xAxis.name).toBe('epoch');
    const monitor = options['chart-acc-monitorKnnTop1'];
    expect(monitor.yAxis).toMatchObject({ min: 0, max: 100, name: '20-NN top-1 (monitor, %)' });
    for (const s of list(monitor.series) as Record<string, any>[]) {
      const expected = epochLossesOf(readFileSync(join(s.id, 'metrics.jsonl'), 'utf8'), 'monitorKnnTop1').map(([e, v]) => [e, 100 * v]);
      const got = s.data.map((p: { value: number[] }) => p.value);
      expect(got.map((p: number[]) => p[0])).toEqual(expected.map((p) => p[0]));
      got.forEach((p: number[], j: number) => expect(p[1]).toBeCloseTo(expected[j][1], 6));
    }
    expect(Object.keys(options).sort()).toEqual(['chart-acc-monitorKnnTop1', 'chart-loss']);
    expect(html).not.toMatch(/<details[^>]*\bopen\b/);
  });

  it('legend names drop the folder the runs share', () => {
    expect(shortRunNames(['/r/repro/ce-seed0', '/r/repro/sc-seed0'])).toEqual(['ce-seed0', 'sc-seed0']);
    expect(shortRunNames(['runs/a/x', 'runs/b/x'])).toEqual(['a/x', 'b/x']);
    expect(shortRunNames(['/r/only'])).toEqual(['only']);
    expect(shortRunNames(['a/x', 'a/x/'])).toEqual(['a/x', 'a/x/']);
  });

  it('groups: mean ± std rows equal compareGroups, one curve per run in its group colour', () => {
    const a = [makeRun({ top1: 0.9, knn: 0.89, errors: { noise: 0.2 }, epochLosses: [4, 3] }), makeRun({ top1: 0.92, knn: 0.91, errors: { noise: 0.4 }, epochLosses: [4.2, 3.1] })];
    const b = [makeRun({ stage: 'ce', top1: 0.88, knn: 0.87, errors: { noise: 0.3 }, epochLosses: [2, 1] })];
    const groups = [a, b].map((g) => g.map((d) => readRun(d)));
    const groupRows = compareGroups(groups);
    const page = renderGroupComparePage(groups, groupRows);
    const cells = compareTableRows(page);
    const fields = ['loss', 'runs', 'finalLoss', 'linearProbeTop1', 'knnTop1', 'meanCorruptionError', 'mCE', 'wallTimeSeconds'] as const;
    cells.forEach((row, i) => expect(row.map((c) => c.value)).toEqual(fields.map((f) => groupRows[i][f] ?? null)));
    const text = textRows(formatGroupTable(groupRows));
    expect(cells.map((row) => row.map((c) => c.text))).toEqual(text);
    expect(cells[0].find((c) => c.key === 'linearProbeTop1')!.text).toBe('91.00 ± 1.41');
    const series = list(embeddedOptions(page)['chart-loss'].series) as Record<string, any>[];
    expect(series.map((s) => s.id)).toEqual([...a, ...b]);
    expect(series.map((s) => s.name)).toEqual(['supcon-out', 'supcon-out', 'cross-entropy']);
    expect(series[0].itemStyle.color).toBe(series[1].itemStyle.color);
    expect(series[0].itemStyle.color).not.toBe(series[2].itemStyle.color);
    for (const s of series) expect(s.data.map((p: { value: number[] }) => p.value)).toEqual(epochLossesOf(readFileSync(join(s.id, 'metrics.jsonl'), 'utf8')));
    // Each point names its run (the tooltip tells the seeds of a group apart).
    expect(series[1].data[0].name).toBe(a[1]);
    // A folder given twice still gets a chart: ECharts needs distinct series ids.
    const twice = renderGroupComparePage([[groups[0][0], groups[0][0]]], compareGroups([[groups[0][0], groups[0][0]]]));
    const twiceSeries = list(embeddedOptions(twice)['chart-loss'].series) as Record<string, any>[];
    expect(twiceSeries.map((s) => s.id)).toEqual([a[0], `${a[0]}#2`]);
    expect(twiceSeries.map((s) => s.data[0].name)).toEqual([a[0], a[0]]);
  });

  it('writes the page atomically, and never over an existing file without --overwrite', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'supcon-compare-html-'));
    const file = join(outDir, 'compare.html');
    const first = io();
    expect(await main(['compare', sc, ce, '--html', file], first.io)).toBe(0);
    expect(first.out.at(-1)).toBe(`html: ${file}`);
    expect(first.out.join('\n')).toContain(formatCompareTable(compareRuns([runs[0], runs[1]])));
    const written = readFileSync(file, 'utf8');
    expect(compareTableRows(written).map((r) => r[0].text)).toEqual([sc, ce]);

    // An existing file is kept as it was.
    writeFileSync(file, 'mine');
    const refused = io();
    expect(await main(['compare', sc, ce, '--html', file], refused.io)).toBe(1);
    expect(refused.err.at(-1)).toBe(`supcon: compare: ${file} exists: pass --overwrite to replace it`);
    expect(readFileSync(file, 'utf8')).toBe('mine');

    const replaced = io();
    expect(await main(['compare', '--group', `${sc}`, '--group', `${ce},${simclr}`, '--html', file, '--overwrite'], replaced.io)).toBe(1);
    expect(replaced.err.at(-1)).toMatch(/a group mixes losses/);
    expect(readFileSync(file, 'utf8')).toBe('mine'); // an error before the page: nothing written
    expect(await main(['compare', '--group', `${sc}`, '--group', `${ce}`, '--html', file, '--overwrite', '--json'], replaced.io)).toBe(0);
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('supcon compare: 2 groups of runs');
    expect(JSON.parse(replaced.out.at(-1)!)).toHaveLength(2); // --json output stays pure JSON
    // Only the page in the folder: no temporary file left behind.
    expect(readdirSync(outDir)).toEqual(['compare.html']);
    expect(statSync(file).size).toBe(Buffer.byteLength(page));

    const bad = io();
    expect(await main(['compare', sc, '--overwrite'], bad.io)).toBe(1);
    expect(bad.err.at(-1)).toContain('--overwrite only applies with --html FILE');
    const missingFolder = join(outDir, 'no', 'such', 'folder', 'c.html');
    expect(await main(['compare', sc, '--html', missingFolder], bad.io)).toBe(1);
    expect(bad.err.at(-1)).toContain(dirname(missingFolder));
    expect(existsSync(missingFolder)).toBe(false);
  });
});
