import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

// browser.ts: the entry served to bundlers through the `browser` export condition (no node: imports).
export default defineConfig(tsupOptions({ entry: ['src/index.ts', 'src/browser.ts'] }));
