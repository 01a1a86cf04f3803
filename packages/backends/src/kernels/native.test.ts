/**
 * supcon's own SIMD kernels (native/train_kernels.c) on the single-threaded wasm build, against
 * the cpu backend and hand-computed values. The threaded split is tested in wasm_threads.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers tfjs's stock gradients
import { registerWasmTrainingKernels } from './register';
import { blockBroadcast } from './CastTile';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './BatchNormTraining';
import { batchNormKernelForward, batchNormViaKernels } from './batch_norm_testing';
import { wasmKernelsInfo } from '../index';
import { setTrainKernelsEnabled } from '../native/train_kernels';
import { setWinogradEnabled } from './native_ops';

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** Values of `f()` on cpu and on wasm, with `inputs` made fresh on each backend from the same numbers. */
async function onBoth(
  make: () => tf.Tensor[],
  f: (...ts: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const out: Record<string, Float32Array[]> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const values = tf.tidy(() => {
      const r = f(...make());
      return (Array.isArray(r) ? r : [r]).map((t) => t.dataSync() as Float32Array);
    });
    expect(tf.memory().numTensors).toBe(before);
    out[backend] = values;
  }
  return { cpu: out.cpu!, wasm: out.wasm! };
}

function expectClose(actual: Float32Array, expected: Float32Array, tol = 1e-4, what = ''): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(1, scale));
  if (!(worst <= tol)) throw new Error(`${what}: max relative error ${worst}`);
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
});
afterAll(() => setTrainKernelsEnabled(true));

