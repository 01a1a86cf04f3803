import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers'; // also registers tfjs's stock gradients (the core CJS bundle does not)
import { registerWasmTrainingKernels } from './register';
import { fusedBatchNormGradConfig } from './FusedBatchNorm_grad';
import { setConv2dBackpropFilterStrategy, setIm2colMaxFloats } from './Conv2DBackpropFilter';
import { isChannelReduction } from './ChannelReduce';
import { gatherSlices, gatherV2Config } from './GatherRows';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];
type Shape4 = [number, number, number, number];

/** Deterministic pseudo-random floats in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Runs `kernel` on `backend` with plain arrays as inputs; returns the output values and shape. */
async function runOn(
  backend: 'cpu' | 'wasm',
  kernel: string,
  inputs: Record<string, { shape: number[]; values: Float32Array }>,
  attrs: Record<string, unknown>,
): Promise<{ values: Float32Array; shape: number[]; leaked: number }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const ts = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]),
  );
  const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  const shape = out.shape;
  out.dispose();
  Object.values(ts).forEach((t) => t.dispose());
  return { values, shape, leaked: tf.memory().numTensors - before };
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, scale);
    worst = Math.max(worst, err);
  }
  if (worst > 1e-4) throw new Error(`${what}: max relative error ${worst}`);
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

interface ConvCase {
  x: Shape4;
  k: [number, number];
  co: number;
  strides: [number, number];
  pad: Pad;
}
const convCases: ConvCase[] = [
  { x: [1, 5, 5, 1], k: [3, 3], co: 1, strides: [1, 1], pad: 'same' },
  { x: [2, 7, 6, 3], k: [3, 3], co: 4, strides: [1, 1], pad: 'valid' },
  { x: [3, 8, 8, 4], k: [3, 3], co: 5, strides: [2, 2], pad: 'same' },
  { x: [2, 9, 7, 2], k: [3, 2], co: 3, strides: [2, 3], pad: 'valid' },
  { x: [1, 8, 9, 3], k: [5, 5], co: 2, strides: [1, 1], pad: 'same' },
  { x: [2, 8, 8, 3], k: [1, 1], co: 6, strides: [2, 2], pad: 'valid' },
  { x: [2, 7, 7, 4], k: [1, 1], co: 3, strides: [2, 2], pad: 'same' },
  {
    x: [1, 7, 6, 2],
    k: [1, 1],
    co: 2,
    strides: [3, 2],
    pad: [
      [0, 0],
      [1, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [2, 10, 9, 2], k: [4, 3], co: 3, strides: [3, 2], pad: 'same' },
  {
    x: [2, 6, 7, 3],
    k: [3, 3],
    co: 2,
    strides: [1, 1],
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    x: [1, 9, 8, 2],
    k: [3, 3],
    co: 3,
    strides: [2, 2],
    pad: [
      [0, 0],
      [2, 0],
      [1, 1],
      [0, 0],
    ],
  },
  { x: [4, 6, 6, 8], k: [2, 2], co: 8, strides: [2, 2], pad: 1 },
  { x: [5, 4, 4, 16], k: [3, 3], co: 7, strides: [1, 1], pad: 'same' },
  // Equal strides take the phase-split input gradient: even and odd sizes, taps per phase 0..3.
  { x: [2, 8, 8, 3], k: [3, 3], co: 4, strides: [2, 2], pad: 'valid' },
  { x: [2, 7, 7, 3], k: [3, 3], co: 4, strides: [2, 2], pad: 'same' },
  { x: [1, 9, 10, 2], k: [5, 5], co: 3, strides: [2, 2], pad: 'same' },
  { x: [2, 11, 9, 2], k: [3, 3], co: 2, strides: [3, 3], pad: 'same' },
  { x: [1, 10, 10, 2], k: [2, 2], co: 3, strides: [3, 3], pad: 'valid' },
  { x: [2, 8, 9, 3], k: [1, 3], co: 2, strides: [2, 2], pad: 'same' },
  {
    x: [1, 10, 8, 2],
    k: [4, 4],
    co: 3,
    strides: [2, 2],
    pad: [
      [0, 0],
      [1, 2],
      [3, 0],
      [0, 0],
    ],
  },
];

describe('Conv2DBackpropInput / Conv2DBackpropFilter on wasm match cpu', () => {
  convCases.forEach((c, idx) => {
    const name = `x=${c.x.join('x')} k=${c.k.join('x')} co=${c.co} s=${c.strides.join(',')} pad=${JSON.stringify(c.pad)}`;
    const fShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.co];
    const out = tf.backend_util.computeConv2DInfo(c.x, fShape, c.strides, 1, c.pad);
    const dyShape = out.outShape;
    const x = { shape: c.x, values: rand(size(c.x), 11 + idx) };
    const filter = { shape: fShape, values: rand(size(fShape), 101 + idx) };
    const dy = { shape: dyShape, values: rand(size(dyShape), 1001 + idx) };
    const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };

    it(`input gradient, ${name}`, async () => {
      const attrs = { ...common, inputShape: c.x };
      const ref = await runOn('cpu', 'Conv2DBackpropInput', { dy, filter }, attrs);
      const got = await runOn('wasm', 'Conv2DBackpropInput', { dy, filter }, attrs);
      expect(got.shape).toEqual(c.x);
      expect(got.leaked).toBe(0);
      expectClose(got.values, ref.values, name);
    });

    it(`filter gradient, ${name}`, async () => {
      const attrs = { ...common, filterShape: fShape };
      const ref = await runOn('cpu', 'Conv2DBackpropFilter', { x, dy }, attrs);
      const got = await runOn('wasm', 'Conv2DBackpropFilter', { x, dy }, attrs);
      expect(got.shape).toEqual(fShape);
      expect(got.leaked).toBe(0);
      expectClose(got.values, ref.values, name);
      // The im2col variant, with the im2col buffer limited to about one image: the batch is split into chunks.
      const previous = setIm2colMaxFloats((size(fShape) * size(dyShape.slice(1, 3))) / c.co);
      const previousStrategy = setConv2dBackpropFilterStrategy('im2col');
      try {
        const chunked = await runOn('wasm', 'Conv2DBackpropFilter', { x, dy }, attrs);
        expect(chunked.leaked).toBe(0);
        expectClose(chunked.values, ref.values, `${name} (chunked)`);
      } finally {
        setIm2colMaxFloats(previous);
        setConv2dBackpropFilterStrategy(previousStrategy);
      }
    });
  });
});

