import path from 'node:path';
import { build } from 'esbuild';
import * as browser from '../src/browser';
import * as main from '../src/index';

const NODE_ONLY = [
  'loadConfigFile',
  'findConfigFile',
  'CONFIG_FILE_NAMES',
  'saveCheckpoint',
  'loadCheckpoint',
  'readCheckpointState',
  'latestCheckpoint',
  'checkpointName',
  'parseCheckpointName',
  'disposeLoadedTensors',
  'CHECKPOINT_FORMAT_VERSION',
  'createRunner',
  // atomic.ts, run-folder.ts
  'writeFileAtomic',
  'appendLine',
  'runFileError',
  'SupconFileError',
  'RUN_FILE',
  'RUN_FILES',
  'RESUME_MAY_CHANGE',
  'isRunFile',
  'planRunFolder',
  'prepareRunFolder',
  'configChanges',
  'serializableConfig',
  'SupconRunFolderError',
];

describe('browser entry (export condition "browser")', () => {
  it('exports everything the main entry does except the Node-only file and runner functions', () => {
    const expected = Object.keys(main)
      .filter((k) => !NODE_ONLY.includes(k))
      .sort();
    expect(Object.keys(browser).sort()).toEqual(expected);
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
    expect(inputs.filter((f) => /(^|\/)(load|checkpoint|runner|atomic|run-folder)\.ts$/.test(f))).toEqual([]);
  });

  it('package.json serves it to bundlers under the browser condition, before import and require', async () => {
    const pkg = (await import('../package.json')) as unknown as { exports: { '.': Record<string, { default: string }> } };
    const conditions = Object.keys(pkg.exports['.']);
    expect(conditions[0]).toBe('browser');
    expect(pkg.exports['.'].browser!.default).toBe('./dist/browser.js');
  });
});
