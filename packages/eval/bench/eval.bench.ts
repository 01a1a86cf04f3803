/**
 * Throughput of the evaluation pieces on synthetic data (tfjs cpu backend).
 * Run: npm run bench -w packages/eval   (build @supcon/core and @supcon/eval first)
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRng } from '@supcon/core';
import { CORRUPTIONS, clusteringNmi, corruptImages, evaluateKnn, evaluateLinearProbe, retrievalMetrics } from '@supcon/eval';

function time(label: string, fn: () => unknown, items: number, unit: string): void {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(40)} ${ms.toFixed(0).padStart(7)} ms  ${((items / ms) * 1000).toFixed(0).padStart(8)} ${unit}/s`);
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const rng = createRng(0);
  for (const [h, w, c] of [
    [28, 28, 1],
    [32, 32, 3],
  ] as const) {
    const n = 200;
    const images = Uint8Array.from({ length: n * h * w * c }, () => rng.int(256));
    for (const name of CORRUPTIONS) time(`corrupt ${name} ${h}x${w}x${c} s3`, () => corruptImages(name, images, [h, w, c], 3, rng.fork(name)), n, 'img');
  }
  const nTrain = 5000;
  const nTest = 1000;
  const dim = 128;
  const classes = 10;
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.normal()));
  const make = (n: number): [tf.Tensor2D, number[]] => {
    const y = Array.from({ length: n }, (_, i) => i % classes);
    const x = y.map((c) => (centres[c] as number[]).map((v) => v + 2 * rng.normal()));
    return [tf.tensor2d(x), y];
  };
  const [xtr, ytr] = make(nTrain);
  const [xte, yte] = make(nTest);
  time(`kNN k=200 ${nTest} x ${nTrain} x ${dim}`, () => evaluateKnn(xtr, ytr, xte, yte), nTest, 'query');
  time(`retrieval leave-one-out ${nTest} x ${dim}`, () => retrievalMetrics(xte, yte), nTest, 'query');
  time(`k-means+NMI ${nTest} x ${dim}, 3 restarts`, () => clusteringNmi(xte, yte, createRng(1)), nTest, 'point');
  time(`linear probe sgd ${nTrain} x ${dim}, 10 epochs`, () => evaluateLinearProbe(xtr, ytr, xte, yte, createRng(2), { solver: 'sgd', epochs: 10 }), nTrain * 10, 'sample');
  time(`linear probe lbfgs ${nTrain} x ${dim} (default)`, () => evaluateLinearProbe(xtr, ytr, xte, yte, createRng(2)), nTrain, 'sample');
  tf.dispose([xtr, xte]);
}

void main();