interface DwCase {
  x: Shape4;
  k: [number, number];
  m: number;
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
}
const dwCases: DwCase[] = [
  { x: [1, 6, 6, 2], k: [3, 3], m: 1, strides: [1, 1], dilations: [1, 1], pad: 'same' },
  { x: [2, 7, 8, 3], k: [3, 3], m: 2, strides: [2, 2], dilations: [1, 1], pad: 'valid' },
  { x: [2, 9, 9, 2], k: [3, 3], m: 1, strides: [1, 1], dilations: [2, 2], pad: 'same' },
  { x: [3, 10, 8, 4], k: [2, 3], m: 3, strides: [1, 1], dilations: [2, 1], pad: 'valid' },
  { x: [2, 8, 7, 3], k: [3, 3], m: 1, strides: [2, 2], dilations: [1, 1], pad: 'same' },
  {
    x: [1, 7, 7, 2],
    k: [3, 2],
    m: 2,
    strides: [1, 1],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [1, 0],
      [2, 1],
      [0, 0],
    ],
  },
];

/** Both depthwise gradients by scattering the forward definition (handles dilations, which tfjs's cpu kernels ignore). */
function naiveDepthwiseGrads(
  c: DwCase,
  x: Float32Array,
  f: Float32Array,
  dy: Float32Array,
  info: tf.backend_util.Conv2DInfo,
) {
  const [n, h, w, ci] = c.x;
  const [kh, kw] = c.k;
  const m = c.m;
  const {
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
  } = info;
  const dx = new Float32Array(x.length);
  const df = new Float32Array(f.length);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const ih = r * sh + i * dh - info.padInfo.top;
            const iw = q * sw + j * dw - info.padInfo.left;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            for (let ch = 0; ch < ci; ch++)
              for (let k = 0; k < m; k++) {
                const g = dy[((b * oh + r) * ow + q) * ci * m + ch * m + k]!;
                const xi = ((b * h + ih) * w + iw) * ci + ch;
                const fi = ((i * kw + j) * ci + ch) * m + k;
                dx[xi] += g * f[fi]!;
                df[fi] += g * x[xi]!;
              }
          }
  return { dx, df };
}

