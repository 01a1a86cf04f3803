/**
 * The docs site's in-browser training demo (docs/demo.md), end to end, in Debian's Chromium
 * (/usr/bin/chromium, never a downloaded browser):
 *
 * 1. builds the site (`npm run docs:build`; set SUPCON_DEMO_DIST to a built site to skip that,
 *    e.g. in CI right after docs:build: SUPCON_DEMO_DIST=docs/.vitepress/dist);
 * 2. serves it on 127.0.0.1 with COOP/COEP headers (so the page is cross-origin isolated and the
 *    wasm backend gets threads) and VitePress's clean URLs (/demo is demo.html);
 * 3. opens /demo, clicks Train, waits for 20 steps and checks that the loss fell, that the
 *    embedding map drew its points, and that the page logged no error;
 * 4. keeps a screenshot and the numbers seen in tools/demo/__screenshots__/ (demo.png, demo.json).
 *
 *   npm run test:demo
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';

const chromium = '/usr/bin/chromium';
const root = path.resolve(__dirname, '../..');
const outDir = path.join(__dirname, '__screenshots__');
/** Steps the test waits for. */
const STEPS = 20;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  // The sample's IDX files are fetched as they are and decompressed by the page: no Content-Encoding.
  '.gz': 'application/octet-stream',
};

