/**
 * An exported encoder in headless Chromium (Debian's, never a downloaded one), served over HTTP on
 * 127.0.0.1. A tiny run is trained and exported here in Node (the reference SupCon config, wasm on
 * one thread); Node's features of a few of the run's test images are the reference. In the browser:
 *
 * - a page with plain tfjs only (tfjs-core, tfjs-layers, the cpu backend: no supcon code, so no
 *   custom layer registered) loads `url + 'model.json'` with `tf.loadLayersModel`;
 * - a page with the browser bundle of @supcon/train (every @supcon package through its browser
 *   entry, wasm backend) calls `loadEncoder(url)`, and `exportEncoder` on the run copied into a
 *   memory storage, then `loadEncoder(storage)`.
 *
 * Each gives Node's features to 1e-5.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs-core';
import { createRegistry, createRng } from '@supcon/core';
import type { ImageDataset } from '@supcon/core';
import { builtinPlugins, exportEncoder, loadEncoder, train } from '../src';
import configsJson from './fixtures/reference-configs.json';

const chromium = '/usr/bin/chromium';
const root = path.resolve(__dirname, '../../..');
const configs = configsJson as Record<'supcon' | 'ce', Record<string, unknown>>;
const quiet = { info: () => undefined, warn: () => undefined };
const work = mkdtempSync(path.join(tmpdir(), 'supcon-export-browser-'));
const SAMPLES = 8;

/** Every @supcon package from source, through its browser entry where it has one. */
function supconAliases(): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const name of readdirSync(path.join(root, 'packages'))) {
    const src = path.join(root, 'packages', name, 'src');
    const entry = ['browser.ts', 'index.ts'].map((f) => path.join(src, f)).find((f) => existsSync(f));
    if (entry && name !== 'cli') aliases[`@supcon/${name}`] = entry;
  }
  return aliases;
}

/** A web app with nothing but tfjs. */
const plainEntry = `
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

window.plainFeatures = async (url, pixels, shape) => {
  await tf.setBackend('cpu');
  const model = await tfl.loadLayersModel(url + 'model.json');
  const x = tf.div(tf.tensor4d(Float32Array.from(pixels), shape), 255);
  const y = model.predict(x);
  const out = { shape: y.shape, values: Array.from(await y.data()) };
  tf.dispose([x, y]);
  model.dispose();
  return out;
};
`;

/** A web app with @supcon/train's browser entry. */
const supconEntry = `
import * as tf from '@tensorflow/tfjs-core';
import { exportEncoder, loadEncoder } from '@supcon/train';
import { memoryStorage } from '@supcon/core';
import { initBackend } from '@supcon/backends';

const start = (origin) => initBackend('wasm', { wasmPaths: origin + '/wasm/' });
const read = async (encoder, pixels, shape) => {
  const x = tf.tensor4d(Int32Array.from(pixels), shape, 'int32');
  const y = encoder.embed(x);
  const out = { shape: y.shape, values: Array.from(await y.data()), metadata: encoder.metadata, backend: tf.getBackend() };
  tf.dispose([x, y]);
  encoder.dispose();
  return out;
};

window.loadFeatures = async (origin, url, pixels, shape) => {
  await start(origin);
  return read(await loadEncoder(url), pixels, shape);
};

window.loadError = async (origin, url) => {
  await start(origin);
  try {
    await loadEncoder(url);
    return 'no error';
  } catch (e) {
    return String(e.message);
  }
};

window.exportInBrowser = async (origin, pixels, shape) => {
  await start(origin);
  // The run, copied file by file into memory, as it would sit in IndexedDB after train() in a page.
  const run = memoryStorage('run');
  for (const file of await (await fetch(origin + '/run-files.json')).json()) {
    await run.write(file, new Uint8Array(await (await fetch(origin + '/run/' + file)).arrayBuffer()));
  }
  const config = JSON.parse(new TextDecoder().decode(await run.read('config.json')));
  delete config.plugins;
  config.data = { ...config.data, url: origin + '/data/' };
  const out = memoryStorage('export');
  const result = await exportEncoder(run, out, { config, backendOptions: { wasmPaths: origin + '/wasm/' }, logger: { info: () => {}, warn: () => {} } });
  const features = await read(await loadEncoder(out), pixels, shape);
  return { ...features, files: result.files, stored: [...out.files().keys()], runFiles: [...run.files().keys()].length };
};
`;

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p, base) : [path.relative(base, p).split(path.sep).join('/')];
  });
}