describe('DepthwiseConv2dNative gradients on wasm match cpu and a naive loop', () => {
  dwCases.forEach((c, idx) => {
    const name = `x=${c.x.join('x')} k=${c.k.join('x')} m=${c.m} s=${c.strides.join(',')} d=${c.dilations.join(',')} pad=${JSON.stringify(c.pad)}`;
    const fShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.m];
    const info = tf.backend_util.computeConv2DInfo(
      c.x,
      fShape,
      c.strides,
      c.dilations,
      c.pad,
      undefined,
      true,
    );
    const x = { shape: c.x, values: rand(size(c.x), 7 + idx) };
    const filter = { shape: fShape, values: rand(size(fShape), 77 + idx) };
    const dy = { shape: info.outShape, values: rand(size(info.outShape), 777 + idx) };
    const common = { strides: c.strides, dilations: c.dilations, pad: c.pad };

    it(`input gradient, ${name}`, async () => {
      const attrs = { ...common, inputShape: c.x };
      const got = await runOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs);
      expect(got.shape).toEqual(c.x);
      expect(got.leaked).toBe(0);
      expectClose(
        got.values,
        naiveDepthwiseGrads(c, x.values, filter.values, dy.values, info).dx,
        name,
      );
      if (c.dilations[0] === 1 && c.dilations[1] === 1) {
        const ref = await runOn('cpu', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs);
        expectClose(got.values, ref.values, name);
      }
    });

    it(`filter gradient, ${name}`, async () => {
      const attrs = { ...common, filterShape: fShape };
      const got = await runOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs);
      expect(got.shape).toEqual(fShape);
      expect(got.leaked).toBe(0);
      expectClose(
        got.values,
        naiveDepthwiseGrads(c, x.values, filter.values, dy.values, info).df,
        name,
      );
      if (c.dilations[0] === 1 && c.dilations[1] === 1) {
        const ref = await runOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs);
        expectClose(got.values, ref.values, name);
      }
    });
  });
});

describe('Sum and Mean over every axis but the last (channel reductions) on wasm match cpu', () => {
  const cases: { shape: number[]; axis: number[] | number; keepDims: boolean }[] = [
    { shape: [3, 5, 4, 7], axis: [0, 1, 2], keepDims: false },
    { shape: [3, 5, 4, 7], axis: [2, 0, 1], keepDims: true },
    { shape: [3, 5, 4, 7], axis: [-4, -3, -2], keepDims: false },
    { shape: [1000, 33], axis: [0], keepDims: false },
    { shape: [1000, 33], axis: 0, keepDims: true },
    // Row counts that are not a multiple of 4 (the kernel sums four rows per pass), and fewer than 4.
    { shape: [3, 3, 3, 5], axis: [0, 1, 2], keepDims: false },
    { shape: [2, 1, 1, 4], axis: [0, 1, 2], keepDims: false },
    // Not channel reductions: the stock kernels.
    { shape: [3, 5, 4, 7], axis: [1, 2], keepDims: false },
    { shape: [3, 5, 4, 7], axis: [3], keepDims: true },
    { shape: [3, 5, 4, 7], axis: [0, 1, 2, 3], keepDims: false },
    { shape: [6], axis: [0], keepDims: false },
  ];
  for (const kernel of ['Sum', 'Mean'] as const) {
    cases.forEach((c, idx) => {
      it(`${kernel} x=${c.shape.join('x')} axis=${JSON.stringify(c.axis)} keepDims=${c.keepDims}`, async () => {
        const x = { shape: c.shape, values: rand(size(c.shape), 7 + idx) };
        const attrs = { axis: c.axis, keepDims: c.keepDims };
        const ref = await runOn('cpu', kernel, { x }, attrs);
        const got = await runOn('wasm', kernel, { x }, attrs);
        expect(got.shape).toEqual(ref.shape);
        expectClose(got.values, ref.values, `${kernel} ${JSON.stringify(c)}`);
        expect(got.leaked).toBe(0);
      });
    });
  }

  it('takes the in-place path exactly for float32 reductions over axes 0..rank-2', () => {
    const info = (shape: number[], dtype: 'float32' | 'int32' = 'float32') =>
      ({ dataId: {}, shape, dtype }) as unknown as tf.TensorInfo;
    expect(isChannelReduction(info([2, 3, 4]), [0, 1])).toBe(true);
    expect(isChannelReduction(info([2, 3, 4]), [-3, -2])).toBe(true);
    expect(isChannelReduction(info([2, 3, 4]), [0, 2])).toBe(false);
    expect(isChannelReduction(info([2, 3, 4]), [0])).toBe(false);
    expect(isChannelReduction(info([2, 3, 4], 'int32'), [0, 1])).toBe(false);
    expect(isChannelReduction(info([5]), [0])).toBe(false);
  });

  it('int32 sums keep the stock kernel', async () => {
    await tf.setBackend('wasm');
    const t = tf.tensor2d(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [3, 2],
      'int32',
    );
    const s = tf.sum(t, 0);
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([9, 12]);
    tf.dispose([t, s]);
  });
});

