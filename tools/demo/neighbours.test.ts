/**
 * The docs site's nearest-neighbours page (docs/neighbours.md) end to end in Debian's Chromium:
 * the built site (global-setup.ts) served by serve.ts; the page loads the encoder exported at
 * build time (/encoder/), embeds the sample's 1000 test images in a Web Worker, and:
 *
 * - a sample thumbnail clicked: 8 neighbours, the first the query itself with similarity 1 (to
 *   1e-5), similarities non-increasing;
 * - the same test image uploaded as a PNG (made here with pngjs from the sample's pixels): the same
 *   neighbours (the upload's preprocessing leaves a 28x28 grayscale image as it is); a larger,
 *   inverted copy (dark on light) is scaled down and turned round, and still finds 8;
 * - the encoder loaded again with @supcon/train's loadEncoder instead of tf.loadLayersModel: the
 *   same neighbours and similarities;
 * - nothing logged an error. A screenshot and the numbers seen go to tools/demo/__screenshots__/
 *   (neighbours.png, neighbours.json).
 *
 *   npm run test:demo
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { loadFashionMnistSample } from '@supcon/data';
import type { ImageDataset } from '@supcon/core';
import {
  builtSite,
  chromiumPath,
  launchChromium,
  recordingPage,
  screenshotsDir,
  serve,
} from './serve';

/** What NeighboursDemo.vue keeps on `window.supconNeighbours`. */
interface Handle {
  state: string;
  backend: string;
  loader: string;
  gallerySize: number;
  loadMs: number;
  queryMs: number;
  queries: number;
  tensors: number;
  error: string;
}

interface Found {
  index: number;
  label: string;
  similarity: number;
}

