import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/init';
import { setTrainKernelsEnabled, trainKernelThreads } from '../src/native/train_kernels';
const threads = Number(process.argv[2] ?? 1);
await initBackend('wasm', { threads });
console.log('kernel threads', trainKernelThreads(tf.backend()));
const cases: [number[], [number, number, number, number], number][] = [
  [[128, 28, 28, 32], [3, 3, 32, 32], 1],
  [[128, 14, 14, 64], [3, 3, 64, 64], 1],
  [[128, 7, 7, 128], [3, 3, 128, 128], 1],
  [[128, 28, 28, 32], [3, 3, 32, 64], 2],
];
for (const [xs, fs, s] of cases) {
  const x = tf.randomNormal(xs) as tf.Tensor4D;
  const f = tf.randomNormal(fs) as tf.Tensor4D;
  const t: Record<string, number> = {};
  for (const on of [false, true, false, true]) {
    setTrainKernelsEnabled(on);
    const t0 = performance.now();
    const r = tf.conv2d(x, f, s, 'same');
    r.dataSync();
    t[String(on)] = performance.now() - t0;
    r.dispose();
  }
  const oh = Math.ceil(xs[1]! / s);
  const flop = 2 * xs[0]! * oh * oh * fs[0] * fs[1] * fs[2] * fs[3];
  console.log(`${xs.join('x')} f${fs.join('x')} s${s}: xnnpack ${t.false!.toFixed(1)} (${(flop / t.false! / 1e6).toFixed(1)} GF/s) native ${t.true!.toFixed(1)} ms (${(flop / t.true! / 1e6).toFixed(1)} GF/s)`);
  tf.dispose([x, f]);
}
