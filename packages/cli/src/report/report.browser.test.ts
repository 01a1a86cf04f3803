/**
 * The pages in Debian's chromium (playwright-core, no download): no page errors, no requests
 * leave the file, and in every chart the title, the legend, the axes (labels and names included)
 * and the confusion matrix's colour scale occupy disjoint rectangles, as ECharts laid them out.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { compareGroups, compareRuns, readRun, renderComparePage, renderGroupComparePage, renderReport } from './index';
import { makeRun } from './test-runs';

const chromium = '/usr/bin/chromium';

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface ChartLayout {
  id: string;
  width: number;
  boxWidth: number;
  titleText: string;
  title: Rect[];
  legend: Rect[];
  axes: Rect[];
  visualMap: Rect[];
  grid: Rect;
}

/** In the page: each chart's component rectangles, from its ECharts instance's rendered views. */
async function layouts(page: Page): Promise<ChartLayout[]> {
  return page.evaluate(() => {
    const ec = (window as unknown as { echarts: any }).echarts;
    type R = { x: number; y: number; width: number; height: number };
    const union = (a: R | undefined, b: R | undefined): R | undefined => {
      if (!a) return b;
      if (!b) return a;
      const x = Math.min(a.x, b.x);
      const y = Math.min(a.y, b.y);
      return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
    };
    const clipTo = (a: R | undefined, c: R): R | undefined => {
      if (!a) return undefined;
      const x = Math.max(a.x, c.x);
      const y = Math.max(a.y, c.y);
      const w = Math.min(a.x + a.width, c.x + c.width) - x;
      const h = Math.min(a.y + a.height, c.y + c.height) - y;
      return w > 0 && h > 0 ? { x, y, width: w, height: h } : undefined;
    };
    const global = (el: any, local: any): R => {
      const rect = local.clone();
      const m = el.getComputedTransform();
      if (m) rect.applyTransform(m);
      return { x: rect.x, y: rect.y, width: rect.width, height: rect.height };
    };
    // What is drawn: the union of the visible leaf elements, cut by their groups' clip paths
    // (a scrolling legend draws only what fits its width).
    const drawn = (el: any): R | undefined => {
      if (el.ignore || el.invisible) return undefined;
      let rect: R | undefined;
      if (el.isGroup) {
        for (const child of el.children()) rect = union(rect, drawn(child));
      } else {
        const local = el.getBoundingRect();
        if (local.width > 0 && local.height > 0) rect = global(el, local);
        if (el.getTextContent?.()) rect = union(rect, drawn(el.getTextContent()));
      }
      const clip = el.getClipPath?.();
      return clip ? clipTo(rect, global(el, clip.getBoundingRect())) : rect;
    };
    const rectOf = (chart: any, model: any): Rect | undefined => {
      const view = chart.getViewOfComponentModel(model);
      return view?.group ? drawn(view.group) : undefined;
    };
    return Array.from(document.querySelectorAll<HTMLElement>('.chart')).map((box) => {
      const chart = ec.getInstanceByDom(box);
      const model = chart.getModel();
      const rects = (type: string) => {
        const out: Rect[] = [];
        model.eachComponent(type, (m: unknown) => {
          const r = rectOf(chart, m);
          if (r) out.push(r);
        });
        return out;
      };
      const grid = model.getComponent('grid').coordinateSystem.getRect();
      return {
        id: box.id,
        width: chart.getWidth(),
        boxWidth: box.clientWidth,
        titleText: model.getComponent('title').get('text'),
        title: rects('title'),
        legend: rects('legend'),
        axes: [...rects('xAxis'), ...rects('yAxis')],
        visualMap: rects('visualMap'),
        grid: { x: grid.x, y: grid.y, width: grid.width, height: grid.height },
      };
    });
  });
}