describe('Identity on wasm shares the data instead of copying it', () => {
  it('clones keep their values when the original is disposed or a variable is reassigned; no leaks', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const dataIds = () => tf.engine().backend.numDataIds();
    const idsBefore = dataIds();
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const c = tf.clone(x);
    // Shared: the clone is a second tensor on the same data in the wasm heap.
    expect(dataIds() - idsBefore).toBe(1);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(c.shape).toEqual([2, 3]);
    const initial = tf.tensor1d([7, 8]);
    const v = tf.variable(initial);
    const snapshot = tf.clone(v);
    const next = tf.tensor1d([9, 10]);
    v.assign(next);
    expect(Array.from(snapshot.dataSync())).toEqual([7, 8]);
    expect(Array.from(v.dataSync())).toEqual([9, 10]);
    tf.dispose([c, v, snapshot, initial, next]);
    expect(tf.memory().numTensors).toBe(before);
    expect(dataIds()).toBe(idsBefore);
  });
});

describe('GatherV2 on wasm copies slices of the heap', () => {
  // [x shape, indices, axis]: rows of images, a middle axis, repeated and out-of-order indices,
  // a slice too short for the heap copies (the stock kernel), and a 2-D index tensor.
  const cases: [number[], number[], number[], number][] = [
    [[6, 4, 4, 1], [5, 0, 0, 3], [4], 0],
    [[3, 5, 20], [4, 1, 2, 2, 0], [5], 1],
    [[3, 5, 20], [4, 1], [2], -2],
    [[4, 3], [1, 0, 3], [3], 0],
    [[5, 2, 16], [0, 4, 1, 3], [2, 2], 0],
  ];
  it.each(cases)('x %j, indices %j (shape %j), axis %d: the cpu backend\'s values, both dtypes', async (shape, idx, idxShape, axis) => {
    for (const dtype of ['float32', 'int32'] as const) {
      const values = Array.from(rand(size(shape), 13), (v) => (dtype === 'int32' ? Math.round(v * 1000) : v));
      const results: { values: number[]; shape: number[] }[] = [];
      for (const backend of ['cpu', 'wasm'] as const) {
        await tf.setBackend(backend);
        const before = tf.memory().numTensors;
        const x = tf.tensor(values, shape, dtype);
        const i = tf.tensor(idx, idxShape, 'int32');
        const out = tf.gather(x, i, axis);
        expect(out.dtype).toBe(dtype);
        results.push({ values: Array.from(await out.data()), shape: out.shape });
        tf.dispose([x, i, out]);
        expect(tf.memory().numTensors).toBe(before);
      }
      expect(results[1]).toEqual(results[0]);
    }
  });

  it('refuses an index out of range with the stock message', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([3, 16]);
    const i = tf.tensor1d([0, 3], 'int32');
    expect(() => tf.gather(x, i)).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    tf.dispose([x, i]);
  });

  it('copies image rows (slices of 784 values) itself and leaves short slices to the stock kernel', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    expect(tf.getKernel('GatherV2', 'wasm')!.kernelFunc).toBe(gatherV2Config.kernelFunc);
    const short = tf.zeros([4, 3]);
    const i0 = tf.tensor1d([1], 'int32');
    expect(gatherSlices({ inputs: { x: short, indices: i0 }, attrs: { axis: 0, batchDims: 0 }, backend })).toBeUndefined();
    tf.dispose([short, i0]);
    const x = tf.randomUniform([50, 28, 28, 1], 0, 1, 'float32', 3);
    const i = tf.tensor1d([49, 0, 7], 'int32');
    const info = gatherSlices({ inputs: { x, indices: i }, attrs: { axis: 0, batchDims: 0 }, backend })!;
    const out = tf.engine().makeTensorFromTensorInfo(info);
    expect(out.shape).toEqual([3, 28, 28, 1]);
    const all = (await x.data()) as Float32Array;
    const got = (await out.data()) as Float32Array;
    [49, 0, 7].forEach((r, k) => expect(Buffer.from(got.slice(k * 784, (k + 1) * 784).buffer).equals(Buffer.from(all.slice(r * 784, (r + 1) * 784).buffer))).toBe(true));
    tf.dispose([x, i, out]);
  });
});