describe("supcon's native wasm kernels", () => {
  it('are active on the single-threaded wasm build', () => {
    expect(wasmKernelsInfo()).toEqual({ active: true, threads: 1 });
  });

  const convCases: [
    number[],
    number[],
    number | [number, number],
    Pad,
    number | [number, number],
  ][] = [
    [[2, 9, 9, 3], [3, 3, 3, 8], 1, 'same', 1],
    [[1, 7, 10, 5], [3, 3, 5, 12], 2, 'same', 1],
    [[3, 8, 8, 4], [3, 3, 4, 4], 1, 'valid', 1],
    [[2, 11, 9, 6], [3, 2, 6, 16], [2, 3], 'valid', 1],
    [[2, 12, 12, 2], [3, 3, 2, 8], 1, 'same', 2],
    [
      [1, 6, 6, 1],
      [5, 5, 1, 4],
      1,
      [
        [0, 0],
        [1, 2],
        [2, 0],
        [0, 0],
      ],
      1,
    ],
    [[2, 5, 5, 32], [1, 1, 32, 20], 2, 'same', 1],
    [[1, 4, 6, 8], [3, 3, 8, 6], 1, 'same', 1], // outC % 4 != 0: stock kernel
  ];
  it.each(convCases)(
    'Conv2D x=%j f=%j strides=%j pad=%j dilations=%j matches cpu',
    async (xs, fs, s, pad, d) => {
      const { cpu, wasm } = await onBoth(
        () => [rand(xs, 1), rand(fs, 2)],
        (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, s, pad, 'NHWC', d),
      );
      expectClose(wasm[0]!, cpu[0]!, 1e-4, 'conv2d');
    },
  );

  it('fused conv2d with bias and relu (the stock kernel) and without (native) both match cpu', async () => {
    const { cpu, wasm } = await onBoth(
      () => [rand([2, 6, 6, 4], 3), rand([3, 3, 4, 8], 4), rand([8], 5)],
      (x, f, b) => [
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: f as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          bias: b,
          activation: 'relu',
        }),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same' }),
      ],
    );
    expectClose(wasm[0]!, cpu[0]!, 1e-4, 'with bias');
    expectClose(wasm[1]!, cpu[1]!, 1e-4, 'without');
  });

  it('the native and the XNNPACK convolution agree (gradients too)', async () => {
    await tf.setBackend('wasm');
    const run = () =>
      tf.tidy(() => {
        const x = rand([2, 10, 10, 8], 6);
        const f = rand([3, 3, 8, 16], 7);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
        )([x, f]);
        return [dx!.dataSync() as Float32Array, df!.dataSync() as Float32Array];
      });
    const native = run();
    setTrainKernelsEnabled(false);
    const composed = run();
    setTrainKernelsEnabled(true);
    expectClose(native[0]!, composed[0]!, 1e-4, 'dx');
    expectClose(native[1]!, composed[1]!, 1e-4, 'dfilter');
  });

  const winogradCases: [number[], number[], Pad][] = [
    [[2, 7, 9, 4], [3, 3, 4, 8], 'same'],
    [[1, 6, 5, 8], [3, 3, 8, 4], 'valid'],
    [[3, 4, 4, 12], [3, 3, 12, 16], 'same'],
    [[2, 1, 1, 4], [3, 3, 4, 4], 'same'],
    [
      [2, 5, 6, 8],
      [3, 3, 8, 12],
      [
        [0, 0],
        [2, 0],
        [0, 1],
        [0, 0],
      ],
    ],
    [[1, 10, 10, 32], [3, 3, 32, 20], 'same'],
  ];
  it.each(winogradCases)(
    'Winograd F(2x2,3x3): x=%j f=%j pad=%j gives the cpu convolution and both gradients',
    async (xs, fs, pad) => {
      const { cpu, wasm } = await onBoth(
        () => [rand(xs, 31), rand(fs, 32)],
        (x, f) => {
          const conv = (a: tf.Tensor, b: tf.Tensor) =>
            tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad);
          const y = conv(x!, f!);
          const w = rand(y.shape, 33);
          const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), w)))([
            x!,
            f!,
          ]);
          return [y, dx!, df!];
        },
      );
      ['y', 'dx', 'dfilter'].forEach((what, i) => expectClose(wasm[i]!, cpu[i]!, 1e-4, what));
    },
  );

  const phaseCases: [number[], number[], number, Pad][] = [
    [[2, 8, 8, 4], [3, 3, 4, 8], 2, 'valid'],
    [[2, 7, 7, 8], [3, 3, 8, 4], 2, 'same'],
    [[1, 9, 10, 4], [5, 5, 4, 4], 2, 'same'],
    [[2, 11, 9, 4], [3, 3, 4, 4], 3, 'same'],
    [[1, 10, 10, 4], [2, 2, 4, 4], 3, 'valid'], // phases no tap reaches stay zero
    [[2, 8, 9, 4], [1, 3, 4, 8], 2, 'same'],
    [
      [1, 10, 8, 4],
      [4, 4, 4, 4],
      2,
      [
        [0, 0],
        [1, 2],
        [3, 0],
        [0, 0],
      ],
    ],
  ];
  it.each(phaseCases)(
    'strided input gradient written phase by phase in place: x=%j f=%j stride %j pad=%j matches cpu',
    async (xs, fs, s, pad) => {
      const { cpu, wasm } = await onBoth(
        () => [rand(xs, 41), rand(fs, 42)],
        (x, f) => {
          const conv = (a: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, s, pad);
          const w = rand(conv(x!).shape, 43);
          return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(conv(a), w)))(x!);
        },
      );
      expectClose(wasm[0]!, cpu[0]!, 1e-4, 'dx');
    },
  );

  it('Winograd on and off give the same convolution and gradients on wasm (1e-4)', async () => {
    await tf.setBackend('wasm');
    const run = () =>
      tf.tidy(() => {
        const x = rand([4, 12, 12, 16], 34);
        const f = rand([3, 3, 16, 24], 35);
        const conv = (a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same');
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv(a, b))))([
          x,
          f,
        ]);
        return [conv(x, f), dx!, df!].map((t) => t.dataSync() as Float32Array);
      });
    const on = run();
    const previous = setWinogradEnabled(false);
    const off = run();
    setWinogradEnabled(previous);
    on.forEach((v, i) => expectClose(v, off[i]!, 1e-4, `output ${i}`));
  });

  it('Cast to the same dtype shares the data (the copy survives disposing the original)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor([1.5, -2, 3]);
    const before = tf.engine().backend.numDataIds();
    const y = tf.cast(x, 'float32');
    expect(tf.engine().backend.numDataIds()).toBe(before); // no new data
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1.5, -2, 3]);
    const z = tf.cast(y, 'int32');
    expect(Array.from(z.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([y, z]);
  });

  it('blockBroadcast finds one block of repeated size-1 axes', () => {
    expect(blockBroadcast([1, 1, 1, 5], [2, 3, 4, 1])).toEqual([5, 24]);
    expect(blockBroadcast([3, 1, 1, 4], [1, 2, 2, 1])).toEqual([4, 4]);
    expect(blockBroadcast([2, 1, 3], [1, 4, 1])).toEqual([3, 4]);
    expect(blockBroadcast([1, 2, 1], [2, 1, 3])).toBeUndefined(); // size-2 axis inside the block
    expect(blockBroadcast([2, 3], [2, 1])).toBeUndefined(); // repeats an axis that is not 1
    expect(blockBroadcast([2, 3], [1, 1])).toBeUndefined();
  });

  it.each([
    [
      [1, 1, 1, 5],
      [2, 3, 4, 1],
    ],
    [
      [3, 1, 1, 4],
      [1, 2, 2, 1],
    ],
    [
      [2, 1, 3],
      [1, 4, 1],
    ],
    [
      [1, 2, 1],
      [2, 1, 3],
    ],
    [
      [2, 3],
      [3, 2],
    ],
  ])('Tile x=%j reps=%j matches cpu', async (shape, reps) => {
    const { cpu, wasm } = await onBoth(
      () => [rand(shape, 8)],
      (x) => tf.tile(x, reps),
    );
    expect(Array.from(wasm[0]!)).toEqual(Array.from(cpu[0]!));
  });

  it.each([
    [
      [3, 4, 5, 6],
      [0, 1, 2],
    ],
    [
      [3, 4, 5, 6],
      [1, 2],
    ],
    [[7, 5], [0]],
  ])(
    'the Mean gradient of x=%j over axes %j is the upstream gradient / count, broadcast',
    async (shape, axes) => {
      const count = axes.reduce((p, a) => p * shape[a]!, 1);
      for (const backend of ['cpu', 'wasm'] as const) {
        await tf.setBackend(backend);
        tf.tidy(() => {
          const x = rand(shape, 9);
          const reduced = tf.mean(x, axes);
          const w = rand(reduced.shape, 10);
          const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.mean(a, axes), w)))(x);
          const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const expected = tf.div(tf.broadcastTo(tf.reshape(w, keep), shape), count);
          expectClose(
            dx.dataSync() as Float32Array,
            expected.dataSync() as Float32Array,
            1e-6,
            backend,
          );
        });
      }
    },
  );
});

