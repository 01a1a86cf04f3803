import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { workerExecArgv } from './exec-argv';

const root = path.resolve(__dirname, '../../../..');

describe('worker threads of a one-liner (node --input-type=module -e)', () => {
  it('workerExecArgv drops the main script\'s options and keeps the others', () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code', '--max-old-space-size=4096'])).toEqual(['--max-old-space-size=4096']);
    expect(workerExecArgv(['--input-type', 'module', '--eval=code', '--import', 'jiti/register'])).toEqual(['--import', 'jiti/register']);
    expect(workerExecArgv(['-p', '1+1', '--enable-source-maps'])).toEqual(['--enable-source-maps']);
    expect(workerExecArgv([])).toEqual([]);
  });

  it('threaded wasm starts and computes in `node --input-type=module -e` (it used to wait forever for its workers)', () => {
    const tfjs = require.resolve('@tensorflow/tfjs-core');
    const script = `
      const tf = await import(${JSON.stringify(tfjs)});
      const m = await import(${JSON.stringify(path.join(__dirname, '..', 'index.ts'))});
      const { initBackend, wasmThreadsInUse, wasmKernelsInfo } = m.initBackend ? m : m.default;
      await initBackend('wasm', { threads: 2 });
      const y = tf.sum(tf.conv2d(tf.ones([8, 12, 12, 8]), tf.ones([3, 3, 8, 16]), 1, 'same'));
      process.stdout.write(JSON.stringify({ threads: wasmThreadsInUse(), kernels: wasmKernelsInfo(), sum: y.dataSync()[0] }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'jiti/register', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, JITI_ALIAS: JSON.stringify({ '@supcon/core': path.join(root, 'packages/core/src/index.ts') }) },
      encoding: 'utf8',
      timeout: 60000,
    });
    // Every output of a same-padded 3x3 conv of ones over 8 channels sums its window: 8 * (taps inside).
    const taps = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 || i === n - 1 ? 2 : 3)).reduce((a, b) => a + b, 0);
    expect(JSON.parse(out)).toEqual({ threads: 2, kernels: { active: true, threads: 2 }, sum: 8 * 16 * 8 * taps(12) ** 2 });
  }, 90000);
});
