/**
 * supConLoss forward + backward at batch 1024, 2 views, dim 128 (the hot path of a training
 * step), on tfjs's wasm and cpu backends and in PyTorch (one thread), side by side in one run.
 *   cd packages/losses && npm run bench
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { fusedKernelInfo, supConLoss } from '@supcon/losses';
import { initBackend, wasmThreadsInUse } from '@supcon/backends';

// `npm run bench -- --threads 2`: the wasm backend's XNNPACK threads (tfjs's threaded build).
const threadsArg = process.argv.indexOf('--threads');
const threads = threadsArg >= 0 ? Number(process.argv[threadsArg + 1]) : 1;

const [B, V, D] = [1024, 2, 128];

async function time(
  backend: string,
  implementation: 'fused' | 'composed',
  reps: number,
): Promise<{ ms: number; peakMiB: number }> {
  if (backend === 'wasm') await initBackend('wasm', { threads });
  else await tf.setBackend(backend);
  await tf.ready();
  const f = tf.tidy(() => {
    const x = tf.randomNormal([B, V, D], 0, 1, 'float32', 1);
    return tf.div(x, tf.norm(x, 'euclidean', -1, true)) as tf.Tensor3D;
  });
  const labels = tf.tensor1d(
    Int32Array.from({ length: B }, (_, i) => (i * 7919) % 100),
    'int32',
  );
  const step = () => {
    const g = tf.grad((x: tf.Tensor) => supConLoss(x as tf.Tensor3D, labels, { implementation }))(
      f,
    );
    g.dataSync();
    g.dispose();
  };
  step(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  // Peak memory from one more, profiled step (profiling slows the step, so it is not timed).
  const peak = (await tf.profile(step)).peakBytes;
  tf.dispose([f, labels]);
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], peakMiB: peak / 2 ** 20 };
}

async function main() {
  const torchMs = (threads: number) =>
    (
      JSON.parse(
        execFileSync(
          '/usr/bin/python3',
          [path.join(__dirname, 'supcon_torch.py'), String(threads)],
          { encoding: 'utf8' },
        ).trim(),
      ) as { ms: number }
    ).ms;
  const torch = { ms: torchMs(1) };
  const torch2 = torchMs(2);
  console.log(`supConLoss forward+backward, batch ${B} x ${V} views x dim ${D}`);
  console.log(
    `PyTorch (1 thread)        ${torch.ms.toFixed(1).padStart(7)} ms   (the reference for the ratios)`,
  );
  console.log(`PyTorch (2 threads)       ${torch2.toFixed(1).padStart(7)} ms`);
  const runs = [
    ['wasm', 'fused', 9],
    ['wasm', 'composed', 3],
    ['cpu', 'fused', 2],
    ['cpu', 'composed', 1],
  ] as const;
  for (const [backend, implementation, reps] of runs) {
    const r = await time(backend, implementation, reps);
    console.log(
      `tfjs ${backend === 'wasm' ? `wasm/${wasmThreadsInUse()}t` : backend.padEnd(7)} ${implementation.padEnd(8)}  ${r.ms.toFixed(1).padStart(7)} ms   ratio ${(r.ms / torch.ms).toFixed(2)}x PyTorch   peak tensor memory ${r.peakMiB.toFixed(0)} MiB`,
    );
  }
  const info = fusedKernelInfo();
  console.log(
    `fused row kernel: ${info.available ? 'WebAssembly SIMD' : 'JavaScript fallback'}, its own memory ${(info.memoryBytes / 2 ** 20).toFixed(0)} MiB (not in the tensor figures)`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
