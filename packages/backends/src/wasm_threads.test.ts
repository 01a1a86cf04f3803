import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend, wasmKernelsInfo, wasmThreadsInUse } from './init';

const root = path.resolve(__dirname, '../../..');

/** A seeded convolution and its gradients, as raw float32 bytes (base64), on the current backend. */
const probe = `
  const x = tf.randomNormal([4, 12, 12, 8], 0, 1, 'float32', 1);
  const f = tf.randomNormal([3, 3, 8, 16], 0, 1, 'float32', 2);
  const y = tf.conv2d(x, f, 1, 'same');
  const a = tf.randomNormal([64, 32], 0, 1, 'float32', 3);
  const b = tf.randomNormal([32, 48], 0, 1, 'float32', 4);
  const m = tf.matMul(a, b);
  const out = Buffer.concat([y, m].map((t) => Buffer.from(t.dataSync().buffer)));
`;

describe('threaded wasm in Node (initBackend threads)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'supcon-threads-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("starts tfjs's threaded build with 2 threads, bitwise equal to one thread and close to cpu", async () => {
    await initBackend('wasm', { threads: 2 });
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmThreadsInUse()).toBe(2);
    // supcon's own kernels run too, split over the same two threads (the convolution below is theirs).
    expect(wasmKernelsInfo()).toEqual({ active: true, threads: 2 });
    const got = new Function('tf', 'Buffer', `${probe}; return out.toString('base64');`)(
      tf,
      Buffer,
    ) as string;
    // One thread, in a separate process with stock tfjs (threads are fixed per process).
    const script = path.join(dir, 'single.cjs');
    writeFileSync(
      script,
      `const tf = require('@tensorflow/tfjs-core'); require('@tensorflow/tfjs-backend-wasm');
       tf.setBackend('wasm').then(() => { ${probe}; process.stdout.write(out.toString('base64')); });`,
    );
    const single = execFileSync(process.execPath, [script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: path.join(root, 'node_modules') },
    });
    expect(got).toBe(single);
    // And the values are right: the cpu backend to 1e-4.
    await tf.setBackend('cpu');
    const cpu = new Float32Array(
      Buffer.from(
        new Function('tf', 'Buffer', `${probe}; return out.toString('base64');`)(
          tf,
          Buffer,
        ) as string,
        'base64',
      ).buffer.slice(0),
    );
    const wasm = new Float32Array(Buffer.from(got, 'base64').buffer.slice(0));
    wasm.forEach((v, i) =>
      expect(Math.abs(v - cpu[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu[i]!))),
    );
    await tf.setBackend('wasm');
  }, 60000);

  it('refuses a different thread count once wasm has started, naming why', async () => {
    await expect(initBackend('wasm', { threads: 1 })).rejects.toThrow(
      /runs 2 thread\(s\); threads are fixed when it first starts/,
    );
    // Without a thread count it simply reuses the running backend.
    await expect(initBackend('wasm')).resolves.toBe('wasm');
  });

  it('rejects bad thread counts', async () => {
    for (const bad of [0, 9, 1.5])
      await expect(initBackend('wasm', { threads: bad })).rejects.toThrow(
        /threads must be an integer from 1 to 8/,
      );
  });

  it('a process that started 2 threads exits on its own (idle pool workers do not hold it)', () => {
    const script = path.join(dir, 'exits.ts');
    writeFileSync(
      script,
      `import { initBackend, wasmThreadsInUse } from ${JSON.stringify(path.join(__dirname, 'init.ts'))};
       initBackend('wasm', { threads: 2 }).then(() => process.stdout.write('threads ' + wasmThreadsInUse() + ' ok'));`,
    );
    const out = execFileSync(process.execPath, ['--import', 'jiti/register', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30000,
    });
    expect(out).toContain('threads 2 ok');
  }, 40000);
});
