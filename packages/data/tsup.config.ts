import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

// browser.ts: the entry served to bundlers through the `browser` export condition (no node:
// modules, no fs); index.ts is the Node entry (the `node` condition, and the default).
export default defineConfig(tsupOptions({ entry: ['src/index.ts', 'src/browser.ts'] }));
