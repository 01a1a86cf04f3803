/**
 * The default linear probe (L-BFGS, sklearn's objective) against scikit-learn's committed figures,
 * and its speed on a CIFAR/ImageNet-probe-sized problem:
 *   npm run bench:probe -w packages/eval [-- --backend cpu]      (default backend: wasm)
 * Needs Debian's dataset-fashion-mnist. The sklearn side is bench/probe-vs-sklearn.py, which
 * writes bench/reference/probe-sklearn.json (regenerate it with
 * `unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; /usr/bin/python3 packages/eval/bench/probe-vs-sklearn.py`).
 * Cases: Fashion-MNIST raw pixels, a fixed random ReLU "encoder" (see fashion-subset.ts) and the
 * 128-d encoder features of a trained SupCon checkpoint (the committed
 * reference/fashion-encoder-subset.*, see checkpoint-features.ts), 200 train / 100 test images
 * per class; then two timings: 60000 x 512 synthetic features, 10 classes, and the checkpoint's
 * encoder features on all of Fashion-MNIST, 60000 x 128 (test on 10000). The latter is read from
 * bench-results/fashion-encoder-full.* (not committed); when it is missing and the checkpoint of the
 * reference is at hand (runs/fashion-mnist-repro/...), it is written first with
 * tools/dump-encoder-features.mjs (~1.5 min), else the case is skipped with a note. Between the
 * two, solver 'sgd' with SupContrast's protocols on the pixel and checkpoint subsets (no sklearn
 * counterpart: a fixed schedule; for the docs).
 * Exits 1 if a test top-1 differs from sklearn's by more than 0.5 point.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRng } from '@supcon/core';
import { LinearProducts } from '../src/multinomial';
import { evaluateLinearProbe, trainLinearProbe, type LinearProbeOptions } from '../src/probe';
import { CHECKPOINT_FULL, CHECKPOINT_SUBSET, readCheckpointFeatures, REPO_ROOT } from './checkpoint-features';
import { encoderFeatures, fashionSubset, mulberry32, type Split } from './fashion-subset';
import reference from './reference/probe-sklearn.json';

const args = process.argv.slice(2);
const at = args.indexOf('--backend');
const backend = at >= 0 ? (args[at + 1] as string) : 'wasm';
await tf.setBackend(backend);
await tf.ready();

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
const row = (cells: (string | number)[], widths: number[]): string => cells.map((c, i) => String(c).padStart(widths[i] as number)).join('  ');
const widths = [10, 9, 9, 7, 12, 12, 9, 9, 9, 11, 8, 8, 10];
console.log(`linear probe (defaults: lbfgs, C=1, tol 1e-4, standardised) vs scikit-learn ${reference.sklearn} LogisticRegression, tfjs ${backend}`);
console.log(row(['case', 'ours top1', 'sk top1', 'Δ pts', 'ours obj', 'sk obj', 'rel diff', 'ours CE', 'sk CE', 'iters o/sk', 'ours s', 'sk s', 'stop'], widths));

let failed = false;
const { train, test } = fashionSubset();
const cases: ['pixels' | 'encoder' | 'checkpoint', () => [Split, Split]][] = [
  ['pixels', () => [train, test]],
  ['encoder', () => [encoderFeatures(train), encoderFeatures(test)]],
  [
    'checkpoint',
    () => {
      const f = readCheckpointFeatures(CHECKPOINT_SUBSET);
      return [f.train, f.test];
    },
  ],
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
const ckptSource = reference.cases.checkpoint.source;
console.log(
  `(obj: Σ logloss + ||W||²/2C on standardised features; CE: mean train cross-entropy; sklearn seconds are from the machine that wrote the reference; ` +
    `checkpoint: ${reference.cases.checkpoint.dim}-d encoder features of ${ckptSource.run} ${ckptSource.checkpoint}, ${reference.cases.checkpoint.file})`,
);

// solver 'sgd' (a fixed schedule, no convergence test) on the same subsets, for the docs: this
// package's sgd defaults, SupContrast main_linear.py's defaults, and its README's linear stage
const sgdProtocols: [string, LinearProbeOptions][] = [
  ['sgd defaults (30 ep, bs 256, lr 0.1, cosine, l2)', { solver: 'sgd' }],
  [
    'main_linear.py defaults (100 ep, bs 256, lr 0.1, step 60/75/90 x0.2, raw)',
    { solver: 'sgd', epochs: 100, batchSize: 256, learningRate: 0.1, schedule: 'step', milestones: [0.6, 0.75, 0.9], gamma: 0.2, normalize: 'none' },
  ],
  [
    'SupContrast README (100 ep, bs 512, lr 5, step 60/75/90 x0.2, raw)',
    { solver: 'sgd', epochs: 100, batchSize: 512, learningRate: 5, schedule: 'step', milestones: [0.6, 0.75, 0.9], gamma: 0.2, normalize: 'none' },
  ],
];
for (const [name, make] of [cases[0], cases[2]] as const) {
  const [tr, te] = make();
  const xtr = tf.tensor2d(tr.x, [tr.n, tr.dim]);
  const xte = tf.tensor2d(te.x, [te.n, te.dim]);
  const ref = reference.cases[name];
  for (const [label, options] of sgdProtocols) {
    const t = performance.now();
    const r = evaluateLinearProbe(xtr, tr.y, xte, te.y, createRng(0), options);
    const s = (performance.now() - t) / 1000;
    console.log(`solver sgd, ${name}, ${label}: test top-1 ${pct(r.top1)} (sklearn lbfgs ${pct(ref.testTop1)}), train ${pct(r.trainTop1)}, ${s.toFixed(1)} s`);
  }
  tf.dispose([xtr, xte]);
}

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

// timing on real features: the checkpoint's encoder on all of Fashion-MNIST, 60000 x 128
// absent when probe-vs-sklearn.py ran without the full features file
const full = (reference.cases as Partial<typeof reference.cases>).checkpointFull;
const want = full?.source ?? reference.cases.checkpoint.source; // the checkpoint of the committed subset
const rel = (f: string): string => path.relative(process.cwd(), f);
if (!existsSync(CHECKPOINT_FULL)) {
  const ckpt = path.join(REPO_ROOT, want.run, 'checkpoints', want.checkpoint);
  const dump = ['tools/dump-encoder-features.mjs', '--run', want.run, '--checkpoint', want.checkpoint, '--full', path.relative(REPO_ROOT, CHECKPOINT_FULL.replace(/\.json$/, ''))];
  if (existsSync(path.join(ckpt, 'checkpoint.json'))) {
    console.log(`writing ${rel(CHECKPOINT_FULL)} from ${path.relative(REPO_ROOT, ckpt)}: node ${dump.join(' ')}`);
    const r = spawnSync(process.execPath, dump, { cwd: REPO_ROOT, stdio: 'inherit' });
    if (r.status !== 0) console.log(`dump-encoder-features failed (exit ${r.status ?? r.signal})`);
  } else {
    console.log(
      `real features, 60000 x 128: skipped: ${rel(CHECKPOINT_FULL)} is missing and the reference's checkpoint ${path.relative(REPO_ROOT, ckpt)} is not here ` +
        `(a fresh clone, or pruned): with another checkpoint, run node ${dump.join(' ').replace(want.checkpoint, 'epoch-NNNN')}, ` +
        `then /usr/bin/python3 packages/eval/bench/probe-vs-sklearn.py for sklearn's figures on it`,
    );
  }
}
if (existsSync(CHECKPOINT_FULL)) {
  const f = readCheckpointFeatures(CHECKPOINT_FULL);
  const same = f.header.sha256 === full?.sha256;
  const sameCheckpoint = f.header.source.run === full?.source.run && f.header.source.checkpointCreatedAt === full.source.checkpointCreatedAt;
  // where the time goes: the two float32 products per iteration (tfjs matMuls, with their copies) vs the rest (JS)
  let productMs = 0;
  let productCalls = 0;
  for (const method of ['xv', 'xtg'] as const) {
    const original = LinearProducts.prototype[method];
    LinearProducts.prototype[method] = function (this: LinearProducts, v: Float32Array): Float32Array {
      const t = performance.now();
      const out = original.call(this, v);
      productMs += performance.now() - t;
      productCalls++;
      return out;
    };
  }
  const xtr = tf.tensor2d(f.train.x, [f.train.n, f.train.dim]);
  const xte = tf.tensor2d(f.test.x, [f.test.n, f.test.dim]);
  const t1 = performance.now();
  const r = evaluateLinearProbe(xtr, f.train.y, xte, f.test.y, createRng(0));
  const s1 = (performance.now() - t1) / 1000;
  const [products, productsMs] = [productCalls, productMs];
  // stopped early at sklearn's default max_iter (100), not converged
  const t2 = performance.now();
  const capped = evaluateLinearProbe(xtr, f.train.y, xte, f.test.y, createRng(0), { maxIterations: 100 });
  const s2 = (performance.now() - t2) / 1000;
  tf.dispose([xtr, xte]);
  const src = f.header.source;
  console.log(
    `real features: ${f.train.n} x ${f.train.dim} train / ${f.test.n} test, encoder of ${src.run} ${src.checkpoint} (epoch ${src.epochsCompleted}), ${rel(CHECKPOINT_FULL)}:`,
  );
  const objective = r.objective as number;
  const ours =
    `ours ${s1.toFixed(1)} s, ${r.iterations} iterations (${((s1 * 1000) / Math.max(r.iterations, 1)).toFixed(0)} ms each; products X·V, Xᵀ·G ` +
    `${(productsMs / 1000).toFixed(1)} s in ${products} calls = ${((100 * productsMs) / (s1 * 1000)).toFixed(0)}%, the rest JS), ` +
    `${r.converged ? 'converged' : 'NOT converged'} (${r.stopReason}); test top-1 ${pct(r.top1)}, train ${pct(r.trainTop1)}, objective ${objective.toFixed(3)}`;
  const cappedLine = `  ours with maxIterations 100 (sklearn's default max_iter; not converged): ${s2.toFixed(1)} s, test top-1 ${pct(capped.top1)}, objective ${(capped.objective as number).toFixed(3)}`;
  if (full && (same || sameCheckpoint)) {
    const diff = 100 * (r.top1 - full.testTop1);
    if (Math.abs(diff) > 0.5 + 1e-9) failed = true;
    console.log(`  ${ours}`);
    console.log(
      `  sklearn ${full.seconds.toFixed(1)} s, ${full.iterations} iterations (${((full.seconds * 1000) / full.iterations).toFixed(0)} ms each); test top-1 ${pct(full.testTop1)}, ` +
        `train ${pct(full.trainTop1)}, objective ${full.objective.toFixed(3)} (minimum ${full.objectiveOptimum.toFixed(3)})`,
    );
    console.log(
      `  Δ top-1 ${diff >= 0 ? '+' : ''}${diff.toFixed(2)} points, objective rel diff ${((objective - full.objective) / full.objective).toExponential(1)}, ` +
        `time ours/sklearn ${(s1 / full.seconds).toFixed(2)}x` +
        (same ? '' : ` (features recomputed from the same checkpoint, not bit-identical to the reference's: sha256 ${f.header.sha256.slice(0, 12)} vs ${full.sha256.slice(0, 12)})`),
    );
    console.log(cappedLine);
  } else {
    console.log(`  ${ours}`);
    console.log(
      `  sklearn: no figures for these features (${full ? `the reference's are for ${full.source.checkpoint} of ${full.source.run}` : 'the reference has no checkpointFull case'}): ` +
        `rerun /usr/bin/python3 packages/eval/bench/probe-vs-sklearn.py to compare`,
    );
    console.log(cappedLine);
  }
}
if (failed) {
  console.error('FAIL: a test top-1 differs from sklearn by more than 0.5 point');
  process.exitCode = 1;
}
