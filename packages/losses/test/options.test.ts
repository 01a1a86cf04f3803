/**
 * supConLoss beyond the batch's own samples and labels: memory (extra contrast samples), multi-hot
 * labels ('any', 'jaccard'), the denominator modes and the positives cap of google-research's
 * supcon code. Every case runs on cpu and wasm, fused and composed: against the big-batch loss
 * computed without memory, against an independent PyTorch reference
 * (test/make_reference_options.py → test/reference_options.json), hand-computed values, finite
 * differences, and with no tensor left behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createRegistry, createRng } from '@supcon/core';
import reference from './reference_options.json';
import { fusedSupConRows, scaleRows, symmetrize } from '../src/fused';
import { fusedKernel, resetFusedKernel } from '../src/native/kernel';
import { capPositives, multiLabelMatrix } from '../src/positives';
import { lossesFromStats } from '../src/supcon';
import { lossesPlugin, simclrLoss, supConLoss } from '../src/index';
import type { SupConMemory, SupConOptions } from '../src/index';

type Labels = tf.Tensor1D | tf.Tensor2D | null;

function unitFeatures(b: number, v: number, d: number, seed: number, scale = 1): tf.Tensor3D {
  return tf.tidy(() => {
    const x = tf.randomNormal([b, v, d], 0, 1, 'float32', seed);
    return tf.mul(tf.div(x, tf.norm(x, 'euclidean', -1, true)), scale) as tf.Tensor3D;
  });
}

function unitRows(m: number, d: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const x = tf.randomNormal([m, d], 0, 1, 'float32', seed);
    return tf.div(x, tf.norm(x, 'euclidean', -1, true)) as tf.Tensor2D;
  });
}

/** Value and gradient of f at x, leaving no tensor behind. */
function valueAndGrad(f: (x: tf.Tensor3D) => tf.Scalar, x: tf.Tensor3D) {
  const before = tf.memory().numTensors;
  const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => f(t as tf.Tensor3D))(x);
  const out = { v: value.dataSync()[0]!, g: Float32Array.from(grad.dataSync()) };
  tf.dispose([value, grad]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

function expectClose(
  got: { v: number; g: ArrayLike<number> },
  want: { v: number; g: ArrayLike<number> },
  tol = 1e-4,
): void {
  expect(Math.abs(got.v - want.v)).toBeLessThan(tol * Math.max(1, Math.abs(want.v)));
  expect(got.g.length).toBe(want.g.length);
  for (let i = 0; i < got.g.length; i++)
    expect(Math.abs(got.g[i]! - want.g[i]!)).toBeLessThan(tol * Math.max(1, Math.abs(want.g[i]!)));
}

/** Central finite differences of f at x, compared with tf.grad (as in losses.test.ts). */
function checkGradient(f: (x: tf.Tensor3D) => tf.Scalar, x: tf.Tensor3D, eps = 1e-2, tol = 2e-2) {
  const analytic = tf
    .grad(f as (x: tf.Tensor) => tf.Scalar)(x)
    .dataSync();
  const base = x.dataSync();
  const at = (values: Float32Array) => {
    const t = tf.tidy(() => f(tf.tensor3d(values, x.shape)));
    const v = t.dataSync()[0]!;
    t.dispose();
    return v;
  };
  for (let i = 0; i < base.length; i += Math.max(1, Math.floor(base.length / 10))) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i] += eps;
    minus[i] -= eps;
    const numeric = (at(plus) - at(minus)) / (2 * eps);
    expect(Math.abs(numeric - analytic[i]!)).toBeLessThan(tol * Math.max(1, Math.abs(numeric)));
  }
}

/** The `[batch, batch + memory]` weights of a relation, for the big-batch mask. */
function weightsOf(
  labels: number[] | number[][] | null,
  memoryLabels: number[] | number[][] | null,
  batch: number,
  memory: number,
  multiLabel: 'any' | 'jaccard' = 'any',
): Float32Array {
  const samples = batch + memory;
  if (labels === null) {
    const w = new Float32Array(batch * samples);
    for (let i = 0; i < batch; i++) w[i * samples + i] = 1;
    return w;
  }
  if (Array.isArray(labels[0])) {
    const rows = [...(labels as number[][]), ...((memoryLabels ?? []) as number[][])];
    return multiLabelMatrix(rows.flat(), batch, memory, rows[0]!.length, multiLabel);
  }
  const all = [...(labels as number[]), ...((memoryLabels ?? []) as number[])];
  const w = new Float32Array(batch * samples);
  for (let i = 0; i < batch; i++)
    for (let k = 0; k < samples; k++) w[i * samples + k] = all[i] === all[k] ? 1 : 0;
  return w;
}

/**
 * The loss of the batch and the memory as one big batch of single-view samples (`[rows + M, 1,
 * dim]`, the memory's rows after the batch's) computed with supConLoss without memory, through a
 * mask whose rows are the relation for the batch's anchors and 0 elsewhere (so that only they
 * count, as anchors without positives left out), with the memory held constant: x is the only
 * input that is differentiated.
 */
