/**
 * The `batchNormTraining` op as tfjs defines ops: it runs a kernel by name, its gradient is
 * registered for that name (explicitly, idempotently, never on import), and it falls back to tf
 * ops on a backend with no such kernel. @supcon/backends (a devDependency, for these tests only)
 * registers the wasm kernels under the same names; any other backend may too.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers tfjs's stock gradients (for the autodiff reference)
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { registerWasmTrainingKernels } from '@supcon/backends';
import {
  BATCH_NORM_TRAINING,
  BATCH_NORM_TRAINING_GRAD,
  batchNormTraining,
  batchNormTrainingGradConfig,
  registerBatchNormTrainingGradient,
} from '../src/index';

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
) {
  expect(actual.length).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / scale);
  if (!(worst <= tol)) throw new Error(`${what}: max relative error ${worst}`);
}

/** tfjs's own composition (moments, then batchNorm) differentiated by autodiff: the reference. */
function reference(x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return tf.batchNorm(x, mean, variance, b, g, eps);
}

/** y, mean, variance and the gradients of sum(y · w) for x, gamma, beta, on the current backend. */
function run(shape: number[], f: typeof batchNormTraining): Float32Array[] {
  const c = shape[shape.length - 1]!;
  return tf.tidy(() => {
    const x = tf.add(tf.mul(rand(shape, 11), 3), 2);
    const g = rand([c], 12) as tf.Tensor1D;
    const b = rand([c], 13) as tf.Tensor1D;
    const w = rand(shape, 14);
    const grads = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(f(a, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-3).y, w)),
    )([x, g, b]);
    const { y, mean, variance } = f(x, g, b, 1e-3);
    return [y, mean, variance, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

const referenceOp: typeof batchNormTraining = (x, g, b, eps) => {
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return {
    y: reference(x, g!, b!, eps),
    mean: mean as tf.Tensor1D,
    variance: variance as tf.Tensor1D,
  };
};

describe('the gradient registration', () => {
  it('importing the package registers nothing; the op registers its gradient when it first runs', async () => {
    await tf.setBackend('cpu');
    expect(tf.getGradient(BATCH_NORM_TRAINING)).toBeUndefined();
    tf.tidy(() => {
      batchNormTraining(tf.ones([2, 3]), undefined, undefined, 1e-3);
    });
    expect(tf.getGradient(BATCH_NORM_TRAINING)).toBe(batchNormTrainingGradConfig);
  });

  it('registerBatchNormTrainingGradient is idempotent and keeps a gradient registered before it', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      registerBatchNormTrainingGradient();
      registerBatchNormTrainingGradient();
      expect(tf.getGradient(BATCH_NORM_TRAINING)).toBe(batchNormTrainingGradConfig);
      expect(warn).not.toHaveBeenCalled(); // tfjs warns when a gradient is overridden
      tf.unregisterGradient(BATCH_NORM_TRAINING);
      const other = { ...batchNormTrainingGradConfig };
      tf.registerGradient(other);
      registerBatchNormTrainingGradient();
      expect(tf.getGradient(BATCH_NORM_TRAINING)).toBe(other);
      tf.unregisterGradient(BATCH_NORM_TRAINING);
      registerBatchNormTrainingGradient();
      expect(tf.getGradient(BATCH_NORM_TRAINING)).toBe(batchNormTrainingGradConfig);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('batchNormTraining', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
  });

  it('runs the kernels @supcon/backends registers on wasm under its names, and none on cpu', async () => {
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'wasm')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAINING_GRAD, 'wasm')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'cpu')).toBeUndefined();
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      const { kernelNames } = await tf.profile(() => run([4, 3, 3, 5], batchNormTraining) && []);
      expect(kernelNames.includes(BATCH_NORM_TRAINING)).toBe(backend === 'wasm');
      expect(kernelNames.includes(BATCH_NORM_TRAINING_GRAD)).toBe(backend === 'wasm');
    }
  });

  it.each([[[4, 5, 6, 3]], [[2, 7, 5, 8]], [[3, 4, 4, 33]], [[50, 12]]])(
    'values, statistics and gradients for x=%j match the autodiff of moments + batchNorm, on cpu (tf ops) and wasm (kernels)',
    async (shape) => {
      const results: Record<string, Float32Array[]> = {};
      for (const backend of ['cpu', 'wasm'] as const) {
        await tf.setBackend(backend);
        const before = tf.memory().numTensors;
        results[backend] = run(shape, batchNormTraining);
        const expected = run(shape, referenceOp);
        expect(tf.memory().numTensors).toBe(before);
        const what = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
        results[backend].forEach((v, i) =>
          expectClose(v, expected[i]!, 1e-4, `${backend} ${what[i]}`),
        );
      }
      results.wasm!.forEach((v, i) => expectClose(v, results.cpu![i]!, 1e-4, `wasm vs cpu ${i}`));
    },
  );

  it('without gamma and beta normalises to mean 0, variance 1 per channel', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      tf.tidy(() => {
        const { y } = batchNormTraining(tf.add(rand([64, 5], 15), 7), undefined, undefined, 1e-6);
        const { mean, variance } = tf.moments(y, 0);
        mean.dataSync().forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-5));
        variance.dataSync().forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-3));
      });
    }
  });

  it('meets any backend by name: a cpu kernel registered under BATCH_NORM_TRAINING is run, with the registered gradient', async () => {
    await tf.setBackend('cpu');
    const composed = run([3, 4, 5], batchNormTraining);
    // A plain-JavaScript forward kernel (no gradient kernel: the gradient falls back to tf ops).
    let calls = 0;
    const kernelFunc: tf.KernelFunc = ({ inputs, attrs, backend }) => {
      calls++;
      const cpu = backend as MathBackendCPU;
      const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
      const { epsilon } = attrs as unknown as { epsilon: number };
      const xv = cpu.readSync(x!.dataId) as Float32Array;
      const [gv, bv] = [scale!, offset!].map((t) => cpu.readSync(t.dataId) as Float32Array);
      const c = x!.shape[x!.shape.length - 1]!;
      const rows = xv.length / c;
      const mean = new Float32Array(c);
      const variance = new Float32Array(c);
      for (let i = 0; i < xv.length; i++) mean[i % c] += xv[i]! / rows;
      for (let i = 0; i < xv.length; i++) variance[i % c] += (xv[i]! - mean[i % c]!) ** 2 / rows;
      const y = xv.map(
        (v, i) =>
          ((v - mean[i % c]!) / Math.sqrt(variance[i % c]! + epsilon)) * gv![i % c]! + bv![i % c]!,
      );
      return [
        cpu.makeTensorInfo(x!.shape, 'float32', y),
        cpu.makeTensorInfo([c], 'float32', mean),
        cpu.makeTensorInfo([c], 'float32', variance),
      ];
    };
    tf.registerKernel({ kernelName: BATCH_NORM_TRAINING, backendName: 'cpu', kernelFunc });
    try {
      const before = tf.memory().numTensors;
      const viaKernel = run([3, 4, 5], batchNormTraining);
      expect(tf.memory().numTensors).toBe(before);
      expect(calls).toBe(2);
      const what = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
      viaKernel.forEach((v, i) => expectClose(v, composed[i]!, 1e-5, what[i]!));
    } finally {
      tf.unregisterKernel(BATCH_NORM_TRAINING, 'cpu');
    }
  });
});
