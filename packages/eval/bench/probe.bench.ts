/**
 * The default linear probe (L-BFGS, sklearn's objective) against scikit-learn's committed figures,
 * and its speed on a CIFAR/ImageNet-probe-sized problem:
 *   npm run bench:probe -w packages/eval [-- --backend cpu]      (default backend: wasm)
 * Needs Debian's dataset-fashion-mnist. The sklearn side is bench/probe-vs-sklearn.py, which
 * writes bench/reference/probe-sklearn.json (regenerate it with
 * `unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; /usr/bin/python3 packages/eval/bench/probe-vs-sklearn.py`).
 * Cases: Fashion-MNIST raw pixels and a fixed random ReLU "encoder" (see fashion-subset.ts), 200
 * train / 100 test images per class; then 60000 x 512 synthetic features, 10 classes (timing).
 * Exits 1 if a test top-1 differs from sklearn's by more than 0.5 point.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createRng } from '@supcon/core';
import { evaluateLinearProbe, trainLinearProbe } from '../src/probe';
import { encoderFeatures, fashionSubset, mulberry32, type Split } from './fashion-subset';
import reference from './reference/probe-sklearn.json';

const args = process.argv.slice(2);
const at = args.indexOf('--backend');
const backend = at >= 0 ? (args[at + 1] as string) : 'wasm';
await tf.setBackend(backend);
await tf.ready();

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
const row = (cells: (string | number)[], widths: number[]): string => cells.map((c, i) => String(c).padStart(widths[i] as number)).join('  ');
const widths = [8, 9, 9, 7, 12, 12, 9, 9, 9, 11, 8, 8, 10];
console.log(`linear probe (defaults: lbfgs, C=1, tol 1e-4, standardised) vs scikit-learn ${reference.sklearn} LogisticRegression, tfjs ${backend}`);
console.log(row(['case', 'ours top1', 'sk top1', 'Δ pts', 'ours obj', 'sk obj', 'rel diff', 'ours CE', 'sk CE', 'iters o/sk', 'ours s', 'sk s', 'stop'], widths));

let failed = false;
const { train, test } = fashionSubset();
const cases: ['pixels' | 'encoder', () => [Split, Split]][] = [
  ['pixels', () => [train, test]],
  ['encoder', () => [encoderFeatures(train), encoderFeatures(test)]],
];
for (const [name, make] of cases) {
  const ref = reference.cases[name];
  const [tr, te] = make();
  const xtr = tf.tensor2d(tr.x, [tr.n, tr.dim]);
  const xte = tf.tensor2d(te.x, [te.n, te.dim]);
  const t0 = performance.now();
  const r = evaluateLinearProbe(xtr, tr.y, xte, te.y, createRng(0));
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([xtr, xte]);
  const diff = 100 * (r.top1 - ref.testTop1);
  if (Math.abs(diff) > 0.5 + 1e-9) failed = true;
  const objective = r.objective as number;
  console.log(
    row(
      [
        name,
        pct(r.top1),
        pct(ref.testTop1),
        `${diff >= 0 ? '+' : ''}${diff.toFixed(2)}`,
        objective.toFixed(6),
        ref.objective.toFixed(6),
        ((objective - ref.objective) / ref.objective).toExponential(1),
        r.finalLoss.toFixed(5),
        ref.meanTrainLoss.toFixed(5),
        `${r.iterations}/${ref.iterations}`,
        seconds.toFixed(2),
        ref.seconds.toFixed(2),
        r.stopReason,
      ],
      widths,
    ),
  );
}
console.log('(obj: Σ logloss + ||W||²/2C on standardised features; CE: mean train cross-entropy; sklearn seconds are from the machine that wrote the reference)');

// timing: 60000 x 512 "random-ish" features, 10 overlapping classes: relu(class centre + uniform noise)
const n = 60000;
const dim = 512;
const classes = 10;
const draw = mulberry32(42);
const centres = Float32Array.from({ length: classes * dim }, () => 0.1 * (2 * draw() - 1));
const y = Int32Array.from({ length: n }, (_, i) => i % classes);
const x = new Float32Array(n * dim); // the same stream as synthetic() in probe-vs-sklearn.py
for (let i = 0; i < n; i++) {
  const c = (y[i] as number) * dim;
  for (let j = 0; j < dim; j++) x[i * dim + j] = Math.max(0, (centres[c + j] as number) + (2 * draw() - 1));
}
const xt = tf.tensor2d(x, [n, dim]);
const t0 = performance.now();
const probe = trainLinearProbe(xt, y, createRng(0));
const seconds = (performance.now() - t0) / 1000;
const sk = reference.cases.synthetic;
console.log(
  `timing: ${n} x ${dim}, ${classes} classes: ${seconds.toFixed(1)} s (sklearn ${sk.seconds.toFixed(1)} s), ` +
    `${probe.iterations} iterations (sklearn ${sk.iterations}), ${(((seconds / Math.max(probe.iterations, 1)) * 1000)).toFixed(0)} ms each, ` +
    `${probe.converged ? 'converged' : 'NOT converged'} (${probe.stopReason}); train top-1 ${pct(probe.trainTop1)} (sklearn ${pct(sk.trainTop1)}), ` +
    `objective ${(probe.objective as number).toFixed(4)} (sklearn ${sk.objective.toFixed(4)})`,
);
probe.dispose();
xt.dispose();
if (failed) {
  console.error('FAIL: a test top-1 differs from sklearn by more than 0.5 point');
  process.exitCode = 1;
}