function bigBatchLoss(
  x: tf.Tensor3D,
  memory: tf.Tensor2D | null,
  weights: Float32Array,
  options: SupConOptions,
): tf.Scalar {
  const [batch, views, dim] = x.shape;
  const rows = batch * views;
  const extra = memory ? memory.shape[0] : 0;
  const n = rows + extra;
  const samples = batch + extra;
  const anchors = options.contrastMode === 'one' ? batch : rows;
  const sampleOf = (c: number) => (c < rows ? c % batch : batch + c - rows);
  const mask = new Float32Array(n * n);
  for (let r = 0; r < anchors; r++)
    for (let c = 0; c < n; c++) mask[r * n + c] = weights[(r % batch) * samples + sampleOf(c)]!;
  return tf.tidy(() => {
    const contrast = tf.reshape(tf.transpose(x, [1, 0, 2]), [rows, dim]);
    const big = tf.reshape(memory ? tf.concat([contrast, memory]) : contrast, [
      n,
      1,
      dim,
    ]) as tf.Tensor3D;
    const { memory: _, multiLabel: __, contrastMode: ___, ...rest } = options;
    const loss = supConLoss(big, null, { ...rest, mask: tf.tensor2d(mask, [n, n]) });
    // 'zero' averages over every row of the big batch; the batch's anchors are `anchors` of them.
    return (options.noPositives === 'zero' ? tf.mul(loss, n / anchors) : loss) as tf.Scalar;
  });
}

const BACKENDS = ['cpu', 'wasm'] as const;
const IMPLEMENTATIONS = ['fused', 'composed'] as const;

