import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers tfjs's stock gradients (the core CJS bundle does not)
import { initBackend, wasmKernelsInfo, wasmThreadsInUse } from './index';
import { batchNormViaKernels } from './kernels/batch_norm_testing';
import { runSplit, trainKernels } from './native/train_kernels';

const root = path.resolve(__dirname, '../../..');
/** Child processes run this package's sources with jiti; @supcon/core from its sources too, as under jest. */
const childEnv = {
  ...process.env,
  JITI_ALIAS: JSON.stringify({ '@supcon/core': path.join(root, 'packages/core/src/index.ts') }),
};

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
    // One thread, in a separate process (threads are fixed per process) with the same kernels:
    // splitting the work over threads does not change a single bit.
    const script = path.join(dir, 'single.ts');
    writeFileSync(
      script,
      `import * as tf from ${JSON.stringify(require.resolve('@tensorflow/tfjs-core'))};
       import { initBackend, wasmKernelsInfo } from ${JSON.stringify(path.join(__dirname, 'index.ts'))};
       initBackend('wasm', { threads: 1 }).then(() => {
         if (!wasmKernelsInfo().active) throw new Error('native kernels inactive');
         ${probe}; process.stdout.write(out.toString('base64'));
       });`,
    );
    const single = execFileSync(process.execPath, ['--import', 'jiti/register', script], {
      cwd: root,
      env: childEnv,
      encoding: 'utf8',
      timeout: 150000, // a hang guard: a loaded 2-core CI machine runs this child slowly
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
  }, 320000);

  it("supcon's kernels split over two threads give the cpu backend's values (conv gradients, batch norm, sums, broadcasts)", async () => {
    // Batch norm through supcon's kernels on wasm; on cpu (no such kernels), tfjs's moments +
    // batchNorm differentiated by autodiff, the reference.
    const bn = (y: tf.Tensor, gg: tf.Tensor1D, bb: tf.Tensor1D): tf.Tensor => {
      if (tf.getBackend() === 'wasm') return batchNormViaKernels(y, gg, bb, 1e-3);
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      return tf.batchNorm(y, mean, variance, bb, gg, 1e-3);
    };
    const compute = () =>
      tf.tidy(() => {
        const x = tf.randomUniform([6, 20, 20, 12], -1, 1, 'float32', 21);
        const f = tf.randomUniform([3, 3, 12, 16], -1, 1, 'float32', 22);
        const g = tf.randomUniform([16], 0.5, 1.5, 'float32', 23) as tf.Tensor1D;
        const b = tf.randomUniform([16], -1, 1, 'float32', 24) as tf.Tensor1D;
        const [dx, df, dg, db] = tf.grads(
          (a: tf.Tensor, w: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
            const y = tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
            const n = bn(y, gg as tf.Tensor1D, bb as tf.Tensor1D);
            return tf.sum(tf.mul(tf.square(n), tf.mean(n, [1, 2], true)));
          },
        )([x, f, g, b]);
        const sums = tf.sum(x, [0, 1, 2]);
        const tiled = tf.tile(tf.reshape(sums, [1, 1, 12]), [64, 40, 1]);
        return [dx!, df!, dg!, db!, sums, tiled].map((t) => t.dataSync() as Float32Array);
      });
    await initBackend('wasm', { threads: 2 });
    expect(wasmKernelsInfo()).toEqual({ active: true, threads: 2 });
    const wasm = compute();
    await tf.setBackend('cpu');
    const cpu = compute();
    await tf.setBackend('wasm');
    wasm.forEach((values, k) => {
      const scale = Math.max(1, ...Array.from(cpu[k]!, Math.abs));
      values.forEach((v, i) => expect(Math.abs(v - cpu[k]![i]!) / scale).toBeLessThan(1e-4));
    });
  }, 60000);

  it('a kernel that fails in a worker thread throws on the main thread, and the pool keeps working', async () => {
    await initBackend('wasm', { threads: 2 });
    const backend = tf.backend();
    const kernels = trainKernels(backend)!;
    const t = tf.tensor([1, 2, 3, 4]);
    const at = (
      backend as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }
    ).dataIdMap.get(t.dataId)!.memoryOffset;
    // Part 0 (main thread) copies a row onto itself; part 1 (the worker) reads far past the heap.
    expect(() =>
      runSplit(kernels, 'broadcast_rows', 2, (r0, r1, part) =>
        part === 0 ? [at, at, 1, 1, r0, r1] : [0x7ffffff0, 0x7ffffff0, 4, 1, r0, r1],
      ),
    ).toThrow(/broadcast_rows failed in a worker thread/);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4]);
    t.dispose();
    const sums = tf.tidy(() => tf.sum(tf.ones([64, 32, 32, 4]), [0, 1, 2]).dataSync());
    expect(Array.from(sums)).toEqual([65536, 65536, 65536, 65536]);
  });

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
      `import { initBackend, wasmThreadsInUse } from ${JSON.stringify(path.join(__dirname, 'index.ts'))};
       initBackend('wasm', { threads: 2 }).then(() => process.stdout.write('threads ' + wasmThreadsInUse() + ' ok'));`,
    );
    const out = execFileSync(process.execPath, ['--import', 'jiti/register', script], {
      cwd: root,
      env: childEnv,
      encoding: 'utf8',
      timeout: 150000, // a hang guard (see above)
    });
    expect(out).toContain('threads 2 ok');
  }, 160000);

  // Last: it ends the pool of this process.
  it('when the kernel workers end, calls run on the main thread alone (no hang)', async () => {
    await initBackend('wasm', { threads: 2 });
    const kernels = trainKernels(tf.backend())!;
    expect(wasmKernelsInfo().threads).toBe(2);
    kernels.pool!.terminate();
    for (let i = 0; i < 50 && kernels.pool !== undefined; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(wasmKernelsInfo()).toEqual({ active: true, threads: 1 });
    const sums = tf.tidy(() => tf.sum(tf.ones([64, 32, 32, 4]), [0, 1, 2]).dataSync());
    expect(Array.from(sums)).toEqual([65536, 65536, 65536, 65536]);
  });
});