/**
 * The batch-norm kernels by name, as the `batchNormTraining` op of @supcon/backbones runs them
 * (that op, its gradient registration and its fallback are tested there; this package does not
 * import it): forward outputs and gradients against tfjs's own composition on wasm and on cpu.
 */
describe('SupConBatchNormTraining and SupConBatchNormTrainingGrad kernels', () => {
  /** tfjs's own composition (moments, then batchNorm) differentiated by autodiff: the reference. */
  function reference(x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor {
    const axes = [...Array(x.rank - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    return tf.batchNorm(x, mean, variance, b, g, eps);
  }

  it('are registered on wasm only, under the names the op in @supcon/backbones runs', () => {
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'wasm')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAINING_GRAD, 'wasm')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'cpu')).toBeUndefined();
    expect(tf.getKernel(BATCH_NORM_TRAINING_GRAD, 'cpu')).toBeUndefined();
  });

  it.each([[[4, 5, 6, 3]], [[2, 7, 5, 8]], [[3, 4, 4, 33]], [[50, 12]]])(
    'values, statistics and gradients for x=%j match the autodiff of moments + batchNorm (wasm and cpu)',
    async (shape) => {
      const c = shape[shape.length - 1]!;
      const make = () => {
        const x = tf.add(tf.mul(rand(shape, 11), 3), 2);
        const g = rand([c], 12) as tf.Tensor1D;
        const b = rand([c], 13) as tf.Tensor1D;
        const w = rand(shape, 14);
        return { x, g, b, w };
      };
      const eps = 1e-3;
      const loss =
        (w: tf.Tensor, f: typeof reference) => (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(f(a, gg as tf.Tensor1D, bb as tf.Tensor1D, eps), w));
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const ours = tf.tidy(() => {
        const { x, g, b, w } = make();
        const grads = tf.grads(loss(w, batchNormViaKernels))([x, g, b]);
        const [y, mean, variance] = batchNormKernelForward(x, g, b, eps);
        const theirs = tf.grads(loss(w, reference))([x, g, b]);
        const m = tf.moments(x, [...Array(x.rank - 1).keys()]);
        const pairs: [tf.Tensor, tf.Tensor, string][] = [
          [y!, reference(x, g, b, eps), 'y'],
          [mean!, m.mean, 'mean'],
          [variance!, m.variance, 'variance'],
          ...grads.map((t, i) => [t, theirs[i]!, `grad ${i}`] as [tf.Tensor, tf.Tensor, string]),
        ];
        for (const [a, e, what] of pairs)
          expectClose(a.dataSync() as Float32Array, e.dataSync() as Float32Array, 1e-4, what);
        return [y!, ...grads].map((t) => t.dataSync() as Float32Array);
      });
      expect(tf.memory().numTensors).toBe(before);
      await tf.setBackend('cpu');
      const cpu = tf.tidy(() => {
        const { x, g, b, w } = make();
        const grads = tf.grads(loss(w, reference))([x, g, b]);
        return [reference(x, g, b, eps), ...grads].map((t) => t.dataSync() as Float32Array);
      });
      await tf.setBackend('wasm');
      ours.forEach((v, i) => expectClose(v, cpu[i]!, 1e-4, `wasm kernels vs cpu reference ${i}`));
    },
  );

  it('with scale 1 and offset 0 normalise to mean 0, variance 1 per channel', async () => {
    await tf.setBackend('wasm');
    tf.tidy(() => {
      const [y] = batchNormKernelForward(
        tf.add(rand([64, 5], 15), 7),
        tf.ones([5]),
        tf.zeros([5]),
        1e-6,
      );
      const { mean, variance } = tf.moments(y!, 0);
      mean.dataSync().forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-5));
      variance.dataSync().forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-3));
    });
  });
});