describe('FusedBatchNorm gradient', () => {
  it('matches finite differences of a batch-norm loss (cpu)', async () => {
    await tf.setBackend('cpu');
    const shape: Shape4 = [2, 3, 3, 4];
    const xv = tf.tensor(rand(size(shape), 5), shape);
    const mean = tf.tensor1d([0.1, -0.2, 0.05, 0.3]);
    const variance = tf.tensor1d([0.5, 1.2, 0.8, 2.0]);
    const scale = tf.tensor1d([1.5, -0.7, 0.9, 1.1]);
    const offset = tf.tensor1d([0.2, 0.0, -0.4, 0.1]);
    const w = tf.tensor(rand(size(shape), 9), shape);
    const loss = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      tf.sum(tf.mul(tf.batchNorm(a as tf.Tensor4D, m, v, o, s, 1e-3), w));
    const before = tf.memory().numTensors;
    const grads = tf.grads(loss)([xv, mean, variance, scale, offset]);
    expect(tf.memory().numTensors - before).toBe(5);
    const args = [xv, mean, variance, scale, offset];
    for (let a = 0; a < args.length; a++) {
      const base = await args[a]!.data();
      const g = await grads[a]!.data();
      for (const i of [0, 1, 2, base.length - 1]) {
        const eps = 1e-2;
        const plus = Float32Array.from(base);
        plus[i] += eps;
        const minus = Float32Array.from(base);
        minus[i] -= eps;
        const f = (vals: Float32Array) =>
          tf.tidy(() => {
            const xs = args.map((t, k) => (k === a ? tf.tensor(vals, t.shape) : t));
            return loss(xs[0]!, xs[1]!, xs[2]!, xs[3]!, xs[4]!).dataSync()[0]!;
          });
        const fd = (f(plus) - f(minus)) / (2 * eps);
        expect(Math.abs(g[i]! - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
      }
    }
    tf.dispose([...grads, xv, mean, variance, scale, offset, w]);
  });

  it('gives the stock gradient of tf.layers-style training batch norm on wasm (vs cpu stock)', async () => {
    const shape: Shape4 = [4, 5, 5, 6];
    const xs = rand(size(shape), 3);
    const ws = rand(size(shape), 4);
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const x = tf.tensor(xs, shape);
      const w = tf.tensor(ws, shape);
      const gamma = tf.tensor1d([1, 2, 0.5, -1, 0.3, 1.2]);
      const before = tf.memory().numTensors;
      const [gx, gg] = tf.grads((a: tf.Tensor, g: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.sum(
          tf.mul(tf.batchNorm(a as tf.Tensor4D, mean, variance, tf.zerosLike(g), g, 1e-3), w),
        );
      })([x, gamma]);
      expect(tf.memory().numTensors - before).toBe(2);
      const out = [await gx!.data(), await gg!.data()] as Float32Array[];
      tf.dispose([x, w, gamma, gx!, gg!]);
      return out;
    };
    const got = await run('wasm');
    const cpu = await run('cpu');
    expectClose(got[0]!, cpu[0]!, 'dx wasm vs cpu');
    // Reference: the same derivative by a naive JS loop (batch-norm backward in closed form).
    const [n, h, wd, c] = shape;
    const p = n * h * wd;
    const gamma = [1, 2, 0.5, -1, 0.3, 1.2];
    const refX = new Float32Array(size(shape));
    const refG = new Float32Array(c);
    for (let ch = 0; ch < c; ch++) {
      let mu = 0;
      for (let i = 0; i < p; i++) mu += xs[i * c + ch]!;
      mu /= p;
      let v = 0;
      for (let i = 0; i < p; i++) v += (xs[i * c + ch]! - mu) ** 2;
      v /= p;
      const inv = 1 / Math.sqrt(v + 1e-3);
      let sdy = 0;
      let sdyx = 0;
      for (let i = 0; i < p; i++) {
        const xh = (xs[i * c + ch]! - mu) * inv;
        sdy += ws[i * c + ch]!;
        sdyx += ws[i * c + ch]! * xh;
      }
      refG[ch] = sdyx;
      for (let i = 0; i < p; i++) {
        const xh = (xs[i * c + ch]! - mu) * inv;
        refX[i * c + ch] = ((gamma[ch]! * inv) / p) * (p * ws[i * c + ch]! - sdy - xh * sdyx);
      }
    }
    expectClose(got[0]!, refX, 'dx');
    expectClose(got[1]!, refG, 'dgamma');
    expect(fusedBatchNormGradConfig.kernelName).toBe('FusedBatchNorm');
  });
});

describe('wasm heap guard', () => {
  it('names the 4 GiB limit instead of corrupting memory on a too-large tensor', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    // 1.1e9 float32 = 4.4 GB: past the wasm32 heap (without the guard the size wraps to ~105 MB).
    expect(() => tf.fill([1100, 1000, 1000], 0)).toThrow(
      /out of memory allocating 4196 MiB .*limit 4096 MiB.*batch size/,
    );
    expect(tf.memory().numTensors).toBe(before);
    // The backend still works afterwards.
    const sum = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
    expect(Array.from(await sum.data())).toEqual([3]);
    sum.dispose();
  });
});

