// Vite options of the docs site. VitePress runs Vite with docs/ as its root and no `configFile`,
// so Vite loads this file in `vitepress build` and `vitepress dev` and merges it with the `vite`
// options of .vitepress/config.mts (if any).
import { defineConfig } from 'vite';
import { demoAssets } from '../tools/docs/demo-assets.mjs';
import { encoderAssets } from '../tools/docs/neighbours-encoder.mjs';

export default defineConfig({
  plugins: [
    // The in-browser demo's files: tfjs's .wasm binaries at /wasm/, the Fashion-MNIST sample at /data/fashion-mnist/.
    demoAssets(),
    // The nearest-neighbours page's encoder at /encoder/, trained and exported at build time (cached).
    encoderAssets(),
  ],
  // The nearest-neighbours page's Web Worker (examples/web-app/worker.ts) imports @supcon/train
  // on demand: a worker split into chunks must be an ES module worker.
  worker: { format: 'es' },
});
