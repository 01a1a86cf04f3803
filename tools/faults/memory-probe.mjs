// Child process of memory.test.ts: trains each procedure (supcon, simclr, cross-entropy) for 200
// steps with the built packages on the wasm backend (one thread), and prints one JSON line per
// procedure with tf.memory() and the wasm heap's size after every step.
//   node tools/faults/memory-probe.mjs <out dir>
import process from 'node:process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { builtinDefaults, builtinPlugins, train } from '@supcon/cli';

const out = process.argv[2];
const PROCEDURES = {
  supcon: { loss: { type: 'supcon-out', temperature: 0.1 }, views: 2 },
  simclr: { loss: { type: 'simclr', temperature: 0.5 }, views: 2 },
  ce: { loss: { type: 'cross-entropy' }, views: 1 },
};

/** The wasm module's memory: it only grows, so a leak of tensor data shows as growth. */
function heapBytes() {
  const backend = tf.backend();
  return backend?.wasm?.HEAPU8?.buffer?.byteLength ?? 0;
}

for (const [name, { loss, views }] of Object.entries(PROCEDURES)) {
  const samples = [];
  const probe = {
    afterStep: (_context, step) => {
      const m = tf.memory();
      samples.push({ globalStep: step.globalStep, numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, numBytes: m.numBytes, heapBytes: heapBytes() });
    },
  };
  // 320 images in batches of 16: 20 steps an epoch, 10 epochs = 200 steps, with epoch ends (the
  // kNN monitor), epoch checkpoints and mid-epoch ones (every 7 steps) along the way.
  const config = {
    name: `memory-${name}`,
    seed: 2,
    backend: 'wasm',
    threads: 1,
    data: { type: 'fashion-mnist-sample', trainSize: 320, testSize: 100 },
    backbone: { type: 'small-cnn', channels: [8, 16] },
    head: { type: 'mlp', dim: 16 },
    augment: { type: 'simclr', scale: [0.6, 1], colorJitter: false, grayscaleProbability: 0 },
    loss,
    optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9 },
    sampler: { type: 'random', dropLast: true },
    train: { epochs: 10, batchSize: 16, views },
    checkpoint: { everySteps: 7 },
    eval: [],
  };
  const started = Date.now();
  await train({
    config,
    plugins: builtinPlugins,
    defaults: builtinDefaults,
    startBackend: (backend) => initBackend(backend, { threads: 1 }),
    out: path.join(out, name),
    progress: false,
    hooks: [probe],
    logger: { info: () => {}, warn: (m) => process.stderr.write(`${m}\n`) },
  });
  process.stdout.write(`${JSON.stringify({ procedure: name, backend: tf.getBackend(), seconds: (Date.now() - started) / 1000, samples })}\n`);
}