async function serve(bundles: Record<string, string>, folders: Record<string, string>, runFiles: string[]): Promise<Server> {
  const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const dataDir = path.join(root, 'packages/data/sample/fashion-mnist');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { ...headers, 'Content-Type': type });
      res.end(body);
    };
    const notFound = () => {
      res.writeHead(404, headers);
      res.end();
    };
    const page = /^\/(plain|supcon)\/$/.exec(url.pathname);
    if (page) return send('text/html', `<!doctype html><title>export</title><script src="/${page[1]}.js"></script>`);
    const bundle = /^\/(plain|supcon)\.js$/.exec(url.pathname);
    if (bundle) return send('text/javascript', bundles[bundle[1]!]!);
    if (url.pathname === '/run-files.json') return send('application/json', JSON.stringify(runFiles));
    const [, top, ...rest] = url.pathname.split('/');
    const dir = top === 'wasm' ? wasmDir : top === 'data' ? dataDir : folders[top ?? ''];
    const rel = rest.join('/');
    if (!dir || rel.split('/').includes('..')) return notFound();
    const file = path.join(dir, rel);
    if (!existsSync(file) || !statSync(file).isFile()) return notFound();
    const type = file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    return send(type, readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

(existsSync(chromium) ? describe : describe.skip)('an exported encoder in Chromium', () => {
  let server: Server;
  let origin: string;
  let browser: Browser;
  const errors: string[] = [];
  const runDir = path.join(work, 'run');
  const exports = { encoder: path.join(work, 'encoder'), head: path.join(work, 'encoder-head') };
  let pixels: number[];
  const shape = [SAMPLES, 28, 28, 1];
  /** Node's features of the samples, per export. */
  const expected: Record<keyof typeof exports, { shape: number[]; values: Float32Array }> = {} as never;

  beforeAll(async () => {
    await train({ ...configs.supcon, out: runDir }, { logger: quiet });
    await exportEncoder(runDir, exports.encoder, { logger: quiet });
    await exportEncoder(runDir, exports.head, { withHead: true, logger: quiet });
    const registry = createRegistry(builtinPlugins);
    const dataset = await registry.build('dataset', configs.supcon.data as { type: string }, { rng: createRng(configs.supcon.seed as number).fork('data'), logger: quiet, batchSize: 50 }, 'data');
    const test: ImageDataset = await dataset.load('test');
    pixels = Array.from(test.images.subarray(0, SAMPLES * 28 * 28));
    for (const key of Object.keys(exports) as (keyof typeof exports)[]) {
      const encoder = await loadEncoder(exports[key]);
      const x = tf.tensor4d(Int32Array.from(pixels), shape as [number, number, number, number], 'int32');
      const y = encoder.embed(x);
      expected[key] = { shape: y.shape, values: (await y.data()) as Float32Array };
      tf.dispose([x, y]);
      encoder.dispose();
    }

    const bundles: Record<string, string> = {};
    for (const [name, contents] of Object.entries({ plain: plainEntry, supcon: supconEntry })) {
      const result = await build({
        stdin: { contents, resolveDir: root, loader: 'js' },
        bundle: true,
        write: false,
        format: 'iife',
        platform: 'browser',
        conditions: ['browser'],
        alias: supconAliases(),
        metafile: true,
        logLevel: 'error',
      });
      const inputs = Object.keys(result.metafile.inputs);
      // Nothing Node-only made it in; the plain app has no supcon code at all.
      expect(inputs.filter((f) => f.startsWith('node:') || /(^|\/)(node|node-[a-z-]+|[a-z-]+-node)\.ts$/.test(f))).toEqual([]);
      if (name === 'plain') expect(inputs.filter((f) => f.includes('packages/'))).toEqual([]);
      bundles[name] = result.outputFiles[0]!.text;
    }
    server = await serve(bundles, { encoder: exports.encoder, head: exports.head, run: runDir }, listFiles(runDir));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({
      executablePath: chromium,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  async function open(app: 'plain' | 'supcon'): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/${app}/`);
    return page;
  }

  it("plain tfjs, no supcon code: tf.loadLayersModel(url + 'model.json') gives Node's features to 1e-5 (encoder, and encoder + head)", async () => {
    const page = await open('plain');
    for (const key of ['encoder', 'head'] as const) {
      const r = (await page.evaluate(`window.plainFeatures(${JSON.stringify(`${origin}/${key}/`)}, ${JSON.stringify(pixels)}, ${JSON.stringify(shape)})`)) as { shape: number[]; values: number[] };
      expect(r.shape).toEqual(expected[key].shape);
      const diff = maxAbsDiff(r.values, expected[key].values);
      console.log(`Chromium, plain tf.loadLayersModel (cpu), ${key}: max |difference| from Node = ${diff}`);
      expect(diff).toBeLessThanOrEqual(1e-5);
    }
    expect(expected.encoder.shape).toEqual([SAMPLES, 8]);
    expect(expected.head.shape).toEqual([SAMPLES, 16]);
    expect(errors).toEqual([]);
  }, 120_000);

  it("loadEncoder(url) of the browser bundle gives Node's features to 1e-5, and names a URL without supcon.json", async () => {
    const page = await open('supcon');
    for (const key of ['encoder', 'head'] as const) {
      // The folder URL, or that of its model.json.
      const url = key === 'encoder' ? `${origin}/${key}` : `${origin}/${key}/model.json`;
      const r = (await page.evaluate(`window.loadFeatures(${JSON.stringify(origin)}, ${JSON.stringify(url)}, ${JSON.stringify(pixels)}, ${JSON.stringify(shape)})`)) as {
        shape: number[];
        values: number[];
        metadata: { format: string; withHead: boolean; inputShape: number[] };
        backend: string;
      };
      expect(r.backend).toBe('wasm');
      expect(r.metadata).toMatchObject({ format: 'supcon-encoder', withHead: key === 'head', inputShape: [28, 28, 1] });
      expect(r.shape).toEqual(expected[key].shape);
      const diff = maxAbsDiff(r.values, expected[key].values);
      console.log(`Chromium, loadEncoder(url) (wasm), ${key}: max |difference| from Node = ${diff}`);
      expect(diff).toBeLessThanOrEqual(1e-5);
    }
    const message = await page.evaluate(`window.loadError(${JSON.stringify(origin)}, ${JSON.stringify(`${origin}/run/`)})`);
    expect(message).toBe(`loadEncoder: ${origin}/run/supcon.json is missing (HTTP 404): not an encoder written by exportEncoder / supcon export`);
    expect(errors).toEqual([]);
  }, 120_000);

  it("exportEncoder in the browser, from the run in a memory storage, writes an encoder whose features equal Node's to 1e-5", async () => {
    const page = await open('supcon');
    const r = (await page.evaluate(`window.exportInBrowser(${JSON.stringify(origin)}, ${JSON.stringify(pixels)}, ${JSON.stringify(shape)})`)) as {
      shape: number[];
      values: number[];
      files: string[];
      stored: string[];
      metadata: { checkpoint: string; featureDim: number };
    };
    expect(r.files).toEqual(['group1-shard1of1.bin', 'model.json', 'supcon.json']);
    expect(r.stored).toEqual(['group1-shard1of1.bin', 'model.json', 'supcon.json']);
    expect(r.metadata).toMatchObject({ checkpoint: 'checkpoints/epoch-0002', featureDim: 8 });
    const diff = maxAbsDiff(r.values, expected.encoder.values);
    console.log(`Chromium, exportEncoder + loadEncoder(storage) (wasm): max |difference| from Node = ${diff}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    expect(errors).toEqual([]);
  }, 180_000);
});
