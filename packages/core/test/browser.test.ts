import path from 'node:path';
import { build } from 'esbuild';
import * as browser from '../src/browser';
import * as main from '../src/index';

const NODE_ONLY = [
  // load.ts: config files
  'loadConfigFile',
  'findConfigFile',
  'CONFIG_FILE_NAMES',
  // the folder-on-disk storage and the path-based functions over it
  'nodeStorage',
  'saveCheckpoint',
  'loadCheckpoint',
  'readCheckpointState',
  'latestCheckpoint',
  'writeFileAtomic',
  'appendLine',
  'planRunFolder',
];

/** Node-only modules: none of them may end up in a browser bundle. */
const NODE_MODULES = /(^|\/)(load|atomic|run-folder-node|runner-node|storage\/node|checkpoint\/node)\.ts$/;

describe('browser entry (export condition "browser")', () => {
  it('exports everything the main entry does except the Node-only file functions', () => {
    const expected = Object.keys(main)
      .filter((k) => !NODE_ONLY.includes(k))
      .sort();
    expect(Object.keys(browser).sort()).toEqual(expected);
    // Same names, different functions: the main entry's createRunner defaults to a folder on disk.
    expect(main.createRunner).not.toBe(browser.createRunner);
    for (const k of NODE_ONLY) expect(k in main).toBe(true);
  });

  it('bundles for the browser without any Node built-in module', async () => {
    const result = await build({
      entryPoints: [path.join(__dirname, '../src/browser.ts')],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      external: ['@tensorflow/*', 'zod'],
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('src/browser.ts'))).toBe(true);
    expect(inputs.filter((f) => NODE_MODULES.test(f))).toEqual([]);
    expect(inputs.filter((f) => f.startsWith('node:') || !f.includes('/'))).toEqual([]);
    // The runner, checkpoints and the run-folder checks are in it: they work over any RunStorage.
    for (const m of ['runner', 'checkpoint/checkpoint', 'run-folder']) expect(inputs.some((f) => f.endsWith(`src/${m}.ts`))).toBe(true);
  });

  it('package.json serves it to bundlers under the browser condition, before import and require', async () => {
    const pkg = (await import('../package.json')) as unknown as { exports: { '.': Record<string, { default: string }> } };
    const conditions = Object.keys(pkg.exports['.']);
    expect(conditions[0]).toBe('browser');
    expect(pkg.exports['.'].browser!.default).toBe('./dist/browser.js');
  });
});
