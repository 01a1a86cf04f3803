// Vite options of the docs site. VitePress runs Vite with docs/ as its root and no `configFile`,
// so Vite loads this file in `vitepress build` and `vitepress dev` and merges it with the `vite`
// options of .vitepress/config.mts (if any).
import { defineConfig } from 'vite';
import { demoAssets } from '../tools/docs/demo-assets.mjs';

export default defineConfig({
  // The in-browser demo's files: tfjs's .wasm binaries at /wasm/, the Fashion-MNIST sample at /data/fashion-mnist/.
  plugins: [demoAssets()],
});