function intersects(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function overlaps(chart: ChartLayout): string[] {
  const found: string[] = [];
  const check = (what: string, as: Rect[], bs: Rect[]) => {
    for (const a of as) for (const b of bs) if (intersects(a, b)) found.push(`${chart.id}: ${what} ${JSON.stringify(a)} / ${JSON.stringify(b)}`);
  };
  check('title/legend', chart.title, chart.legend);
  check('title/axes', chart.title, [...chart.axes, chart.grid]);
  check('legend/axes', chart.legend, [...chart.axes, chart.grid]);
  check('colour scale/axes', chart.visualMap, [...chart.axes, chart.grid]);
  check('title/colour scale', chart.title, chart.visualMap);
  return found;
}

(existsSync(chromium) ? describe : describe.skip)('report pages in headless Chromium', () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'supcon-report-browser-'));
  // Ten classes with long names, so that rotated labels, a long legend and a wide matrix are laid out too.
  const classes = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  const confusion = classes.map((_, t) => classes.map((__, p) => (t === p ? 900 + t : (t * 7 + p * 3) % 40)));
  const runDirs = [
    makeRun({ stage: 'ce', epochLosses: [1.9, 1.2, 0.8, 0.6], monitor: [0.7, 0.78, 0.81, 0.83], confusion }),
    makeRun({ epochLosses: [4.8, 4.3, 4.1, 4.0], monitor: [0.72, 0.8, 0.84, 0.86] }),
    makeRun({ loss: 'simclr', epochLosses: [5.5, 5.2, 5.0, 4.9], monitor: [0.6, 0.65, 0.69, 0.7] }),
    makeRun({ epochLosses: [4.7, 4.4, 4.2, 4.1], monitor: [0.7, 0.79, 0.82, 0.85] }),
  ];
  {
    const summaryFile = join(runDirs[0], 'summary.json');
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
    summary.classes = classes;
    summary.linearProbe.perClassAccuracy = classes.map((_, i) => 0.7 + i / 40);
    writeFileSync(summaryFile, JSON.stringify(summary));
    writeFileSync(
      join(runDirs[0], 'embedding-map.json'),
      JSON.stringify({ method: 'PCA', points: Array.from({ length: 200 }, (_, i) => [Math.cos(i) * (i % 10), Math.sin(i) * (i % 7)]), labels: Array.from({ length: 200 }, (_, i) => i % 10) }),
    );
  }
  const runs = runDirs.map((d) => readRun(d));
  const pages: Record<string, string> = {
    report: renderReport(runs[0]),
    compare: renderComparePage(runs.slice(0, 3), compareRuns(runs.slice(0, 3))),
    groups: renderGroupComparePage([[runs[1], runs[3]], [runs[0]]], compareGroups([[runs[1], runs[3]], [runs[0]]])),
  };
  for (const [name, html] of Object.entries(pages)) writeFileSync(join(dir, `${name}.html`), html);

  beforeAll(async () => {
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({
      executablePath: chromium,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
  });

  async function open(name: string, width: number): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith('file://')) requests.push(r.url());
    });
    await page.goto(`file://${join(dir, `${name}.html`)}`);
    await page.waitForFunction(() => document.querySelectorAll('.chart svg').length === document.querySelectorAll('.chart').length);
    return { page, errors, requests };
  }

  for (const name of ['report', 'compare', 'groups']) {
    for (const width of [1280, 760]) {
      it(`${name} at ${width}px: no errors, no requests, titles clear of legends and axes`, async () => {
        const { page, errors, requests } = await open(name, width);
        try {
          const charts = await layouts(page);
          expect(charts.length).toBe(name === 'report' ? 8 : 2);
          for (const chart of charts) {
            expect({ id: chart.id, title: chart.title.length, axes: chart.axes.length > 0 }).toEqual({ id: chart.id, title: 1, axes: true });
            expect(chart.titleText.length).toBeGreaterThan(0);
            // Everything inside the chart, which is as wide as the page's column.
            expect(chart.width).toBe(chart.boxWidth);
            const parts = { title: chart.title, legend: chart.legend, axes: chart.axes, visualMap: chart.visualMap };
            for (const [part, rs] of Object.entries(parts)) {
              for (const r of rs) expect({ id: chart.id, part, inside: r.x >= -0.5 && r.x + r.width <= chart.width + 0.5, r }).toEqual({ id: chart.id, part, inside: true, r });
            }
            // The legend (where there is one) sits below the title.
            for (const legend of chart.legend) expect(legend.y).toBeGreaterThanOrEqual(chart.title[0].y + chart.title[0].height - 0.5);
          }
          expect(charts.flatMap(overlaps)).toEqual([]);
          expect(charts.filter((c) => c.legend.length > 0).length).toBeGreaterThan(0);
          if (name === 'report') {
            const confusion = charts.find((c) => c.id === 'chart-confusion')!;
            expect(confusion.visualMap).toHaveLength(1);
            // The config is folded away: its text takes no room until opened.
            expect(await page.$eval('details.config', (d) => (d as HTMLDetailsElement).open)).toBe(false);
            expect(await page.locator('details.config pre').isVisible()).toBe(false);
          }
          expect(errors).toEqual([]);
          expect(requests).toEqual([]);
        } finally {
          await page.close();
        }
      }, 60000);
    }
  }

  it('charts follow the window: full width, resized with it', async () => {
    const { page, errors } = await open('report', 1280);
    try {
      const mainWidth = await page.$eval('main', (m) => (m as HTMLElement).clientWidth);
      const before = await layouts(page);
      // main has 24px of padding each side; each chart fills the rest.
      for (const c of before) expect(c.width).toBe(mainWidth - 48);
      await page.setViewportSize({ width: 700, height: 900 });
      await page.waitForFunction(() => {
        const ec = (window as unknown as { echarts: any }).echarts;
        return Array.from(document.querySelectorAll<HTMLElement>('.chart')).every((b) => ec.getInstanceByDom(b).getWidth() === b.clientWidth);
      });
      const after = await layouts(page);
      for (const c of after) {
        expect(c.width).toBe(700 - 48);
        expect(c.width).toBe(c.boxWidth);
      }
      expect(after.flatMap(overlaps)).toEqual([]);
      if (process.env.SUPCON_KEEP_SCREENSHOT) await page.screenshot({ path: process.env.SUPCON_KEEP_SCREENSHOT, fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60000);
});
