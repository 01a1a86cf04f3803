/**
 * The docs site's in-browser training demo (docs/demo.md), end to end, in Debian's Chromium
 * (/usr/bin/chromium, never a downloaded browser):
 *
 * 1. builds the site (`npm run docs:build`, once for every test here: global-setup.ts; set
 *    SUPCON_DEMO_DIST to a built site to skip that, e.g. in CI right after docs:build:
 *    SUPCON_DEMO_DIST=docs/.vitepress/dist);
 * 2. serves it on 127.0.0.1 with COOP/COEP headers (so the page is cross-origin isolated and the
 *    wasm backend gets threads) and VitePress's clean URLs (/demo is demo.html): serve.ts;
 * 3. opens /demo, clicks Train, waits for 20 steps and checks that the loss fell, that the
 *    embedding map drew its points, and that the page logged no error;
 * 4. keeps a screenshot and the numbers seen in tools/demo/__screenshots__/ (demo.png, demo.json).
 *
 *   npm run test:demo
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  builtSite,
  chromiumPath as chromium,
  launchChromium,
  recordingPage,
  screenshotsDir as outDir,
  serve,
} from './serve';

/** Steps the test waits for. */
const STEPS = 20;

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
  let server: Server;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let errors: string[] = [];
  let buildSeconds: number | null = null;

  beforeAll(async () => {
    let dist: string;
    ({ dist, buildSeconds } = builtSite());
    expect(existsSync(path.join(dist, 'demo.html'))).toBe(true);
    ({ server, origin } = await serve(dist));
    browser = await launchChromium();
    ({ page, errors } = await recordingPage(browser, origin));
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