for (const backend of BACKENDS)
  for (const implementation of IMPLEMENTATIONS) {
    const loss = (f: tf.Tensor3D, labels: Labels, options: SupConOptions = {}) =>
      supConLoss(f, labels, { ...options, implementation });

    describe(`supConLoss options on ${backend}, ${implementation}`, () => {
      beforeAll(async () => {
        await tf.setBackend(backend);
      });

      it('memory: equals the big-batch loss over the batch anchors, memory held constant (values and gradients)', () => {
        const batchLabels = [0, 1, 0, 2, 1, 3];
        const memoryLabels = [1, 3, 0, 0, 2, 4, 3];
        const multi = [
          [1, 0, 1],
          [0, 1, 0],
          [1, 1, 0],
          [0, 0, 0],
          [0, 0, 1],
          [1, 0, 0],
        ];
        const multiMemory = [
          [0, 1, 1],
          [1, 0, 0],
          [0, 0, 1],
          [1, 1, 1],
          [0, 1, 0],
          [0, 0, 0],
          [1, 0, 0],
        ];
        const x = unitFeatures(6, 2, 5, 1);
        const mem = unitRows(7, 5, 2);
        const cases: [number[] | number[][] | null, number[] | number[][] | null, SupConOptions][] =
          [
            [batchLabels, memoryLabels, {}],
            [
              batchLabels,
              memoryLabels,
              { variant: 'in', contrastMode: 'one', noPositives: 'zero' },
            ],
            [batchLabels, memoryLabels, { denominator: 'only-negatives', temperature: 0.3 }],
            [batchLabels, memoryLabels, { denominator: 'one-positive', variant: 'in' }],
            [batchLabels, memoryLabels, { denominator: 'one-positive', contrastMode: 'one' }],
            [multi, multiMemory, { multiLabel: 'jaccard' }],
            [multi, multiMemory, { multiLabel: 'any', variant: 'in', baseTemperature: 0.07 }],
            [null, null, { temperature: 0.5 }],
          ];
        for (const [l, ml, options] of cases) {
          const labels =
            l === null
              ? null
              : Array.isArray(l[0])
                ? tf.tensor2d(l as number[][])
                : tf.tensor1d(l as number[], 'int32');
          const memoryLabels =
            ml === null
              ? null
              : Array.isArray(ml[0])
                ? tf.tensor2d(ml as number[][])
                : tf.tensor1d(ml as number[], 'int32');
          const memory: SupConMemory = { features: mem, labels: memoryLabels };
          const got = valueAndGrad((f) => loss(f, labels, { ...options, memory }), x);
          const weights = weightsOf(l, ml, 6, 7, options.multiLabel);
          const want = valueAndGrad(
            (f) => bigBatchLoss(f, mem, weights, { ...options, implementation }),
            x,
          );
          expect(Number.isFinite(got.v)).toBe(true);
          expectClose(got, want);
          tf.dispose([labels, memoryLabels].filter((t) => t !== null) as tf.Tensor[]);
        }
        tf.dispose([x, mem]);
      });

      it('memory: an empty memory is no memory; noPositives keeps its meaning (positives only in the memory count)', () => {
        const x = unitFeatures(4, 1, 3, 3);
        const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
        const none = tf.zeros([0, 3]) as tf.Tensor2D;
        const noLabels = tf.tensor1d([], 'int32');
        const plain = valueAndGrad((f) => loss(f, labels), x);
        expect(plain.v).toBe(0); // one view, four classes: no anchor has a positive
        const empty = valueAndGrad(
          (f) => loss(f, labels, { memory: { features: none, labels: noLabels } }),
          x,
        );
        expectClose(empty, plain, 1e-7);
        // Memory samples of classes 0 and 2: anchors 0 and 2 now have positives, 1 and 3 not.
        const mem = unitRows(3, 3, 4);
        const memoryLabels = tf.tensor1d([0, 2, 7], 'int32');
        const memory = { features: mem, labels: memoryLabels };
        const exclude = loss(x, labels, { memory });
        const zero = loss(x, labels, { memory, noPositives: 'zero' });
        expect(zero.dataSync()[0]).toBeCloseTo(exclude.dataSync()[0]! / 2, 5);
        expect(() => loss(x, labels, { memory, noPositives: 'error' })).toThrow(
          'supConLoss: 2 of 4 anchors have no positive',
        );
        tf.dispose([x, labels, none, noLabels, mem, memoryLabels, exclude, zero]);
      });

      it('multi-hot labels: one-hot labels give exactly the single-label loss (any and jaccard, with memory)', () => {
        const x = unitFeatures(8, 2, 4, 5);
        const mem = unitRows(5, 4, 6);
        const l = [0, 1, 2, 0, 1, 2, 3, 0];
        const ml = [2, 4, 0, 1, 1];
        const oneHot = (v: number[]) => tf.oneHot(tf.tensor1d(v, 'int32'), 5) as tf.Tensor2D;
        const labels = tf.tensor1d(l, 'int32');
        const memoryLabels = tf.tensor1d(ml, 'int32');
        const hot = oneHot(l);
        const hotMemory = oneHot(ml);
        for (const options of [
          {},
          { variant: 'in' },
          { denominator: 'one-positive', contrastMode: 'one' },
          { denominator: 'only-negatives', variant: 'in' },
        ] as SupConOptions[]) {
          for (const withMemory of [false, true]) {
            const single = valueAndGrad(
              (f) =>
                loss(f, labels, {
                  ...options,
                  ...(withMemory ? { memory: { features: mem, labels: memoryLabels } } : {}),
                }),
              x,
            );
            for (const multiLabel of ['any', 'jaccard'] as const) {
              const multi = valueAndGrad(
                (f) =>
                  loss(f, hot, {
                    ...options,
                    multiLabel,
                    ...(withMemory ? { memory: { features: mem, labels: hotMemory } } : {}),
                  }),
                x,
              );
              expect(multi.v).toBe(single.v);
              expect(Array.from(multi.g)).toEqual(Array.from(single.g));
            }
          }
        }
        tf.dispose([x, mem, labels, memoryLabels, hot, hotMemory]);
      });

      it('multi-hot labels: hand-computed any and jaccard weights', () => {
        // One view, T = 1. Rows: x0 = (1, 0) {0, 1}; x1 = (0.6, 0.8) {0}; x2 = (0, 1) {1, 2};
        // x3 = (-1, 0) {2}. Dot products of x0: x1 0.6, x2 0, x3 -1.
        const f = tf.tensor3d([[[1, 0]], [[0.6, 0.8]], [[0, 1]], [[-1, 0]]]);
        const labels = tf.tensor2d([
          [1, 1, 0],
          [1, 0, 0],
          [0, 1, 1],
          [0, 0, 1],
        ]);
        const lse = (xs: number[]) => Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
        const dots = [
          [0, 0.6, 0, -1],
          [0.6, 0, 0.8, -0.6],
          [0, 0.8, 0, 0],
          [-1, -0.6, 0, 0],
        ];
        // P(i) with weights; 'any': w = 1; 'jaccard': |A∩B| / |A∪B|.
        const pos = {
          any: [
            [
              [1, 1],
              [2, 1],
            ],
            [[0, 1]],
            [
              [0, 1],
              [3, 1],
            ],
            [[2, 1]],
          ],
          jaccard: [
            [
              [1, 1 / 2],
              [2, 1 / 3],
            ],
            [[0, 1 / 2]],
            [
              [0, 1 / 3],
              [3, 1 / 2],
            ],
            [[2, 1 / 2]],
          ],
        };
        for (const mode of ['any', 'jaccard'] as const) {
          let total = 0;
          for (let i = 0; i < 4; i++) {
            const logZ = lse(dots[i]!.filter((_, j) => j !== i));
            const ps = pos[mode][i]!;
            const W = ps.reduce((a, [, w]) => a + w!, 0);
            total += -ps.reduce((a, [j, w]) => a + w! * (dots[i]![j!]! - logZ), 0) / W;
          }
          const got = loss(f, labels, { multiLabel: mode, temperature: 1 });
          expect(got.dataSync()[0]).toBeCloseTo(total / 4, 5);
          got.dispose();
        }
        tf.dispose([f, labels]);
      });

      it("denominators: hand-computed 'all', 'one-positive', 'only-negatives' (out and in)", () => {
        // One view, T = 1, labels [0, 0, 0, 1]: x0 = (1, 0), x1 = (0.6, 0.8), x2 = (0, 1),
        // x3 = (-1, 0). Anchor 0: positives x1 (0.6), x2 (0); negative x3 (-1). Anchor 1:
        // positives x0 (0.6), x2 (0.8); negative x3 (-0.6). Anchor 2: x0 (0), x1 (0.8); x3 (0).
        // Anchor 3 has no positive (left out).
        const f = tf.tensor3d([[[1, 0]], [[0.6, 0.8]], [[0, 1]], [[-1, 0]]]);
        const labels = tf.tensor1d([0, 0, 0, 1], 'int32');
        const rows = [
          { p: [0.6, 0], n: [-1] },
          { p: [0.6, 0.8], n: [-0.6] },
          { p: [0, 0.8], n: [0] },
        ];
        const e = Math.exp;
        const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
        const logProbs = {
          all: (r: { p: number[]; n: number[] }) =>
            r.p.map((s) => s - Math.log(sum([...r.p, ...r.n].map(e)))),
          'one-positive': (r: { p: number[]; n: number[] }) =>
            r.p.map((s) => s - Math.log(e(s) + sum(r.n.map(e)))),
          'only-negatives': (r: { p: number[]; n: number[] }) =>
            r.p.map((s) => s - Math.log(sum(r.n.map(e)))),
        };
        for (const denominator of ['all', 'one-positive', 'only-negatives'] as const)
          for (const variant of ['out', 'in'] as const) {
            const per = rows.map((r) => {
              const lp = logProbs[denominator](r);
              return variant === 'out'
                ? -sum(lp) / lp.length
                : -Math.log(sum(lp.map(e)) / lp.length);
            });
            const got = loss(f, labels, { denominator, variant, temperature: 1 });
            expect(got.dataSync()[0]).toBeCloseTo(sum(per) / 3, 5);
            got.dispose();
          }
        // One class: no negatives. 'one-positive': every p is 1, loss 0; 'only-negatives': no
        // anchor has a loss (left out: 0; 'error' says why).
        const one = tf.tensor1d([4, 4, 4, 4], 'int32');
        const g = valueAndGrad((x) => loss(x, one, { denominator: 'one-positive' }), f);
        expect(g.v).toBeCloseTo(0, 6);
        g.g.forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-6));
        const none = valueAndGrad((x) => loss(x, one, { denominator: 'only-negatives' }), f);
        expect(none.v).toBe(0);
        expect(() => loss(f, one, { denominator: 'only-negatives', noPositives: 'error' })).toThrow(
          "supConLoss: 4 of 4 anchors have no negative, which denominator 'only-negatives'",
        );
        tf.dispose([f, labels, one]);
      });

      it('positives cap: the official rule (first positives by index with a zero generator), hand-computed', () => {
        // Labels [0, 0, 0, 1], one view, cap 1: with next() = 0 the Fisher-Yates draw keeps the
        // first candidate, as google-research's top_k does (the lower index first). Anchor 0:
        // candidates x1, x2 -> keeps x1, x2 leaves the row; anchor 1: x0; anchor 2: x0.
        const f = tf.tensor3d([[[1, 0]], [[0.6, 0.8]], [[0, 1]], [[-1, 0]]]);
        const labels = tf.tensor1d([0, 0, 0, 1], 'int32');
        const zero = { next: () => 0 };
        const e = Math.exp;
        // Anchor 0: positive 0.6, negative -1 (x2 left out); anchor 1: positive 0.6, negatives
        // -0.6 (x2 left out); anchor 2: positive 0 (x0), negative 0 (x3), x1 left out.
        const per = [
          0.6 - Math.log(e(0.6) + e(-1)),
          0.6 - Math.log(e(0.6) + e(-0.6)),
          0 - Math.log(e(0) + e(0)),
        ];
        const got = loss(f, labels, { positivesCap: 1, rng: zero, temperature: 1 });
        expect(got.dataSync()[0]).toBeCloseTo(-(per[0]! + per[1]! + per[2]!) / 3, 5);
        got.dispose();
        tf.dispose([f, labels]);
      });

      it('positives cap: seeded and deterministic; -1 and a cap above every count change nothing', () => {
        const x = unitFeatures(10, 2, 4, 7);
        const labels = tf.tensor1d([0, 0, 0, 0, 1, 1, 1, 0, 2, 0], 'int32');
        const mem = unitRows(6, 4, 8);
        const memoryLabels = tf.tensor1d([0, 1, 0, 0, 2, 0], 'int32');
        const memory = { features: mem, labels: memoryLabels };
        const v = (options: SupConOptions) => {
          const t = loss(x, labels, { memory, ...options });
          const out = t.dataSync()[0]!;
          t.dispose();
          return out;
        };
        const all = v({});
        expect(v({ positivesCap: -1 })).toBe(all);
        expect(v({ positivesCap: 40 })).toBe(all);
        const a = v({ positivesCap: 4, rng: 1 });
        expect(v({ positivesCap: 4, rng: 1 })).toBe(a);
        expect(v({ positivesCap: 4 })).toBe(v({ positivesCap: 4, rng: 0 }));
        expect(a).not.toBeCloseTo(all, 3);
        // A generator is drawn from: successive calls choose again, reproducibly.
        const r1 = createRng(5);
        const first = [v({ positivesCap: 2, rng: r1 }), v({ positivesCap: 2, rng: r1 })];
        const r2 = createRng(5);
        expect([v({ positivesCap: 2, rng: r2 }), v({ positivesCap: 2, rng: r2 })]).toEqual(first);
        expect(first[0]).not.toBe(first[1]);
        tf.dispose([x, labels, mem, memoryLabels]);
      });

      it('matches the independent PyTorch reference (memory, multi-label, denominators, cap: values and gradients)', () => {
        for (const c of reference.cases) {
          const f = tf.tensor3d(c.features as number[][][]);
          const tensorOf = (l: unknown): Labels =>
            l == null
              ? null
              : Array.isArray((l as unknown[])[0])
                ? tf.tensor2d(l as number[][])
                : tf.tensor1d(l as number[], 'int32');
          const labels = tensorOf(c.labels);
          const m = c.memory as { features: number[][]; labels: unknown } | null;
          const memFeatures = m ? tf.tensor2d(m.features) : null;
          const memLabels = m ? tensorOf(m.labels) : null;
          const { seed, ...o } = c.options as SupConOptions & { seed?: number };
          const options: SupConOptions = {
            ...o,
            ...(seed !== undefined ? { rng: seed } : {}),
            ...(memFeatures ? { memory: { features: memFeatures, labels: memLabels } } : {}),
          };
          const got = valueAndGrad((x) => loss(x, labels, options), f);
          try {
            expectClose(got, { v: c.loss, g: (c.grad as number[][][]).flat(2) });
          } catch (e) {
            throw new Error(`case ${c.name}: ${(e as Error).message}`);
          }
          tf.dispose([f, labels, memFeatures, memLabels].filter((t) => t !== null) as tf.Tensor[]);
        }
      });

      it('finite-difference gradients: denominators, cap, memory, jaccard', () => {
        const f = unitFeatures(5, 2, 3, 9);
        const labels = tf.tensor1d([0, 1, 0, 1, 0], 'int32');
        const mem = unitRows(3, 3, 10);
        const memoryLabels = tf.tensor1d([1, 0, 2], 'int32');
        const multi = tf.tensor2d([
          [1, 0, 1],
          [0, 1, 0],
          [1, 1, 0],
          [0, 1, 1],
          [1, 0, 0],
        ]);
        const memory = { features: mem, labels: memoryLabels };
        checkGradient((x) => loss(x, labels, { temperature: 0.5, denominator: 'one-positive' }), f);
        checkGradient(
          (x) => loss(x, labels, { temperature: 0.5, denominator: 'one-positive', variant: 'in' }),
          f,
        );
        checkGradient(
          (x) =>
            loss(x, labels, {
              temperature: 0.5,
              denominator: 'only-negatives',
              variant: 'in',
              memory,
            }),
          f,
        );
        checkGradient(
          (x) => loss(x, labels, { temperature: 0.5, positivesCap: 2, rng: 3, memory }),
          f,
        );
        checkGradient(
          (x) => loss(x, multi, { temperature: 0.5, multiLabel: 'jaccard', normalize: true }),
          f,
        );
        tf.dispose([f, labels, mem, memoryLabels, multi]);
      });

      it('no tensor leaks with every option, with and without a gradient', () => {
        const f = unitFeatures(5, 2, 3, 11);
        const labels = tf.tensor2d([
          [1, 0],
          [0, 1],
          [1, 1],
          [0, 1],
          [1, 0],
        ]);
        const mem = unitRows(4, 3, 12);
        const memoryLabels = tf.tensor2d([
          [1, 0],
          [0, 0],
          [1, 1],
          [0, 1],
        ]);
        for (const denominator of ['all', 'one-positive', 'only-negatives'] as const) {
          const options: SupConOptions = {
            denominator,
            multiLabel: 'jaccard',
            positivesCap: 2,
            memory: { features: mem, labels: memoryLabels },
            normalize: true,
          };
          const before = tf.memory().numTensors;
          const result = loss(f, labels, options);
          expect(tf.memory().numTensors).toBe(before + 1);
          result.dispose();
          const g = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor3D, labels, options))(f);
          expect(tf.memory().numTensors).toBe(before + 1);
          g.dispose();
        }
        tf.dispose([f, labels, mem, memoryLabels]);
      });

      it('non-finite memory gives NaN and an all-NaN gradient', () => {
        const f = unitFeatures(4, 2, 3, 13);
        const labels = tf.tensor1d([0, 1, 0, 1], 'int32');
        const memoryLabels = tf.tensor1d([0, 1], 'int32');
        for (const bad of [NaN, Infinity, -Infinity]) {
          const mem = tf.tensor2d([
            [1, 0, 0],
            [0, bad, 0],
          ]);
          for (const options of [
            {},
            { positivesCap: 2 },
            { denominator: 'one-positive' },
          ] as const) {
            const r = valueAndGrad(
              (x) =>
                loss(x, labels, { ...options, memory: { features: mem, labels: memoryLabels } }),
              f,
            );
            expect(r.v).toBeNaN();
            expect(Array.from(r.g).every(Number.isNaN)).toBe(true);
          }
          mem.dispose();
        }
        tf.dispose([f, labels, memoryLabels]);
      });

      it('memory gets no gradient, even as a trainable variable', () => {
        const f = tf.variable(unitFeatures(4, 2, 3, 22));
        const mem = tf.variable(unitRows(3, 3, 23));
        const labels = tf.tensor1d([0, 1, 0, 1], 'int32');
        const memoryLabels = tf.tensor1d([1, 0, 1], 'int32');
        const { value, grads } = tf.variableGrads(() =>
          loss(f, labels, { memory: { features: mem, labels: memoryLabels } }),
        );
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        expect(Array.from(grads[f.name]!.dataSync()).some((g) => g !== 0)).toBe(true);
        const memGrad = grads[mem.name];
        if (memGrad) expect(Array.from(memGrad.dataSync()).every((g) => g === 0)).toBe(true);
        tf.dispose([value, ...Object.values(grads), f, mem, labels, memoryLabels]);
      });

      it('simclrLoss with memory: the memory samples are negatives', () => {
        const f = unitFeatures(4, 2, 3, 14);
        const mem = unitRows(5, 3, 15);
        const got = valueAndGrad(
          (x) => simclrLoss(x, { implementation, memory: { features: mem } }),
          f,
        );
        const want = valueAndGrad((x) => loss(x, null, { memory: { features: mem } }), f);
        expectClose(got, want, 1e-6);
        const without = simclrLoss(f, { implementation });
        expect(got.v).toBeGreaterThan(without.dataSync()[0]!);
        tf.dispose([f, mem, without]);
      });
    });
  }

