import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareRuns, formatCompareTable, readRun, relativeMce, renderReport } from './index';

function makeRun(stage: 'supcon' | 'ce', top1: number, errors: Record<string, number>): string {
  const dir = mkdtempSync(join(tmpdir(), `supcon-report-${stage}-`));
  const classes = ['T-shirt', 'Trouser', 'Pullover'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ loss: { type: stage === 'ce' ? 'cross-entropy' : 'supcon-out' }, train: { epochs: 2 } }));
  const metrics = [
    { kind: 'step', epoch: 0, step: 0, globalStep: 0, loss: 2.5 },
    { kind: 'step', epoch: 0, step: 1, globalStep: 1, loss: 2.0 },
    { kind: 'epoch', epoch: 0, loss: 2.25, knnTop1: 0.6 },
    { kind: 'step', epoch: 1, step: 0, globalStep: 2, loss: 1.5 },
    { kind: 'step', epoch: 1, step: 1, globalStep: 3, loss: 1.0 },
    { kind: 'epoch', epoch: 1, loss: 1.25, knnTop1: 0.7 },
  ];
  // A torn last line, as a SIGKILL mid-write leaves: skipped, not fatal.
  writeFileSync(join(dir, 'metrics.jsonl'), metrics.map((m) => JSON.stringify(m)).join('\n') + '\n{"kind":"st');
  writeFileSync(
    join(dir, 'summary.json'),
    JSON.stringify({
      name: stage,
      stage,
      backend: 'cpu',
      epochs: 2,
      stepsPerEpoch: 2,
      finalLoss: 1.25,
      imagesPerSecond: 123.4,
      wallTimeSeconds: 42,
      classes,
      linearProbe: { top1, top5: 1, perClassAccuracy: [0.9, 0.8, 0.7], confusionMatrix: [[9, 1, 0], [1, 8, 1], [0, 3, 7]] },
      knn: { top1: 0.7, top5: 1 },
      corruption: {
        meanError: Object.values(errors).reduce((a, b) => a + b, 0) / Object.keys(errors).length,
        corruptions: Object.fromEntries(Object.entries(errors).map(([k, e]) => [k, { error: e, perSeverity: [e, e, e, e, e] }])),
      },
    }),
  );
  writeFileSync(
    join(dir, 'embedding-map.json'),
    JSON.stringify({ method: 'PCA', points: [[0, 0], [1, 1], [5, 5], [6, 5], [-3, 2], [-4, 2]], labels: [0, 0, 1, 1, 2, 2] }),
  );
  return dir;
}

describe('run report', () => {
  it('reads a run, tolerating a torn last metrics line', () => {
    const run = readRun(makeRun('supcon', 0.8, { noise: 0.3 }));
    expect(run.metrics).toHaveLength(6);
    expect(run.embeddingMap?.labels).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('names the missing file for a directory that is not a run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'supcon-empty-'));
    expect(() => readRun(dir)).toThrow(/summary\.json is missing/);
  });

  it('renders a self-contained page with every section', () => {
    const html = renderReport(readRun(makeRun('supcon', 0.8, { noise: 0.3, blur: 0.2 })));
    for (const heading of ['Summary', 'Loss', 'Accuracy', 'Embeddings', 'Per-class accuracy', 'Confusion matrix', 'Corruption robustness', 'Config']) {
      expect(html).toContain(`<h2>${heading}</h2>`);
    }
    expect((html.match(/<svg /g) ?? []).length).toBe(6);
    expect(html).toContain('80.00%'); // probe top-1
    expect(html).toContain('Trouser');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // offline: no scripts, no external links
  });

  it('computes mCE relative to the baseline by hand', () => {
    // CE_noise = 0.3/0.6 = 0.5, CE_blur = 0.2/0.2 = 1 -> mCE = 75
    expect(relativeMce({ noise: 0.3, blur: 0.2 }, { noise: 0.6, blur: 0.2 })).toBeCloseTo(75, 10);
    const ce = readRun(makeRun('ce', 0.75, { noise: 0.6, blur: 0.2 }));
    const sc = readRun(makeRun('supcon', 0.8, { noise: 0.3, blur: 0.2 }));
    const rows = compareRuns([sc, ce]);
    expect(rows[1].mCE).toBeCloseTo(100, 10); // the CE run is the baseline
    expect(rows[0].mCE).toBeCloseTo(75, 10);
    const table = formatCompareTable(rows);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toMatch(/supcon-out\s+1\.2500\s+80\.00\s+70\.00\s+25\.00\s+75\.0\s+42/);
  });

  const chromium = '/usr/bin/chromium';
  (existsSync(chromium) ? it : it.skip)('renders in headless Chromium (screenshot)', async () => {
    const dir = makeRun('supcon', 0.8, { noise: 0.3 });
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(readRun(dir)));
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({
      executablePath: chromium,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(r.url()));
      await page.goto(`file://${file}`);
      const boxes = await page.$$eval('svg', (els) => els.map((e) => e.getBoundingClientRect().width * e.getBoundingClientRect().height));
      expect(boxes).toHaveLength(6);
      for (const area of boxes) expect(area).toBeGreaterThan(10000);
      const shot = join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      if (process.env.SUPCON_KEEP_SCREENSHOT) writeFileSync(process.env.SUPCON_KEEP_SCREENSHOT, readFileSync(shot));
      const png = readFileSync(shot);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.length).toBeGreaterThan(20000);
      expect(failed).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60000);
});