/** A static server for the built site, cross-origin isolated, with clean URLs. */
async function serve(dist: string): Promise<Server> {
  const isolation = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  const fileOf = (pathname: string): string | undefined => {
    const rel = decodeURIComponent(pathname).replace(/^\/+/, '');
    if (rel.split('/').includes('..')) return undefined;
    const candidates =
      rel === '' || rel.endsWith('/')
        ? [`${rel}index.html`]
        : [rel, `${rel}.html`, `${rel}/index.html`];
    return candidates
      .map((c) => path.join(dist, c))
      .find((f) => existsSync(f) && statSync(f).isFile());
  };
  const server = createServer((req, res) => {
    const file = fileOf(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (!file) {
      res.writeHead(404, { ...isolation, 'Content-Type': 'text/html; charset=utf-8' });
      res.end(
        existsSync(path.join(dist, '404.html'))
          ? readFileSync(path.join(dist, '404.html'))
          : 'not found',
      );
      return;
    }
    res.writeHead(200, {
      ...isolation,
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** What TrainDemo.vue keeps on `window.supconDemo`. */
interface DemoHandle {
  state: string;
  step: number;
  losses: number[];
  points: number;
  knnTop1: number | null;
  error: string;
  stepsPerSecond: number;
  threads?: number;
  isolated: boolean;
}

(existsSync(chromium) ? describe : describe.skip)('the in-browser demo (/demo) in Chromium', () => {
  let dist: string;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let origin: string;
  const errors: string[] = [];
  let buildSeconds: number | null = null;

  beforeAll(async () => {
    if (process.env.SUPCON_DEMO_DIST) {
      dist = path.resolve(root, process.env.SUPCON_DEMO_DIST);
    } else {
      const started = Date.now();
      execFileSync('npm', ['run', 'docs:build'], { cwd: root, stdio: 'inherit' });
      buildSeconds = (Date.now() - started) / 1000;
      dist = path.join(root, 'docs/.vitepress/dist');
    }
    expect(existsSync(path.join(dist, 'demo.html'))).toBe(true);
    server = await serve(dist);
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({
      executablePath: chromium,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('pageerror', (e) => errors.push(`page error: ${String(e)}`));
    page.on('console', (m) => {
      // The site has no favicon: the browser's own request for one is no error of the page.
      if (
        m.type() === 'error' &&
        !new URL(m.location().url || origin).pathname.endsWith('/favicon.ico')
      )
        errors.push(`console.error: ${m.text()} (${m.location().url})`);
    });
    page.on('requestfailed', (r) =>
      errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`),
    );
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
        errors.push(`HTTP ${r.status()}: ${r.url()}`);
    });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  it(`trains: after ${STEPS} steps the loss fell, the map drew its points, and nothing logged an error`, async () => {
    await page.goto(`${origin}/demo`);
    // tfjs and @supcon/train load after the page mounts (never in server-side rendering).
    await page.waitForFunction(
      () => (window as unknown as { supconDemo?: { state: string } }).supconDemo?.state === 'ready',
      null,
      { timeout: 60_000 },
    );
    const train = page.getByRole('button', { name: 'Train' });
    await train.click();
    const started = Date.now();
    const step = page.getByTestId('step');
    await page.waitForFunction(
      (n) => {
        const handle = (window as unknown as { supconDemo: { state: string } }).supconDemo;
        return (
          handle.state === 'error' ||
          Number(document.querySelector('[data-testid="step"]')?.textContent) >= n
        );
      },
      STEPS,
      { timeout: 300_000, polling: 100 },
    );
    const seconds = (Date.now() - started) / 1000;
    const stepText = await step.textContent();
    const lossText = await page.getByTestId('loss').textContent();
    // The map is redrawn every 10 steps: the one of step 20 follows step 20's loss.
    await page.waitForFunction(
      (n) =>
        Number(
          document.querySelector('[data-testid="embedding-map"]')?.getAttribute('data-step'),
        ) >= n ||
        (window as unknown as { supconDemo: { state: string } }).supconDemo.state === 'error',
      STEPS,
      { timeout: 60_000 },
    );
    const map = page.getByTestId('embedding-map');
    const circles = await map.locator('circle').count();
    const dataPoints = Number(await map.getAttribute('data-points'));
    const handle = (await page.evaluate(() =>
      JSON.parse(JSON.stringify((window as unknown as { supconDemo: unknown }).supconDemo)),
    )) as DemoHandle;
    const hardwareConcurrency = await page.evaluate(() => navigator.hardwareConcurrency);

    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: path.join(outDir, 'demo.png'), fullPage: true });

    // Stop the run and see the page take it.
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.waitForFunction(
      () =>
        ['stopped', 'done', 'error'].includes(
          (window as unknown as { supconDemo: { state: string } }).supconDemo.state,
        ),
      null,
      { timeout: 60_000 },
    );
    const finalState = await page.evaluate(
      () => (window as unknown as { supconDemo: { state: string } }).supconDemo.state,
    );

    const n = handle.losses.length;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const seen = {
      buildSeconds,
      step: Number(stepText),
      lossFirst: handle.losses[0],
      lossLatest: Number(lossText),
      lossFirst5: mean(handle.losses.slice(0, 5)),
      lossLast5: mean(handle.losses.slice(n - 5)),
      circles,
      dataPoints,
      knnTop1: handle.knnTop1,
      secondsTo20Steps: seconds,
      stepsPerSecond: handle.stepsPerSecond,
      isolated: handle.isolated,
      threads: handle.threads,
      hardwareConcurrency,
      finalState,
      errors,
    };
    writeFileSync(path.join(outDir, 'demo.json'), `${JSON.stringify(seen, null, 2)}\n`);
    console.log(`demo: ${JSON.stringify(seen)}`);

    expect(handle.error).toBe('');
    expect(errors).toEqual([]);
    expect(Number(stepText)).toBeGreaterThanOrEqual(STEPS);
    // The loss fell: the latest step's (the loss element) below the first's, and on average over five steps.
    expect(Number.isFinite(seen.lossLatest)).toBe(true);
    expect(seen.lossLatest).toBeLessThan(seen.lossFirst);
    expect(seen.lossLast5).toBeLessThan(seen.lossFirst5);
    // The map drew its 300 test images.
    expect(circles).toBe(300);
    expect(dataPoints).toBe(300);
    expect(handle.knnTop1).toBeGreaterThan(0);
    // Cross-origin isolated: the wasm backend on threads ('auto': the cores, at most 8).
    expect(handle.isolated).toBe(true);
    expect(handle.threads).toBe(Math.max(1, Math.min(hardwareConcurrency, 8)));
    expect(finalState).toBe('stopped');
  }, 600_000);
});