describe('the row pass with memory, left-out columns and denominators: SIMD kernel = JavaScript', () => {
  const kernel = fusedKernel();
  it('losses and scaled gradients agree', () => {
    let seed = 1;
    for (const [batch, views, memory] of [
      [8, 2, 5],
      [5, 3, 7],
      [7, 1, 4],
      [6, 2, 0],
    ] as const)
      for (const one of [false, true])
        for (const useMask of [false, true])
          for (const exclusions of useMask ? [false, true] : [false])
            for (const denominator of ['all', 'only-negatives'] as const)
              for (const variant of ['out', 'in'] as const) {
                const rng = createRng(seed++);
                const rows = batch * views + memory;
                const samples = batch + memory;
                const anchors = one ? batch : batch * views;
                const labels = useMask
                  ? undefined
                  : Int32Array.from({ length: samples }, () => rng.int(3));
                const mask = useMask
                  ? Float32Array.from({ length: batch * samples }, () => {
                      const u = rng.next();
                      return u < 0.3 ? rng.next() : exclusions && u < 0.5 ? -1 : 0;
                    })
                  : undefined;
                const dots = Float32Array.from(
                  { length: anchors * rows },
                  () => 2 * rng.next() - 1,
                );
                const coefficient = Float64Array.from({ length: anchors }, () => rng.next());
                const p = {
                  anchors,
                  batch,
                  views,
                  memory,
                  labels,
                  mask,
                  exclusions,
                  denominator,
                  variant,
                  temperature: 0.2,
                };
                const expected = fusedSupConRows({ ...p, dots: dots.slice() });
                scaleRows(expected.grad, coefficient, rows);
                if (!one) symmetrize(expected.grad, batch * views, rows);
                const input = { ...p, coefficient };
                kernel!.prepare(input).set(dots);
                const got = kernel!.run(input, !one);
                const losses = lossesFromStats(got.stats, anchors, variant);
                for (let i = 0; i < anchors; i++)
                  if (expected.positiveWeight[i]! > 0)
                    expect(losses[i]).toBeCloseTo(expected.loss[i]!, 4);
                got.grad.forEach((g, i) =>
                  expect(Math.abs(g - expected.grad[i]!)).toBeLessThan(
                    1e-5 * Math.max(1, Math.abs(expected.grad[i]!)),
                  ),
                );
              }
  });

  it('without the kernel (SUPCON_FUSED_KERNEL=js) the fused loss with every option equals the composed one', async () => {
    await tf.setBackend('cpu');
    process.env.SUPCON_FUSED_KERNEL = 'js';
    resetFusedKernel();
    try {
      expect(fusedKernel()).toBeUndefined();
      const f = unitFeatures(6, 2, 4, 16);
      const labels = tf.tensor1d([0, 1, 0, 2, 1, 0], 'int32');
      const mem = unitRows(5, 4, 17);
      const memoryLabels = tf.tensor1d([1, 0, 3, 0, 2], 'int32');
      for (const denominator of ['all', 'one-positive', 'only-negatives'] as const)
        for (const variant of ['out', 'in'] as const) {
          const options: SupConOptions = {
            denominator,
            variant,
            positivesCap: 2,
            rng: 4,
            memory: { features: mem, labels: memoryLabels },
          };
          const run = (implementation: 'fused' | 'composed') =>
            valueAndGrad((x) => supConLoss(x, labels, { ...options, implementation }), f);
          expectClose(run('fused'), run('composed'));
        }
      tf.dispose([f, labels, mem, memoryLabels]);
    } finally {
      delete process.env.SUPCON_FUSED_KERNEL;
      resetFusedKernel();
    }
  });
});

