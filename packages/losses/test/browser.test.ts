/**
 * The losses in headless Chromium (Debian's, never a downloaded one), bundled for the browser
 * (which also checks that nothing Node-only is pulled in): on a page's main thread the first
 * call uses the SIMD kernel if the browser compiles it synchronously (Chromium here does; Chrome
 * used to refuse modules over 4 KiB) or the JavaScript path, `loadFusedKernel()` must then bring
 * the kernel in, and every path must give the composed implementation's value and gradient.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const chromium = '/usr/bin/chromium';
const root = path.resolve(__dirname, '../../..');

const entry = `
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's browser build leaves gradients to @tensorflow/tfjs; with core alone, register them.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { supConLoss, loadFusedKernel, fusedKernelInfo } from '@supcon/losses';

function run(implementation) {
  const f = tf.tidy(() => {
    const x = tf.randomNormal([6, 2, 5], 0, 1, 'float32', 7);
    return tf.div(x, tf.norm(x, 'euclidean', -1, true));
  });
  const labels = tf.tensor1d([0, 1, 0, 2, 1, 2], 'int32');
  const { value, grad } = tf.valueAndGrad((x) => supConLoss(x, labels, { implementation }))(f);
  const out = { value: value.dataSync()[0], grad: Array.from(grad.dataSync()) };
  tf.dispose([f, labels, value, grad]);
  return out;
}

window.runCase = async () => {
  await tf.setBackend('cpu');
  const composed = run('composed');
  const before = fusedKernelInfo().available;
  const fallback = run('fused');
  const loaded = await loadFusedKernel();
  const after = fusedKernelInfo().available;
  const kernel = run('fused');
  return { composed, before, fallback, loaded, after, kernel };
};
`;

(existsSync(chromium) ? it : it.skip)(
  'in Chromium: bundles, the SIMD kernel is available after loadFusedKernel(), fused equals composed',
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'supcon-browser-'));
    try {
      const bundle = await build({
        stdin: { contents: entry, resolveDir: dir, loader: 'js' },
        bundle: true,
        write: false,
        format: 'iife',
        platform: 'browser',
        nodePaths: [path.join(root, 'node_modules')],
        alias: {
          '@supcon/losses': path.join(root, 'packages/losses/src/index.ts'),
          // The browser export condition of @supcon/core, from source.
          '@supcon/core': path.join(root, 'packages/core/src/browser.ts'),
        },
        logLevel: 'error',
      });
      const { chromium: pw } = await import('playwright-core');
      const browser = await pw.launch({
        executablePath: chromium,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.setContent('<!doctype html><title>supcon losses</title>');
        await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
        type Out = { value: number; grad: number[] };
        const r = (await page.evaluate('window.runCase()')) as {
          composed: Out;
          before: boolean;
          fallback: Out;
          loaded: boolean;
          after: boolean;
          kernel: Out;
        };
        expect(errors).toEqual([]);
        expect(typeof r.before).toBe('boolean');
        expect(r.loaded).toBe(true);
        expect(r.after).toBe(true);
        for (const out of [r.fallback, r.kernel]) {
          expect(out.value).toBeCloseTo(r.composed.value, 5);
          out.grad.forEach((g, i) => expect(g).toBeCloseTo(r.composed.grad[i]!, 5));
        }
      } finally {
        await browser.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  60000,
);
