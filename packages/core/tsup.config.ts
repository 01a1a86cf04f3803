import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

// browser.ts: the Node-free subset served to bundlers through the `browser` export condition.
export default defineConfig(tsupOptions({ entry: ['src/index.ts', 'src/browser.ts'] }));