describe('capPositives', () => {
  it('follows the documented rule: whole images, memory samples one row, draws only when over the cap', () => {
    // batch 3, views 2, memory 3, cap 2. Rows: anchor images; columns: images 0-2, memory 0-2.
    const mask = Float32Array.from([
      ...[1, 0, 1, 1, 0, 1],
      ...[0, 1, 0, 0, 1, 0],
      ...[1, 0, 1, 1, 0, 1],
    ]);
    const values = [0.99, 0.1, 0.5];
    let draws = 0;
    const rng = { next: () => values[draws++] ?? 0 };
    capPositives(mask, 3, 2, 3, 2, rng);
    // Image 0: candidates [image 2 (2 rows), memory 0, memory 2], 4 rows > 2. t = 0: j = 0 +
    // floor(0.99 * 3) = 2: memory 2 (kept, 1 row left); t = 1: j = 1 + floor(0.1 * 2) = 1:
    // memory 0 (kept, cap used up). Image 2 leaves the row.
    expect(Array.from(mask.subarray(0, 6))).toEqual([1, 0, -1, 1, 0, 1]);
    // Image 1: memory 1 alone, 1 row <= 2: kept, nothing drawn.
    expect(Array.from(mask.subarray(6, 12))).toEqual([0, 1, 0, 0, 1, 0]);
    // Image 2: [image 0, memory 0, memory 2]. t = 0: j = floor(0.5 * 3) = 1: memory 0 (kept, 1
    // left); t = 1: j = 1 (next() = 0): image 0, 2 rows > 1: left out; t = 2: memory 2 (kept).
    expect(Array.from(mask.subarray(12, 18))).toEqual([-1, 0, 1, 1, 0, 1]);
    expect(draws).toBe(5);
  });
});

