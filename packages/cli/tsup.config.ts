import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

export default defineConfig([tsupOptions(), tsupOptions({ entry: ['src/bin.ts'], format: ['esm'], dts: false, clean: false })]);
