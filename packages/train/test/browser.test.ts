/**
 * train() in headless Chromium (Debian's, never a downloaded one), on a page served over HTTP from
 * an esbuild bundle (`--platform=browser`, every @supcon package through its browser entry):
 *
 * - the wasm backend starts from its .wasm files served at `wasmPaths`, with threads (the page is
 *   cross-origin isolated);
 * - the reference config trains to bitwise the weights it gives in Node and gave before the
 *   procedures moved to @supcon/train (reference.json, wasm on one thread), its run in IndexedDB;
 *   evaluate() re-opens that run and scores the same probe;
 * - the kind of call (a few steps of SupCon on the sample, in memory) ends with a
 *   linear-probe top-1.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';

const chromium = '/usr/bin/chromium';
const root = path.resolve(__dirname, '../../..');
const reference = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/reference.json'), 'utf8')) as {
  runs: Record<string, { checkpoint: string; weightsSha256: string; linearProbeTop1: number; epochLoss: number[] }>;
};
const configs = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/reference-configs.json'), 'utf8')) as Record<string, Record<string, unknown>>;

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

const entry = `
import { train, evaluate } from '@supcon/train';
import { indexedDbStorage, memoryStorage } from '@supcon/core';

const hex = async (bytes) => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
const quiet = { info: () => {}, warn: () => {} };

window.referenceRun = async (config, checkpoint, origin) => {
  const storage = indexedDbStorage({ run: 'reference' });
  // The sample is fetched from the test's server (in Node, data.url is accepted and not used).
  config = { ...config, data: { ...config.data, url: origin + '/data/' } };
  const { summary, runDir } = await train(config, { storage, logger: quiet, backendOptions: { wasmPaths: origin + '/wasm/' } });
  const weights = await storage.read('checkpoints/' + checkpoint + '/model.weights.bin');
  // A second storage over the same database sees the run: evaluate() re-opens it.
  const again = await evaluate(indexedDbStorage({ run: 'reference' }), config, { logger: quiet, backendOptions: { wasmPaths: origin + '/wasm/' } });
  return {
    runDir,
    threads: summary.threads,
    weightsSha256: await hex(weights),
    epochLoss: summary.epochLoss,
    top1: summary.eval.linearProbe.top1,
    againTop1: again.summary.eval.linearProbe.top1,
    evaluatedFrom: again.summary.evaluatedFrom,
    checkpoints: await storage.list('checkpoints'),
  };
};

window.wasmRun = async (origin) => {
  const storage = memoryStorage('wasm');
  const { summary } = await train(
    {
      backend: 'wasm',
      data: { type: 'fashion-mnist', sample: true, trainSize: 200, testSize: 100, url: origin + '/data/' },
      loss: { type: 'supcon-out' },
      backbone: { type: 'small-cnn', channels: [4, 8] },
      head: { type: 'mlp', dim: 16 },
      train: { epochs: 1, batchSize: 50 },
      threads: 2,
      eval: [{ type: 'linear-probe' }],
    },
    { storage, logger: quiet, backendOptions: { wasmPaths: origin + '/wasm/' } },
  );
  return { steps: summary.steps, backend: summary.backend, threads: summary.threads, top1: summary.eval.linearProbe.top1, isolated: crossOriginIsolated, files: [...storage.files().keys()] };
};
`;

async function serve(bundle: string): Promise<Server> {
  const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const dataDir = path.join(root, 'packages/data/sample/fashion-mnist');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Cross-origin isolated, so the wasm backend may use threads (SharedArrayBuffer).
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { ...headers, 'Content-Type': type });
      res.end(body);
    };
    const file = (dir: string, name: string) => {
      const p = path.join(dir, path.basename(name));
      if (!existsSync(p)) {
        res.writeHead(404, headers);
        res.end();
        return undefined;
      }
      return readFileSync(p);
    };
    if (url.pathname === '/') return send('text/html', '<!doctype html><title>supcon train</title><script src="/bundle.js"></script>');
    if (url.pathname === '/bundle.js') return send('text/javascript', bundle);
    if (url.pathname.startsWith('/wasm/')) {
      const body = file(wasmDir, url.pathname);
      if (body) send('application/wasm', body);
      return;
    }
    if (url.pathname.startsWith('/data/')) {
      const body = file(dataDir, url.pathname);
      if (body) send('application/octet-stream', body);
      return;
    }
    res.writeHead(404, headers);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

(existsSync(chromium) ? describe : describe.skip)('train() in Chromium', () => {
  let server: Server;
  let origin: string;
  let close: () => Promise<void>;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    const bundle = await build({
      stdin: { contents: entry, resolveDir: root, loader: 'js' },
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      conditions: ['browser'],
      alias: supconAliases(),
      metafile: true,
      logLevel: 'error',
    });
    // Nothing Node-only made it in.
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.filter((f) => f.startsWith('node:') || /(^|\/)(node|node-[a-z-]+|[a-z-]+-node)\.ts$/.test(f))).toEqual([]);
    server = await serve(bundle.outputFiles[0]!.text);
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({
      executablePath: chromium,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/`);
    close = async () => {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    };
  }, 120_000);

  afterAll(async () => {
    await close?.();
  });

  it('the reference config trains to the weights it gives in Node, its run in IndexedDB, and evaluate() re-opens it', async () => {
    const expected = reference.runs.supcon!;
    const r = (await page.evaluate(`window.referenceRun(${JSON.stringify(configs.supcon)}, ${JSON.stringify(expected.checkpoint)}, ${JSON.stringify(origin)})`)) as {
      runDir: string;
      threads: number;
      weightsSha256: string;
      epochLoss: number[];
      top1: number;
      againTop1: number;
      evaluatedFrom: string;
      checkpoints: string[];
    };
    expect(errors).toEqual([]);
    expect(r.runDir).toBe('indexeddb://supcon/reference');
    expect(r.threads).toBe(1);
    expect(r.weightsSha256).toBe(expected.weightsSha256);
    expect(r.epochLoss).toEqual(expected.epochLoss);
    expect(r.top1).toBe(expected.linearProbeTop1);
    expect(r.againTop1).toBe(expected.linearProbeTop1);
    expect(r.evaluatedFrom).toBe(`indexeddb://supcon/reference/checkpoints/${expected.checkpoint}`);
    expect(r.checkpoints).toEqual(['epoch-0001', 'epoch-0002']);
  }, 300_000);

  it('a few steps of SupCon on the sample, in memory, with threads, end with a linear-probe top-1', async () => {
    // A page of its own: the wasm backend's threads are fixed per page, and the first test used one.
    const threaded = await (await page.context().browser()!.newContext()).newPage();
    threaded.on('pageerror', (e) => errors.push(String(e)));
    await threaded.goto(`${origin}/`);
    const r = (await threaded.evaluate(`window.wasmRun(${JSON.stringify(origin)})`)) as {
      steps: number;
      backend: string;
      threads?: number;
      top1: number;
      isolated: boolean;
      files: string[];
    };
    expect(errors).toEqual([]);
    expect(r.isolated).toBe(true);
    expect(r.backend).toBe('wasm');
    // Cross-origin isolated: tfjs's threaded build, on the threads asked for.
    expect(r.threads).toBe(2);
    expect(r.steps).toBe(4);
    expect(r.top1).toBeGreaterThan(0.1);
    expect(r.top1).toBeLessThanOrEqual(1);
    expect(r.files).toEqual(expect.arrayContaining(['config.json', 'metrics.jsonl', 'summary.json', 'checkpoints/epoch-0001/model.weights.bin']));
  }, 300_000);
});