describe('argument checks name the argument', () => {
  beforeAll(() => tf.setBackend('cpu'));
  it('memory, multi-hot labels, denominator, positivesCap, rng', () => {
    const f = unitFeatures(4, 2, 128, 18);
    const labels = tf.tensor1d([0, 1, 0, 1], 'int32');
    const mem = unitRows(5, 64, 19);
    const mem128 = unitRows(5, 128, 20);
    const ml = tf.tensor1d([0, 1, 0, 1, 2], 'int32');
    expect(() => supConLoss(f, labels, { memory: { features: mem, labels: ml } })).toThrow(
      'supConLoss: memory.features: expected [M, 128], got [5, 64]',
    );
    expect(() => supConLoss(f, labels, { memory: { features: mem128 } })).toThrow(
      'supConLoss: memory.labels: expected a tensor [5] (labels are given)',
    );
    const ml4 = tf.tensor1d([0, 1, 0, 1], 'int32');
    expect(() => supConLoss(f, labels, { memory: { features: mem128, labels: ml4 } })).toThrow(
      'supConLoss: memory.labels: expected [5], got [4]',
    );
    expect(() => supConLoss(f, null, { memory: { features: mem128, labels: ml } })).toThrow(
      'supConLoss: memory.labels given without labels',
    );
    const multi = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
      [0, 0],
    ]);
    expect(() => supConLoss(f, multi, { memory: { features: mem128, labels: ml } })).toThrow(
      'supConLoss: memory.labels: expected [5, 2], got [5]',
    );
    const half = tf.tensor2d([
      [1, 0],
      [0, 0.5],
      [1, 1],
      [0, 0],
    ]);
    expect(() => supConLoss(f, half)).toThrow(
      'supConLoss: labels must be multi-hot (0 or 1), got 0.5 at [1, 1]',
    );
    expect(() =>
      supConLoss(f, null, { mask: tf.eye(4) as tf.Tensor2D, memory: { features: mem128 } }),
    ).toThrow('supConLoss: options.memory needs labels (or none), not options.mask');
    expect(() => supConLoss(f, labels, { denominator: 'none' as never })).toThrow(
      "supConLoss: options.denominator must be one of 'all', 'one-positive', 'only-negatives', got 'none'",
    );
    expect(() => supConLoss(f, multi, { multiLabel: 'all' as never })).toThrow(
      "supConLoss: options.multiLabel must be one of 'any', 'jaccard'",
    );
    for (const bad of [-2, 1.5, NaN])
      expect(() => supConLoss(f, labels, { positivesCap: bad })).toThrow(
        `supConLoss: options.positivesCap must be an integer >= 0, or -1 for all positives, got ${bad}`,
      );
    expect(() => supConLoss(f, labels, { positivesCap: 3 })).toThrow(
      'supConLoss: options.positivesCap must be a multiple of the views (2)',
    );
    expect(() => supConLoss(f, labels, { positivesCap: 2, rng: {} as never })).toThrow(
      'supConLoss: options.rng must be a seed (a finite number) or a generator with next()',
    );
    expect(() => supConLoss(f, null, { mask: tf.fill([4, 4], -1) as tf.Tensor2D })).toThrow(
      'supConLoss: options.mask must hold finite weights >= 0, got -1 at [0, 0]',
    );
    tf.dispose([f, labels, mem, mem128, ml, ml4, multi, half]);
  });
});

