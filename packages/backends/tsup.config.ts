import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

export default defineConfig([
  // Node (the `node` condition, and the fallback for `import` / `require`). tfjs's gradients are
  // bundled in (loaded lazily by initBackend): Node cannot load tfjs-core's extension-less ES
  // modules that hold them (see src/gradients.ts).
  tsupOptions({
    entry: ['src/index.ts'],
    noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients$/],
    clean: ['index.*'],
  }),
  // Browsers (the `browser` condition): nothing of Node; the app's bundler resolves every
  // @tensorflow package, tfjs's gradients included.
  tsupOptions({
    entry: ['src/browser.ts'],
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    shims: false,
    clean: ['browser.*'],
  }),
]);
