/**
 * supcon's native wasm kernels against the XNNPACK-composed ones they replace, side by side in one
 * run (ratios; absolute times on a shared machine mean little):
 *   npm run bench:kernels [-- --threads 2]
 * Forward convolutions (native direct and Winograd F(2x2, 3x3) vs the stock XNNPACK Conv2D) and
 * filter gradients (the same two vs the swapped XNNPACK convolution) for the layers of the small
 * ResNet and ResNet-18 at batch 128. GFLOP/s count the direct method's multiply-adds.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend, wasmKernelsInfo } from '../src/index';
import { setConv2dBackpropFilterStrategy } from '../src/kernels/Conv2DBackpropFilter';
import { setTrainKernelsEnabled } from '../src/native/train_kernels';
import { setWinogradEnabled } from '../src/kernels/native_ops';

const args = process.argv.slice(2);
const at = args.indexOf('--threads');
const threads = at >= 0 ? Number(args[at + 1]) : 1;
await initBackend('wasm', { threads });
const info = wasmKernelsInfo();
console.log(
  `wasm, ${threads} thread(s); native kernels ${info.active ? `on ${info.threads} thread(s)` : 'unavailable'}`,
);
type Shape4 = [number, number, number, number];
const layers: [Shape4, Shape4, number][] = [
  [[128, 28, 28, 32], [3, 3, 32, 32], 1],
  [[128, 28, 28, 32], [3, 3, 32, 64], 2],
  [[128, 14, 14, 64], [3, 3, 64, 64], 1],
  [[128, 7, 7, 128], [3, 3, 128, 128], 1],
  [[128, 32, 32, 64], [3, 3, 64, 64], 1],
  [[128, 8, 8, 256], [3, 3, 256, 256], 1],
  [[128, 4, 4, 512], [3, 3, 512, 512], 1],
];

/** Median of 3 timed runs (after one warm-up) of `f`, in ms. */
function time(f: () => tf.Tensor): number {
  f().dispose();
  const runs = [0, 1, 2].map(() => {
    const t0 = performance.now();
    const r = f();
    r.dataSync();
    const dt = performance.now() - t0;
    r.dispose();
    return dt;
  });
  return runs.sort((a, b) => a - b)[1]!;
}

console.log(
  '| layer (x, filter, stride) | conv XNNPACK | native direct | native Winograd | best/XNNPACK | filter grad XNNPACK swap | native direct | native Winograd | best/XNNPACK |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [xs, fs, s] of layers) {
  const x = tf.randomNormal(xs);
  const f = tf.randomNormal(fs);
  const oh = Math.ceil(xs[1] / s);
  const dy = tf.randomNormal([xs[0], oh, oh, fs[3]]);
  const conv = () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, s, 'same');
  const grad = () =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: s,
      pad: 'same',
      dataFormat: 'NHWC',
      filterShape: fs,
    } as never) as tf.Tensor;
  setTrainKernelsEnabled(false);
  const convStock = time(conv);
  setConv2dBackpropFilterStrategy('swap');
  const gradStock = time(grad);
  setTrainKernelsEnabled(true);
  setConv2dBackpropFilterStrategy('native');
  setWinogradEnabled(false);
  const convDirect = time(conv);
  const gradDirect = time(grad);
  setWinogradEnabled(true);
  const winograd = fs[0] === 3 && fs[1] === 3 && s === 1;
  const convWinograd = winograd ? time(conv) : NaN;
  const gradWinograd = winograd ? time(grad) : NaN;
  const gflop = (2 * xs[0] * oh * oh * fs[0] * fs[1] * fs[2] * fs[3]) / 1e9;
  const cell = (ms: number) =>
    Number.isNaN(ms) ? '—' : `${ms.toFixed(1)} ms (${(gflop / (ms / 1000)).toFixed(0)} GFLOP/s)`;
  const best = (a: number, b: number) => (Number.isNaN(b) ? a : Math.min(a, b));
  console.log(
    `| ${xs.join('x')}, ${fs.join('x')}, ${s} | ${cell(convStock)} | ${cell(convDirect)} | ${cell(convWinograd)} | ${(convStock / best(convDirect, convWinograd)).toFixed(2)}x | ${cell(gradStock)} | ${cell(gradDirect)} | ${cell(gradWinograd)} | ${(gradStock / best(gradDirect, gradWinograd)).toFixed(2)}x |`,
  );
  tf.dispose([x, f, dy]);
}
