/**
 * supcon's wasm training kernels registered by hand, on a wasm backend started with plain tfjs
 * (`initBackend('wasm')` does all of this for you). Stock tfjs-backend-wasm has no
 * `Conv2DBackpropFilter`, so a convolution cannot train there; after the call it has one, and
 * supcon's own batch-norm kernel runs `batchNormTraining` of @supcon/backbones.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/wasm-kernels.ts`).
 */
// #region register
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@supcon/backends';

await tf.setBackend('wasm');
await tf.ready();
registerWasmTrainingKernels(); // initBackend('wasm') does this for you
// #endregion register
import { BATCH_NORM_TRAINING, wasmKernelsInfo } from '@supcon/backends';
import { batchNormTraining } from '@supcon/backbones';

registerWasmTrainingKernels(); // idempotent: a second call changes nothing
for (const kernel of ['Conv2DBackpropFilter', BATCH_NORM_TRAINING]) {
  if (!tf.getKernel(kernel, 'wasm')) throw new Error(`no ${kernel} kernel on wasm after registerWasmTrainingKernels()`);
}
// Batch norm over the batch of two 1×1 images with channels (1, 10) and (3, 30): per channel the
// mean is 2 and 20, the (biased) variance 1 and 100, so y = (x - mean) / sqrt(var + eps) ≈ ∓1.
const eps = 1e-5;
const x = tf.tensor4d([1, 10, 3, 30], [2, 1, 1, 2]);
const { y, mean, variance } = batchNormTraining(x, undefined, undefined, eps);
const got = [...y.dataSync(), ...mean.dataSync(), ...variance.dataSync()];
const [y1, y2] = [1 / Math.sqrt(1 + eps), 10 / Math.sqrt(100 + eps)];
const want = [-y1, -y2, y1, y2, 2, 20, 1, 100];
if (got.some((v, i) => Math.abs(v - want[i]!) > 1e-5)) throw new Error(`batchNormTraining: got ${got.join(', ')}, want ${want.join(', ')}`);
tf.dispose([x, y, mean, variance]);
const native = wasmKernelsInfo();
console.log(`wasm kernels registered by hand: Conv2DBackpropFilter and ${BATCH_NORM_TRAINING} present, batch norm right to 1e-5; native SIMD kernels ${native.active ? `on ${native.threads} thread(s)` : 'off (XNNPACK-composed kernels)'}`);
