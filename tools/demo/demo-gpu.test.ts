/**
 * The demo's GPU backends (docs/demo.md's Backend menu) in Debian's Chromium: the menu offers
 * each backend exactly where the page can run it, and a run on WebGL trains the same model as
 * wasm. Chromium here has no GPU: WebGL runs on SwiftShader (software), and WebGPU is absent, so
 * its option must be greyed out with the reason.
 *
 * The independent check: the first steps of a seeded run compute the same loss on WebGL as on
 * wasm (same initial weights, same batches, same augmentation; different kernels), to float
 * precision, not bit for bit.
 *
 *   npm run test:demo
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { builtSite, chromiumPath, launchChromium, recordingPage, screenshotsDir, serve } from './serve';

/** Steps compared between the backends. */
const STEPS = 3;

interface DemoHandle {
  state: string;
  step: number;
  losses: number[];
  error: string;
  backend: string;
  available: Record<string, true | string>;
  /** Seconds from Train to stopped (set by trainOn). */
  seconds?: number;
}

const handleOf = (page: Page) =>
  page.evaluate(() =>
    JSON.parse(JSON.stringify((window as unknown as { supconDemo: unknown }).supconDemo)),
  ) as Promise<DemoHandle>;

/** Chooses `backend`, clicks Train, waits for `STEPS` steps, stops; the handle then. */
async function trainOn(page: Page, backend: string): Promise<DemoHandle> {
  await page.getByTestId('backend-select').selectOption(backend);
  const started = Date.now();
  await page.getByRole('button', { name: 'Train' }).click();
  await page.waitForFunction(
    (n) => {
      const h = (window as unknown as { supconDemo: DemoHandle }).supconDemo;
      return h.state === 'error' || (h.state === 'training' && h.losses.length >= n);
    },
    STEPS,
    { timeout: 300_000, polling: 100 },
  );
  const handle = await handleOf(page);
  if (handle.state === 'training') {
    // On SwiftShader a WebGL step keeps the page busy for seconds: the click waits for a gap.
    await page.getByRole('button', { name: 'Stop' }).click({ timeout: 300_000 });
    await page.waitForFunction(
      () =>
        ['stopped', 'done', 'error'].includes(
          (window as unknown as { supconDemo: DemoHandle }).supconDemo.state,
        ),
      null,
      { timeout: 300_000 },
    );
  }
  return { ...handle, seconds: (Date.now() - started) / 1000 };
}

(existsSync(chromiumPath) ? describe : describe.skip)('the demo on WebGL and WebGPU (/demo) in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let errors: string[] = [];

  beforeAll(async () => {
    const { dist } = builtSite();
    ({ server, origin } = await serve(dist));
    // With the GPU process on: WebGL on SwiftShader where there is no GPU.
    browser = await launchChromium({ gpu: true });
    ({ page, errors } = await recordingPage(browser, origin));
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  it('offers each backend where the page can run it, and WebGL trains the same first steps as wasm', async () => {
    await page.goto(`${origin}/demo`);
    await page.waitForFunction(
      () => (window as unknown as { supconDemo?: { state: string } }).supconDemo?.state === 'ready',
      null,
      { timeout: 60_000 },
    );
    // What the page itself can do, asked independently of the demo's code.
    const can = await page.evaluate(async () => {
      const canvas = document.createElement('canvas');
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return {
        webgl: canvas.getContext('webgl2') !== null || canvas.getContext('webgl') !== null,
        webgpu: gpu !== undefined && (await gpu.requestAdapter()) !== null,
      };
    });
    const { available } = await handleOf(page);
    expect(available.wasm).toBe(true);
    expect(available.webgl === true).toBe(can.webgl);
    expect(available.webgpu === true).toBe(can.webgpu);
    const select = page.getByTestId('backend-select');
    for (const backend of ['webgl', 'webgpu'] as const) {
      const option = select.locator(`option[value="${backend}"]`);
      expect(await option.isDisabled()).toBe(!can[backend]);
      if (!can[backend]) expect(await option.textContent()).toContain(String(available[backend]));
    }
    // Smaller batches: WebGL on SwiftShader is slow.
    await page.getByLabel('Batch size').selectOption('32');

    const gpuBackends = (['webgl', 'webgpu'] as const).filter((b) => can[b]);
    const runs: Record<string, DemoHandle> = {};
    for (const backend of gpuBackends) runs[backend] = await trainOn(page, backend);
    runs.wasm = await trainOn(page, 'wasm');

    mkdirSync(screenshotsDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotsDir, 'demo-gpu.png'), fullPage: true });
    const seen = Object.fromEntries(
      Object.entries(runs).map(([b, h]) => [b, { backend: h.backend, losses: h.losses.slice(0, STEPS), seconds: h.seconds, error: h.error }]),
    );
    writeFileSync(path.join(screenshotsDir, 'demo-gpu.json'), `${JSON.stringify({ can, available, seen, errors }, null, 2)}\n`);
    console.log(`demo-gpu: ${JSON.stringify({ can, seen })}`);

    expect(errors).toEqual([]);
    expect(runs.wasm.error).toBe('');
    expect(runs.wasm.backend).toBe('wasm');
    for (const backend of gpuBackends) {
      const run = runs[backend];
      expect(run.error).toBe('');
      expect(run.backend).toBe(backend);
      // Step 1's loss is computed before any update: the same to 1e-4 relative. The next two
      // follow updates made with each backend's own gradients: the same to 1e-3.
      const [first, ...rest] = run.losses.slice(0, STEPS);
      expect(Math.abs(first - runs.wasm.losses[0]) / runs.wasm.losses[0]).toBeLessThan(1e-4);
      rest.forEach((loss, i) =>
        expect(Math.abs(loss - runs.wasm.losses[i + 1]) / runs.wasm.losses[i + 1]).toBeLessThan(1e-3),
      );
    }
    // Chromium here has WebGL (SwiftShader): the comparison above ran at least once.
    expect(gpuBackends.length).toBeGreaterThan(0);
  }, 900_000);
});
