/**
 * The same seeds give the same weights, bit for bit: a few SGD-with-momentum steps of a small
 * ResNet (and an MLP, rank-2 batch norm) with a linear head, on wasm with supcon's native kernels
 * and on cpu (the composed fallback), against weights recorded in fixtures/train-steps.json.
 * The fixture was recorded before the batch-norm op moved from @supcon/backends into this package
 * (`RECORD_TRAIN_STEPS=1 npx jest -c packages/backbones/jest.config.cjs train-steps` rewrites it).
 * @supcon/backends is a devDependency here only, for the wasm kernels (the package itself does not
 * depend on it).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from '@supcon/backends';
import { createContrastiveModel, mlp, projectionHead, smallResNet } from '../src/index';

const FIXTURE = path.join(__dirname, 'fixtures', 'train-steps.json');
const RECORD = process.env.RECORD_TRAIN_STEPS === '1';
const STEPS = 3;

interface Run {
  losses: number[];
  weights: { name: string; shape: number[]; sha256: string }[];
}
type Fixture = Record<string, Run>;

function seeds(start: number): () => number {
  let s = start >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

function train(kind: 'small-resnet' | 'mlp'): Run {
  const inputShape = kind === 'mlp' ? [12] : [8, 8, 3];
  const encoder =
    kind === 'mlp'
      ? mlp({ inputShape, hidden: [16, 8], seed: seeds(7) })
      : smallResNet({ inputShape, channels: [8, 16], seed: seeds(7) });
  const dim = encoder.outputs[0]!.shape[1] as number;
  const head = projectionHead({ type: 'mlp', inputDim: dim, dim: 4, seed: seeds(8) });
  const { model } = createContrastiveModel(encoder, head);
  const x = tf.randomNormal([6, ...inputShape], 0, 1, 'float32', 11);
  const target = tf.randomNormal([6, 4], 0, 1, 'float32', 12);
  const opt = tf.train.momentum(0.1, 0.9);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const loss = opt.minimize(
      () =>
        tf.mean(
          tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, target)),
        ) as tf.Scalar,
      true,
      vars,
    )!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  const weights = model.weights.map((w) => {
    const values = w.read().dataSync() as Float32Array;
    return {
      name: w.originalName.split('/').pop()!, // without the layer's global counter
      shape: [...w.shape] as number[],
      sha256: createHash('sha256')
        .update(Buffer.from(values.buffer, values.byteOffset, values.byteLength))
        .digest('hex'),
    };
  });
  tf.dispose([x, target]);
  opt.dispose();
  model.dispose();
  return { losses, weights };
}

const recorded: Fixture = {};

describe.each(['cpu', 'wasm'] as const)('training steps on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    if (backend === 'wasm') {
      registerWasmTrainingKernels();
      // the native batch-norm kernels, under the names the op in src/batch-norm-op.ts runs
      expect(tf.getKernel('SupConBatchNormTraining', 'wasm')).toBeDefined();
      expect(tf.getKernel('SupConBatchNormTrainingGrad', 'wasm')).toBeDefined();
    }
  });

  it.each(['small-resnet', 'mlp'] as const)('%s: the same weights, bit for bit', (kind) => {
    const run = train(kind);
    const key = `${backend}/${kind}`;
    if (RECORD) {
      recorded[key] = run;
      return;
    }
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
    expect(run).toEqual(fixture[key]);
  });
});

afterAll(() => {
  if (!RECORD) return;
  // One weight a line, so that a change shows as a readable diff.
  const runs = Object.entries(recorded).map(
    ([key, run]) =>
      `  ${JSON.stringify(key)}: {\n    "losses": ${JSON.stringify(run.losses)},\n    "weights": [\n${run.weights
        .map((w) => `      ${JSON.stringify(w)}`)
        .join(',\n')}\n    ]\n  }`,
  );
  writeFileSync(FIXTURE, `{\n${runs.join(',\n')}\n}\n`);
  void tfl; // tfjs-layers registers tfjs's stock gradients
});
