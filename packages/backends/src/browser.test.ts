/**
 * The browser entry: what a bundler gets for `import ... from '@supcon/backends'` with the
 * `browser` condition (resolved from package.json's exports to the source files, so no build is
 * needed) bundles for the browser without a Node built-in, and runs in Debian's Chromium: wasm
 * from `wasmPaths`, threads only on a cross-origin isolated page, supcon's kernels and tfjs's
 * gradients registered by initBackend.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import type { Metafile, Plugin } from 'esbuild';
import * as browserEntry from './browser';
import * as nodeEntry from './index';

const root = path.resolve(__dirname, '../../..');
const chromium = '/usr/bin/chromium';

/**
 * Resolves `@supcon/<name>` as a bundler does for browsers (the `browser` condition of its
 * package.json's `exports`), to the source file of that built file (`dist/X.js` → `src/X.ts`).
 */
const browserConditionFromSource: Plugin = {
  name: 'supcon-browser-condition',
  setup(b) {
    b.onResolve({ filter: /^@supcon\/[a-z0-9-]+$/ }, ({ path: specifier }) => {
      const dir = path.join(root, 'packages', specifier.slice('@supcon/'.length));
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        exports: { '.': { browser?: { default: string } } };
      };
      const built = manifest.exports['.'].browser?.default;
      if (built === undefined)
        return { errors: [{ text: `${specifier} has no browser condition` }] };
      return { path: path.join(dir, built.replace(/^\.\/dist\/(.*)\.js$/, 'src/$1.ts')) };
    });
  },
};

const page = `
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, wasmKernelsInfo, wasmThreadsInUse } from '@supcon/backends';

// A convolution's gradients (supcon's wasm kernels), then the same on cpu.
function grads() {
  return tf.tidy(() => {
    const x = tf.randomUniform([2, 8, 8, 4], -1, 1, 'float32', 1);
    const f = tf.randomUniform([3, 3, 4, 8], -1, 1, 'float32', 2);
    const loss = (a, w) => tf.sum(tf.square(tf.conv2d(a, w, 1, 'same')));
    return tf.grads(loss)([x, f]).map((g) => Array.from(g.dataSync()));
  });
}

window.run = async (wasmPaths) => {
  const reasons = [];
  const name = await initBackend('wasm', { wasmPaths, threads: 2, onThreadsFallback: (r) => reasons.push(r) });
  const wasm = grads();
  const threads = wasmThreadsInUse();
  const kernels = wasmKernelsInfo();
  await initBackend('cpu');
  return { name, isolated: globalThis.crossOriginIsolated, reasons, threads, kernels, wasm, cpu: grads() };
};
`;

function bundle(contents: string) {
  return build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    plugins: [browserConditionFromSource],
    logLevel: 'silent',
  });
}

const isBuiltin = (p: string) => p.startsWith('node:') || builtinModules.includes(p);

describe('the browser entry', () => {
  it("bundles for the browser (esbuild, platform 'browser') with no Node built-in and nothing of src/node", async () => {
    const result = await bundle(
      "import { initBackend } from '@supcon/backends'; await initBackend('wasm', { wasmPaths: '/wasm/' });",
    );
    expect(result.errors).toEqual([]);
    const inputs: Metafile['inputs'] = result.metafile.inputs;
    const files = Object.keys(inputs);
    expect(files).toContain('packages/backends/src/browser.ts');
    expect(files).toContain('packages/backends/src/browser/init.ts');
    // The gradients come from the app's own tfjs-core, through its bundler.
    expect(files).toContain('node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js');
    expect(files.filter(isBuiltin)).toEqual([]);
    expect(files.filter((f) => f.startsWith('packages/backends/src/node/'))).toEqual([]);
    // Our sources import no built-in, not even one a browser field turns off (tfjs's own
    // packages turn off fs, path, os, worker_threads and perf_hooks that way).
    for (const [file, input] of Object.entries(inputs)) {
      if (!file.startsWith('packages/')) continue;
      const bad = input.imports.filter(
        (i) => isBuiltin(i.path) || i.path.startsWith('(disabled):'),
      );
      expect({ file, imports: bad.map((i) => i.path) }).toEqual({ file, imports: [] });
    }
  });

  it("exports the Node entry's API but probeBackends", () => {
    const node = Object.keys(nodeEntry).filter((k) => k !== 'probeBackends');
    expect(Object.keys(browserEntry).sort()).toEqual(node.sort());
  });

  (existsSync(chromium) ? it : it.skip)(
    'in Chromium: wasm from wasmPaths, 2 threads only when cross-origin isolated, kernels and gradients right',
    async () => {
      const result = await bundle(page);
      expect(result.errors).toEqual([]);
      const script = result.outputFiles[0]!.text;
      const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
      const requests: string[] = [];
      // /iso/... is served cross-origin isolated (COOP + COEP), /plain/... is not.
      const server = createServer((req, res) => {
        const url = req.url ?? '/';
        requests.push(url);
        const [, mode, ...rest] = url.split('/');
        const file = rest.join('/');
        if (mode === 'iso') {
          res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
          res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
        }
        if (file === 'index.html') {
          res.setHeader('Content-Type', 'text/html');
          res.end(
            '<!doctype html><title>supcon backends</title><script type="module" src="bundle.js"></script>',
          );
        } else if (file === 'bundle.js') {
          res.setHeader('Content-Type', 'text/javascript');
          res.end(script);
        } else if (/^wasm\/tfjs-backend-wasm[a-z-]*\.wasm$/.test(file)) {
          res.setHeader('Content-Type', 'application/wasm');
          res.end(readFileSync(path.join(wasmDir, file.slice('wasm/'.length))));
        } else {
          res.statusCode = 404;
          res.end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { chromium: pw } = await import('playwright-core');
      const browser = await pw.launch({
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
      type Out = {
        name: string;
        isolated: boolean;
        reasons: string[];
        threads: number;
        kernels: { active: boolean; threads: number };
        wasm: number[][];
        cpu: number[][];
      };
      const visit = async (mode: 'iso' | 'plain'): Promise<Out> => {
        const tab = await browser.newPage();
        const errors: string[] = [];
        tab.on('pageerror', (e) => errors.push(String(e)));
        await tab.goto(`${origin}/${mode}/index.html`);
        await tab.waitForFunction('typeof window.run === "function"');
        // Without the trailing '/': initBackend adds it.
        const out = (await tab.evaluate(`window.run('/${mode}/wasm')`)) as Out;
        expect(errors).toEqual([]);
        await tab.close();
        return out;
      };
      try {
        const isolated = await visit('iso');
        expect(isolated).toMatchObject({ name: 'wasm', isolated: true, reasons: [], threads: 2 });
        expect(isolated.kernels).toEqual({ active: true, threads: 1 });
        const plain = await visit('plain');
        expect(plain).toMatchObject({ name: 'wasm', isolated: false, threads: 1 });
        expect(plain.reasons).toHaveLength(1);
        expect(plain.reasons[0]).toMatch(/not cross-origin isolated.*Cross-Origin-Embedder-Policy/);
        for (const out of [isolated, plain]) {
          out.wasm.forEach((g, k) =>
            g.forEach((v, i) => expect(Math.abs(v - out.cpu[k]![i]!)).toBeLessThan(1e-3)),
          );
        }
        expect(requests).toContain('/iso/wasm/tfjs-backend-wasm-threaded-simd.wasm');
        expect(requests).toContain('/plain/wasm/tfjs-backend-wasm-simd.wasm');
      } finally {
        await browser.close();
        server.close();
      }
    },
    180000,
  );
});