describe('plugin options', () => {
  beforeAll(() => tf.setBackend('cpu'));
  it('supcon-out, supcon-in and simclr take denominator (and supcon positivesCap); bad values name the path', async () => {
    const registry = createRegistry([lossesPlugin]);
    const f = unitFeatures(6, 2, 3, 21);
    const labels = tf.tensor1d([0, 1, 0, 1, 0, 2], 'int32');
    const rng = () => createRng(0);
    for (const type of ['supcon-out', 'supcon-in'] as const) {
      const part = await registry.build(
        'loss',
        { type, denominator: 'one-positive', positivesCap: 2 },
        { rng: rng() },
      );
      const got = part.compute({ features: f, labels });
      const want = supConLoss(f, labels, {
        variant: type === 'supcon-out' ? 'out' : 'in',
        denominator: 'one-positive',
        positivesCap: 2,
        // The part draws from the generator of its build context.
        rng: rng(),
      });
      expect(got.dataSync()[0]).toBeCloseTo(want.dataSync()[0]!, 6);
      tf.dispose([got, want]);
    }
    const simclr = await registry.build(
      'loss',
      { type: 'simclr', denominator: 'only-negatives' },
      { rng: rng() },
    );
    const s = simclr.compute({ features: f, labels });
    const sw = simclrLoss(f, { denominator: 'only-negatives' });
    expect(s.dataSync()[0]).toBeCloseTo(sw.dataSync()[0]!, 6);
    tf.dispose([s, sw]);
    await expect(
      registry.build('loss', { type: 'supcon-out', positivesCap: -3 }, { rng: rng() }),
    ).rejects.toThrow(/loss\.positivesCap/);
    await expect(
      registry.build('loss', { type: 'supcon-in', positivesCap: 1.5 }, { rng: rng() }),
    ).rejects.toThrow(/loss\.positivesCap/);
    await expect(
      registry.build('loss', { type: 'simclr', denominator: 'some' }, { rng: rng() }),
    ).rejects.toThrow(/loss\.denominator/);
    await expect(
      registry.build('loss', { type: 'simclr', positivesCap: 2 }, { rng: rng() }),
    ).rejects.toThrow(/positivesCap/);
    tf.dispose([f, labels]);
  });

  it("supcon-out and supcon-in take multiLabel: they read LossInput.multiHot and memory.multiHot, and say so", async () => {
    const registry = createRegistry([lossesPlugin]);
    const f = unitFeatures(4, 2, 3, 5);
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    const multiHot = tf.tensor2d([[1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1]]);
    const memory = { features: unitRows(3, 3, 8), labels: tf.tensor1d([2, 0, 1], 'int32'), multiHot: tf.tensor2d([[0, 0, 1], [1, 0, 0], [1, 1, 0]]) };
    for (const type of ['supcon-out', 'supcon-in'] as const) {
      const variant = type === 'supcon-out' ? 'out' : 'in';
      const plain = await registry.build('loss', { type }, { rng: createRng(0) });
      expect(plain.multiLabel).toBe(false);
      const part = await registry.build('loss', { type, multiLabel: 'jaccard' }, { rng: createRng(0) });
      expect(part.multiLabel).toBe(true);
      const got = part.compute({ features: f, labels, multiHot, memory });
      const want = supConLoss(f, multiHot, { variant, multiLabel: 'jaccard', memory: { features: memory.features, labels: memory.multiHot } });
      const firstLabel = supConLoss(f, labels, { variant, memory: { features: memory.features, labels: memory.labels } });
      expect(got.dataSync()[0]).toBeCloseTo(want.dataSync()[0]!, 6);
      // The sets change the loss: it is not the first-label one.
      expect(Math.abs(got.dataSync()[0]! - firstLabel.dataSync()[0]!)).toBeGreaterThan(1e-3);
      // Without a bank's sets, or without the batch's, it says what it needs.
      expect(() => part.compute({ features: f, labels, multiHot, memory: { features: memory.features, labels: memory.labels } })).toThrow(`loss '${type}': loss.multiLabel needs the memory's multi-hot labels [M, classes]`);
      expect(() => part.compute({ features: f, labels })).toThrow(`loss '${type}': loss.multiLabel needs multi-hot labels [batch, classes]`);
      tf.dispose([got, want, firstLabel]);
    }
    await expect(registry.build('loss', { type: 'supcon-out', multiLabel: 'all' }, { rng: createRng(0) })).rejects.toThrow(/loss\.multiLabel/);
    await expect(registry.build('loss', { type: 'simclr', multiLabel: 'any' }, { rng: createRng(0) })).rejects.toThrow(/unknown option 'multiLabel'/);
    tf.dispose([f, labels, multiHot, memory.features, memory.labels, memory.multiHot]);
  });
});
