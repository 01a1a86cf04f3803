import type { Options } from 'tsup';

/** Shared tsup options: ESM + CJS with .d.ts/.d.cts, no bundled dependencies. */
export function tsupOptions(overrides: Partial<Options> = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { paths: {} } },
    tsconfig: 'tsconfig.build.json',
    clean: true,
    sourcemap: true,
    shims: true,
    target: 'node20',
    treeshake: false,
    splitting: false,
    ...overrides,
  };
}
