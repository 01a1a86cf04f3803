import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../main';
import { compareGroups, formatGroupTable, readRun, spread } from './index';

function run(loss: string, top1: number, knn: number, errors: Record<string, number>): string {
  const dir = mkdtempSync(join(tmpdir(), `supcon-group-${loss}-`));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ loss: { type: loss } }));
  writeFileSync(join(dir, 'metrics.jsonl'), '');
  const meanError = Object.values(errors).reduce((a, b) => a + b, 0) / Object.keys(errors).length;
  const corruptions = Object.fromEntries(Object.entries(errors).map(([k, e]) => [k, { error: e }]));
  writeFileSync(
    join(dir, 'summary.json'),
    JSON.stringify({ stage: loss === 'cross-entropy' ? 'ce' : 'supcon', finalLoss: 1, wallTimeSeconds: 60, linearProbe: { top1 }, knn: { top1: knn }, corruption: { meanError, corruptions } }),
  );
  return dir;
}

describe('compare --group', () => {
  it('spread: mean and sample standard deviation by hand', () => {
    // 0.90, 0.91, 0.92: mean 0.91, deviations -0.01, 0, 0.01 -> var = 2e-4 / 2 = 1e-4 -> std 0.01
    const s = spread([0.9, 0.91, 0.92])!;
    expect(s.mean).toBeCloseTo(0.91, 12);
    expect(s.std).toBeCloseTo(0.01, 12);
    expect(s.n).toBe(3);
    expect(spread([0.5])).toEqual({ mean: 0.5, std: 0, n: 1 });
    expect(spread([undefined, Number.NaN])).toBeUndefined();
  });

  it('one row per group, mCE relative to the cross-entropy group mean, mean ± std in the table', () => {
    const supcon = [run('supcon-out', 0.9, 0.89, { noise: 0.2, blur: 0.3 }), run('supcon-out', 0.92, 0.91, { noise: 0.4, blur: 0.3 })].map(readRun);
    const ce = [run('cross-entropy', 0.88, 0.87, { noise: 0.4, blur: 0.2 }), run('cross-entropy', 0.9, 0.89, { noise: 0.4, blur: 0.4 })].map(readRun);
    const rows = compareGroups([supcon, ce]);
    expect(rows.map((r) => r.loss)).toEqual(['supcon-out', 'cross-entropy']);
    expect(rows[0].linearProbeTop1!.mean).toBeCloseTo(0.91, 12);
    expect(rows[0].linearProbeTop1!.std).toBeCloseTo(Math.SQRT2 * 0.01, 12);
    // Baseline errors (CE group means): noise 0.4, blur 0.3. SupCon run 1: (0.2/0.4 + 0.3/0.3)/2 = 75; run 2: (1 + 1)/2 = 100.
    expect(rows[0].mCE!.mean).toBeCloseTo(87.5, 10);
    expect(rows[0].mCE!.std).toBeCloseTo(Math.sqrt(2 * 12.5 ** 2), 10);
    // CE runs: (1 + 0.2/0.3)/2 and (1 + 0.4/0.3)/2 -> mean 100
    expect(rows[1].mCE!.mean).toBeCloseTo(100, 10);
    const table = formatGroupTable(rows);
    expect(table).toMatch(/supcon-out\s+2\s+1\.0000 ± 0\.0000\s+91\.00 ± 1\.41\s+90\.00 ± 1\.41/);
    expect(table).toContain('87.5 ± 17.7');
  });

  it('refuses an empty group and a group that mixes losses', () => {
    expect(() => compareGroups([[]])).toThrow('compare: --group 1 is empty');
    const mixed = [run('supcon-out', 0.9, 0.9, { a: 0.1 }), run('simclr', 0.9, 0.9, { a: 0.1 })].map(readRun);
    expect(() => compareGroups([mixed])).toThrow(/a group mixes losses \(supcon-out, simclr\)/);
  });

  it('supcon compare --group prints one row per group; bad arguments are errors', async () => {
    const a = [run('supcon-out', 0.9, 0.89, { noise: 0.2 }), run('supcon-out', 0.92, 0.91, { noise: 0.4 })];
    const b = [run('cross-entropy', 0.88, 0.87, { noise: 0.3 })];
    const out: string[] = [];
    const err: string[] = [];
    const io = { print: (l: string) => void out.push(l), printError: (l: string) => void err.push(l) };
    expect(await main(['compare', '--group', a.join(','), '--group', b.join(',')], io)).toBe(0);
    const lines = out.join('\n').split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^supcon-out\s+2\s.*91\.00 ± 1\.41\s+90\.00 ± 1\.41\s+30\.00 ± 14\.14\s+100\.0 ± 47\.1/);
    expect(lines[3]).toMatch(/^cross-entropy\s+1\s.*88\.00 ± 0\.00/);
    expect(await main(['compare', a[0], '--group', b[0]], io)).toBe(1);
    expect(err.at(-1)).toContain('either as arguments or as --group lists, not both');
    expect(await main(['compare', '--group', `${a[0]},/nonexistent/run`], io)).toBe(1);
    expect(err.at(-1)).toContain('compare: no such run folder: /nonexistent/run');
  });
});
