/**
 * Starting a backend with @supcon/backends: `initBackend('auto')` starts the first of
 * tensorflow-gpu, tensorflow, wasm and cpu that loads (here, without the optional libtensorflow
 * packages, wasm), and registers tfjs's gradients. `probeBackends()` says which backend packages
 * are installed without starting any; `wasmFeatures()` what the wasm build can use.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/backends.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { AUTO_ORDER } from '@supcon/backends';

// #region auto
import { initBackend, probeBackends, wasmFeatures } from '@supcon/backends';

const skipped: string[] = [];
const backend = await initBackend('auto', {
  onSkip: (name, error) => skipped.push(`${name}: ${error.message}`), // why each one did not start
}); // 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu': the first that starts
const installed = probeBackends() // loads nothing: which packages resolve, and their versions
  .filter((p) => p.installed)
  .map((p) => `${p.backend} ${p.version}`);
const features = await wasmFeatures(); // { simd: true, threads: false } on Node 20 (tfjs's own detection)
// #endregion auto

// `auto` skipped exactly the backends before the one it started, and that one is tfjs's backend now.
const order = AUTO_ORDER.indexOf(backend);
if (order < 0 || skipped.length !== order) throw new Error(`initBackend('auto') started ${backend} after skipping ${skipped.length}: ${skipped.join('; ')}`);
const tfName = backend === 'tensorflow-gpu' ? 'tensorflow' : backend;
if (tf.getBackend() !== tfName) throw new Error(`tfjs runs ${tf.getBackend()}, not ${tfName}`);
if (!installed.some((line) => line.startsWith(`${backend} `))) throw new Error(`probeBackends() does not list ${backend} as installed: ${installed.join(', ')}`);
if (typeof features.simd !== 'boolean' || typeof features.threads !== 'boolean') throw new Error(`wasmFeatures(): ${JSON.stringify(features)}`);
// A gradient works without importing tfjs's register_all_gradients: initBackend registered them.
const slope = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([3])).dataSync()[0]);
if (slope !== 6) throw new Error(`d(x²)/dx at 3 should be 6, got ${slope}`);
const skippedNames = skipped.map((reason) => reason.split(':')[0]).join(', ');
console.log(`initBackend('auto') started ${backend}${skipped.length ? ` (skipped ${skippedNames})` : ''}; installed: ${installed.join(', ')}; wasm SIMD ${features.simd}, threads ${features.threads}`);
