/**
 * kNN at scale, beside scikit-learn in the same run: @supcon/eval's `evaluateKnn` (cosine, k = 20,
 * votes exp(sim / 0.1)) on 60000 x 512 training features and 10000 x 512 test features, on the
 * wasm backend with the CLI's thread count; then knn_sklearn.py on the same numbers (one mulberry32
 * stream on both sides): scikit-learn's brute-force cosine KNeighborsClassifier (fit + predict), and
 * the same weighted vote in NumPy, whose predictions must equal ours (a tie or a float rounding at
 * the k-th neighbour may flip a few rows; the count is printed).
 *
 *   npm run bench:knn -w @supcon/eval      [-- --n-test 2000] [--no-python]
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { knnScores } from '../src/index';
import { mulberry32 } from './fashion-subset';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const nTest = Number(flag('n-test', '10000'));
const nTrain = 60000;
const dim = 512;
const classes = 10;
const k = 20;
const scale = 0.15;

await initBackend('wasm', { threads: Math.min(8, availableParallelism()) });

// knn_sklearn.py's synthetic(): centres uniform(-scale, scale) as float32, then the rows
// relu(centre_y + uniform(-1, 1)), y_i = i % classes, from one stream.
const draw = mulberry32(42);
const centres = Float32Array.from({ length: classes * dim }, () => scale * (2 * draw() - 1));
const n = nTrain + nTest;
const x = new Float32Array(n * dim);
const y = Int32Array.from({ length: n }, (_, i) => i % classes);
for (let i = 0; i < n; i++) {
  const c = (y[i] as number) * dim;
  for (let j = 0; j < dim; j++) x[i * dim + j] = Math.max(0, (centres[c + j] as number) + (2 * draw() - 1));
}
const train = tf.tensor2d(x.subarray(0, nTrain * dim), [nTrain, dim]);
const test = tf.tensor2d(x.subarray(nTrain * dim), [nTest, dim]);
const t0 = performance.now();
const { scores } = knnScores(train, y.subarray(0, nTrain), test, { k, temperature: 0.1, numClasses: classes });
const seconds = (performance.now() - t0) / 1000;
tf.dispose([train, test]);
const pred = Int32Array.from({ length: nTest }, (_, r) => {
  let best = 0;
  for (let c = 1; c < classes; c++) if ((scores[r * classes + c] as number) > (scores[r * classes + best] as number)) best = c;
  return best;
});
let correct = 0;
for (let r = 0; r < nTest; r++) if (pred[r] === y[nTrain + r]) correct++;
const top1 = correct / nTest;
console.log(`supcon evaluateKnn: ${nTrain} x ${dim} against ${nTest} x ${dim}, k ${k}: ${seconds.toFixed(2)} s, top-1 ${(100 * top1).toFixed(2)}% (wasm, ${Math.min(8, availableParallelism())} threads)`);

if (!args.includes('--no-python')) {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('/usr/bin/python3', [path.join(import.meta.dirname, 'knn_sklearn.py'), '--k', String(k), '--n-test', String(nTest)], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    console.log(`python reference failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    process.exit(1);
  }
  const ref = JSON.parse(r.stdout) as { sklearnSeconds: number; sklearnTop1: number; numpySeconds: number; numpyTop1: number; numpyPredictions: number[] };
  const differ = ref.numpyPredictions.reduce((d, p, i) => d + (p === pred[i] ? 0 : 1), 0);
  console.log(`scikit-learn KNeighborsClassifier (brute, cosine, uniform votes): ${ref.sklearnSeconds.toFixed(2)} s, top-1 ${(100 * ref.sklearnTop1).toFixed(2)}%`);
  console.log(`NumPy, the same weighted vote: ${ref.numpySeconds.toFixed(2)} s, top-1 ${(100 * ref.numpyTop1).toFixed(2)}%; predictions that differ from supcon's: ${differ} of ${nTest}`);
  console.log(`ratio: supcon / scikit-learn time ${(seconds / ref.sklearnSeconds).toFixed(2)}x`);
}