/** A PNG of `h x w` gray pixels, scaled up `scale` times (nearest neighbour), inverted if asked. */
function png(gray: Uint8Array, h: number, w: number, { scale = 1, invert = false } = {}): Buffer {
  const image = new PNG({ width: w * scale, height: h * scale });
  for (let y = 0; y < h * scale; y++) {
    for (let x = 0; x < w * scale; x++) {
      const v = gray[Math.floor(y / scale) * w + Math.floor(x / scale)];
      const o = 4 * (y * w * scale + x);
      image.data[o] = image.data[o + 1] = image.data[o + 2] = invert ? 255 - v : v;
      image.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(image);
}

(existsSync(chromiumPath) ? describe : describe.skip)(
  'the nearest-neighbours page (/neighbours) in Chromium',
  () => {
    let server: Server;
    let browser: Browser;
    let page: Page;
    let origin: string;
    let errors: string[] = [];
    let test: ImageDataset;

    const handle = () =>
      page.evaluate(() => ({
        ...(window as unknown as { supconNeighbours: Handle }).supconNeighbours,
      }));
    /** Waits until the page has answered more than `queries` queries (or failed). */
    const answered = (queries: number) =>
      page.waitForFunction(
        (n) => {
          const h = (window as unknown as { supconNeighbours?: Handle }).supconNeighbours;
          return h?.state === 'error' || (h?.state === 'ready' && h.queries > n);
        },
        queries,
        { timeout: 120_000 },
      );
    const found = (): Promise<Found[]> =>
      page.getByTestId('neighbour').evaluateAll((items) =>
        items.map((li) => ({
          index: Number((li as HTMLElement).dataset.index),
          label: String((li as HTMLElement).dataset.label),
          similarity: Number((li as HTMLElement).dataset.similarity),
        })),
      );
    const expectRanked = (neighbours: Found[]) => {
      expect(neighbours).toHaveLength(8);
      for (let i = 1; i < neighbours.length; i++)
        expect(neighbours[i].similarity).toBeLessThanOrEqual(neighbours[i - 1].similarity);
    };

    beforeAll(async () => {
      const { dist } = builtSite();
      expect(existsSync(path.join(dist, 'neighbours.html'))).toBe(true);
      expect(existsSync(path.join(dist, 'encoder/model.json'))).toBe(true);
      ({ server, origin } = await serve(dist));
      browser = await launchChromium({ gpu: true }); // WebGL on SwiftShader for the webgl check
      ({ page, errors } = await recordingPage(browser, origin));
      test = await loadFashionMnistSample({ split: 'test' });
    }, 900_000);

    afterAll(async () => {
      await browser?.close();
      if (server) await new Promise((resolve) => server.close(resolve));
    });

    it('finds a sample itself first, and the same neighbours for it uploaded as a PNG, with either loader', async () => {
      await page.goto(`${origin}/neighbours`);
      // The page picks its first sample once the gallery is embedded.
      await answered(0);
      const loaded = await handle();
      expect(loaded.error).toBe('');
      expect(loaded.gallerySize).toBe(1000);
      // The worker's live tensors after each query: the model's and the gallery's, never more.
      const tensors = [loaded.tensors];

      // A sample: "Sample 3: Trouser" (two a class, in label order).
      const button = page.getByRole('button', { name: 'Sample 3: Trouser' });
      await button.click();
      await answered(loaded.queries);
      const query = page.getByTestId('query');
      const index = Number(await query.getAttribute('data-index'));
      expect(await query.getAttribute('data-source')).toBe('sample');
      expect(test.classes[test.labels[index]]).toBe('Trouser');
      tensors.push((await handle()).tensors);
      const bySample = await found();
      expectRanked(bySample);
      expect(bySample[0].index).toBe(index);
      expect(bySample[0].label).toBe('Trouser');
      expect(bySample[0].similarity).toBeGreaterThanOrEqual(0.99999);
      expect(bySample[0].similarity).toBeLessThanOrEqual(1.00001);
      mkdirSync(screenshotsDir, { recursive: true });
      await page.screenshot({ path: path.join(screenshotsDir, 'neighbours.png'), fullPage: true });

      // The same image, uploaded: a 28x28 grayscale PNG of its pixels.
      const [h, w] = test.shape;
      const pixels = test.images.subarray(index * h * w, (index + 1) * h * w);
      const upload = page.getByLabel('Upload an image');
      let queries = (await handle()).queries;
      await upload.setInputFiles({
        name: 'trouser.png',
        mimeType: 'image/png',
        buffer: png(pixels, h, w),
      });
      await answered(queries);
      expect(await query.getAttribute('data-source')).toBe('upload');
      expect(await query.getAttribute('data-inverted')).toBe('false');
      tensors.push((await handle()).tensors);
      const byUpload = await found();
      expectRanked(byUpload);
      expect(byUpload[0].index).toBe(index);
      expect(byUpload[0].similarity).toBeGreaterThanOrEqual(0.99999);
      expect(byUpload.map((n) => n.index)).toEqual(bySample.map((n) => n.index));

      // Larger and dark on light: scaled down to 28x28 and inverted by the page.
      queries = (await handle()).queries;
      await upload.setInputFiles({
        name: 'trouser-inverted.png',
        mimeType: 'image/png',
        buffer: png(pixels, h, w, { scale: 4, invert: true }),
      });
      await answered(queries);
      expect(await query.getAttribute('data-inverted')).toBe('true');
      tensors.push((await handle()).tensors);
      const byInverted = await found();
      expectRanked(byInverted);

      // The sample again, with the encoder loaded by @supcon/train's loadEncoder: the same answer.
      queries = (await handle()).queries;
      await button.click();
      await answered(queries);
      tensors.push((await handle()).tensors);
      queries = (await handle()).queries;
      await page.getByTestId('loader').selectOption('supcon');
      await answered(queries);
      const withSupcon = await handle();
      expect(withSupcon.loader).toBe('supcon');
      const bySupcon = await found();
      expect(bySupcon.map((n) => n.index)).toEqual(bySample.map((n) => n.index));
      bySupcon.forEach((n, i) =>
        expect(Math.abs(n.similarity - bySample[i].similarity)).toBeLessThanOrEqual(1e-5),
      );

      // On the WebGL backend (in the worker, on an OffscreenCanvas): the same neighbours, the
      // similarities to float precision.
      queries = (await handle()).queries;
      await page.getByTestId('backend').selectOption('webgl');
      await answered(queries);
      const onWebgl = await handle();
      const byWebgl = await found();
      expect(onWebgl.backend).toBe('webgl');
      expect(byWebgl.map((n) => n.index)).toEqual(bySample.map((n) => n.index));
      byWebgl.forEach((n, i) =>
        expect(Math.abs(n.similarity - bySample[i].similarity)).toBeLessThanOrEqual(1e-4),
      );

      const seen = {
        query: { index, label: 'Trouser' },
        backend: loaded.backend,
        loadMs: loaded.loadMs,
        queryMs: withSupcon.queryMs,
        bySample,
        byUpload,
        byInverted,
        bySupcon,
        byWebgl,
        tensors: { tfjs: tensors, supcon: withSupcon.tensors },
        errors,
      };
      writeFileSync(
        path.join(screenshotsDir, 'neighbours.json'),
        `${JSON.stringify(seen, null, 2)}\n`,
      );
      console.log(
        `neighbours: ${JSON.stringify({ ...seen, bySample: bySample.map((n) => `${n.index} ${n.label} ${n.similarity.toFixed(5)}`), byUpload: undefined, bySupcon: undefined, byInverted: byInverted.map((n) => n.label) })}`,
      );

      expect(tensors[0]).toBeGreaterThan(0);
      expect(new Set(tensors).size).toBe(1);
      expect(withSupcon.tensors).toBe(tensors[0]);
      expect(withSupcon.error).toBe('');
      expect(onWebgl.error).toBe('');
      expect(errors).toEqual([]);
    }, 600_000);
  },
);