describe('a residual conv-BN-ReLU network trains on wasm', () => {
  it('gives the cpu backend gradients for every weight (strided, 1x1 shortcut, batch norm)', async () => {
    await tf.setBackend('cpu');
    const input = tfl.input({ shape: [8, 8, 2] });
    const conv = (filters: number, kernelSize: number, strides: number) =>
      tfl.layers.conv2d({
        filters,
        kernelSize,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: filters * 10 + kernelSize }),
      });
    const bn = () => tfl.layers.batchNormalization({ axis: -1, epsilon: 1e-3 });
    const stem = tfl.layers
      .reLU()
      .apply(bn().apply(conv(4, 3, 1).apply(input))) as tfl.SymbolicTensor;
    const a = tfl.layers.reLU().apply(bn().apply(conv(6, 3, 2).apply(stem)));
    const b = bn().apply(conv(6, 3, 1).apply(a));
    const short = bn().apply(conv(6, 1, 2).apply(stem));
    const sum = tfl.layers.reLU().apply(tfl.layers.add().apply([b, short] as tfl.SymbolicTensor[]));
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(sum);
    const out = tfl.layers
      .dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) })
      .apply(pooled) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const xs = rand(4 * 8 * 8 * 2, 42);
    const gradsOn = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const x = tf.tensor(xs, [4, 8, 8, 2]);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
      );
      expect(tf.memory().numTensors - before).toBe(1 + Object.keys(grads).length);
      const values = Object.fromEntries(
        await Promise.all(
          Object.entries(grads).map(
            async ([k, g]) => [k, (await g.data()) as Float32Array] as const,
          ),
        ),
      );
      const loss = (await value.data())[0]!;
      tf.dispose([x, value, ...Object.values(grads)]);
      return { values, loss };
    };
    const ref = await gradsOn('cpu');
    const got = await gradsOn('wasm');
    expect(Object.keys(got.values).sort()).toEqual(Object.keys(ref.values).sort());
    expect(Object.keys(got.values).length).toBeGreaterThanOrEqual(12);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.loss)));
    for (const k of Object.keys(ref.values)) expectClose(got.values[k]!, ref.values[k]!, k);
    model.dispose();
  });
});

describe('bad input', () => {
  it('names the kernel, dy shape and the expected shape', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.zeros([2, 6, 6, 3]);
    const dy = tf.zeros([2, 5, 5, 4]);
    expect(() =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x, dy },
          { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] },
        ),
    ).toThrow(
      'Conv2DBackpropFilter (wasm): dy has shape [2, 5, 5, 4], expected [2, 6, 6, 4] (input [2, 6, 6, 3], filter [3, 3, 3, 4])',
    );
    const w = tf.zeros([3, 3, 3, 4]);
    expect(() =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropInput',
          { dy, filter: w },
          { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 6, 6, 3] },
        ),
    ).toThrow(/NCHW/);
    tf.dispose([x, dy, w]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
