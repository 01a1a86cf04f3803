/**
 * Non-finite input and empty batches, for every loss on every path (fused and composed, cpu and
 * wasm, and wasm with @supcon/backends' training kernels): NaN or ±Inf anywhere in the input must
 * give a NaN loss and an all-NaN gradient (never 0, never a finite number); large finite input
 * must still give the hand-computed value a stable log-sum-exp gives; an empty batch gives
 * exactly 0. Every case also checks that no tensor is left behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@supcon/backends';
import {
  crossEntropyLoss,
  nPairLoss,
  pairwiseDistances,
  simclrLoss,
  supConLoss,
  tripletLoss,
} from '../src/index';
import type { Distance, SupConOptions } from '../src/index';

interface Evaluated {
  value: number;
  grads: Float32Array[];
}

/**
 * Value and gradients of `f` with respect to `inputs`, checking that nothing but the returned
 * numbers survives (tf.memory().numTensors back where it was).
 */
function evaluate(f: (...xs: tf.Tensor[]) => tf.Scalar, inputs: tf.Tensor[]): Evaluated {
  const before = tf.memory().numTensors;
  const plain = f(...inputs);
  expect(tf.memory().numTensors).toBe(before + 1);
  const value = plain.dataSync()[0]!;
  plain.dispose();
  const { value: v, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => f(...xs))(inputs);
  expect(tf.memory().numTensors).toBe(before + 1 + grads.length);
  // The same value with and without a gradient tape (Object.is: NaN equals NaN, 0 is +0).
  expect(Object.is(v.dataSync()[0], value)).toBe(true);
  const out = grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose([v, ...grads]);
  expect(tf.memory().numTensors).toBe(before);
  return { value, grads: out };
}

function expectAllNaN({ value, grads }: Evaluated): void {
  expect(value).toBeNaN();
  for (const g of grads) {
    expect(g.length).toBeGreaterThan(0);
    // Not one finite entry: a partly finite gradient could still be applied silently.
    expect(Array.from(g).filter((x) => !Number.isNaN(x))).toEqual([]);
  }
}

function expectFinite({ value, grads }: Evaluated): void {
  expect(Number.isFinite(value)).toBe(true);
  for (const g of grads) expect(Array.from(g).every(Number.isFinite)).toBe(true);
}

/** `values` with `bad` written at flat index `at`. */
function withValue(values: number[], at: number, bad: number): number[] {
  const out = values.slice();
  out[at] = bad;
  return out;
}

// 6 images x 2 views x 3 dims, unit rows; labels with positives for every image.
const FEATURES = Array.from({ length: 36 }, (_, i) => Math.sin(1 + 2.3 * i));
const LABELS = [0, 1, 2, 0, 1, 2];
const BADS = [NaN, Infinity, -Infinity] as const;

type Setup = { name: string; backend: 'cpu' | 'wasm'; kernels?: boolean };
const SETUPS: Setup[] = [
  { name: 'cpu', backend: 'cpu' },
  { name: 'wasm', backend: 'wasm' },
  { name: 'wasm with the training kernels', backend: 'wasm', kernels: true },
];

for (const setup of SETUPS) {
  describe(`non-finite input on ${setup.name}`, () => {
    beforeAll(async () => {
      await tf.setBackend(setup.backend);
      if (setup.kernels) registerWasmTrainingKernels();
    });

    const supconCases: [string, (f: tf.Tensor3D, l: tf.Tensor1D) => tf.Scalar][] = [];
    for (const implementation of ['fused', 'composed'] as const) {
      for (const variant of ['out', 'in'] as const) {
        const options: SupConOptions = { variant, implementation };
        supconCases.push([
          `supcon-${variant}, ${implementation}`,
          (f, l) => supConLoss(f, l, options),
        ]);
        supconCases.push([
          `supcon-${variant}, ${implementation}, contrastMode 'one', normalize`,
          (f, l) => supConLoss(f, l, { ...options, contrastMode: 'one', normalize: true }),
        ]);
      }
      supconCases.push([
        `simclr (NT-Xent), ${implementation}`,
        (f) => simclrLoss(f, { implementation }),
      ]);
    }

    for (const [name, loss] of supconCases) {
      for (const bad of BADS) {
        it(`${name}: ${bad} in one feature gives NaN, and a NaN gradient`, () => {
          const labels = tf.tensor1d(LABELS, 'int32');
          // Every position: a view-0 row, a view-1 row (not an anchor under contrastMode 'one').
          for (const at of [0, 4, 35]) {
            const f = tf.tensor3d(withValue(FEATURES, at, bad), [6, 2, 3]);
            expectAllNaN(evaluate((x) => loss(x as tf.Tensor3D, labels), [f]));
            f.dispose();
          }
          labels.dispose();
        });
      }
      it(`${name}: the same features, all finite, give a finite loss and gradient`, () => {
        const labels = tf.tensor1d(LABELS, 'int32');
        const f = tf.tensor3d(FEATURES, [6, 2, 3]);
        expectFinite(evaluate((x) => loss(x as tf.Tensor3D, labels), [f]));
        tf.dispose([f, labels]);
      });
    }

    it("supConLoss with no anchor having a positive (noPositives 'exclude'): 0, or NaN for NaN input", () => {
      const labels = tf.tensor1d([0, 1], 'int32');
      for (const implementation of ['fused', 'composed'] as const) {
        const loss = (x: tf.Tensor) =>
          supConLoss(x as tf.Tensor3D, labels, { implementation, noPositives: 'exclude' });
        const f = tf.tensor3d([[[1, 0]], [[0, 1]]]);
        const ok = evaluate(loss, [f]);
        expect(Object.is(ok.value, 0)).toBe(true);
        expect(Array.from(ok.grads[0]!)).toEqual([0, 0, 0, 0]);
        for (const bad of BADS) {
          const g = tf.tensor3d([[[1, bad]], [[0, 1]]]);
          expectAllNaN(evaluate(loss, [g]));
          g.dispose();
        }
        f.dispose();
      }
      labels.dispose();
    });

    for (const mining of ['all', 'hard', 'semi-hard'] as const) {
      for (const distance of ['euclidean', 'squared-euclidean', 'cosine'] as Distance[]) {
        for (const bad of BADS) {
          it(`triplet (${mining}, ${distance}): ${bad} in an embedding gives NaN, and a NaN gradient`, () => {
            const labels = tf.tensor1d([...LABELS, ...LABELS], 'int32');
            for (const at of [0, 17]) {
              const e = tf.tensor2d(withValue(FEATURES, at, bad), [12, 3]);
              expectAllNaN(
                evaluate((x) => tripletLoss(x as tf.Tensor2D, labels, { mining, distance }), [e]),
              );
              e.dispose();
            }
            labels.dispose();
          });
        }
      }
    }

    it('pairwiseDistances: all NaN for a non-finite row, finite otherwise', () => {
      for (const distance of ['euclidean', 'squared-euclidean', 'cosine'] as Distance[]) {
        const good = tf.tensor2d(FEATURES, [12, 3]);
        expect(
          Array.from(pairwiseDistances(good, distance).dataSync()).every(Number.isFinite),
        ).toBe(true);
        for (const bad of BADS) {
          const x = tf.tensor2d(withValue(FEATURES, 5, bad), [12, 3]);
          const d = pairwiseDistances(x, distance);
          expect(Array.from(d.dataSync()).every(Number.isNaN)).toBe(true);
          tf.dispose([x, d]);
        }
        good.dispose();
      }
    });

    for (const bad of BADS) {
      it(`N-pair: ${bad} in an anchor or a positive gives NaN, and a NaN gradient`, () => {
        for (const l2Reg of [0, 0.1]) {
          for (const which of [0, 1]) {
            const a = tf.tensor2d(
              which === 0 ? withValue(FEATURES.slice(0, 18), 7, bad) : FEATURES.slice(0, 18),
              [6, 3],
            );
            const p = tf.tensor2d(
              which === 1 ? withValue(FEATURES.slice(18), 2, bad) : FEATURES.slice(18),
              [6, 3],
            );
            expectAllNaN(
              evaluate((x, y) => nPairLoss(x as tf.Tensor2D, y as tf.Tensor2D, { l2Reg }), [a, p]),
            );
            tf.dispose([a, p]);
          }
        }
      });

      it(`cross-entropy: ${bad} in a logit gives NaN, and a NaN gradient`, () => {
        const labels = tf.tensor1d([0, 2, 1, 3], 'int32');
        for (const labelSmoothing of [0, 0.1]) {
          // In the target column, and in another one (where a 0 weight times -Inf used to hide it).
          for (const at of [0, 1, 15]) {
            const logits = tf.tensor2d(withValue(FEATURES.slice(0, 16), at, bad), [4, 4]);
            expectAllNaN(
              evaluate(
                (x) => crossEntropyLoss(x as tf.Tensor2D, labels, { labelSmoothing }),
                [logits],
              ),
            );
            logits.dispose();
          }
        }
        labels.dispose();
      });
    }

    describe('large finite input behaves as a stable log-sum-exp', () => {
      for (const implementation of ['fused', 'composed'] as const) {
        for (const variant of ['out', 'in'] as const) {
          it(`supcon-${variant}, ${implementation}: logits of ±1e35 give the hand-computed 2e35`, () => {
            // 1-D rows (view-major) s, s, -s, -s for images 0, 1 (views 0, 1 = s, -s), labels 0, 1.
            // Anchor s: logits s²/T (other image), -s²/T (its positive), -s²/T; the positive is
            // the smallest, so loss = log(e^{s²/T} + 2e^{-s²/T}) + s²/T = 2s²/T (+ e^{-2s²/T}),
            // and likewise for every anchor; with a single positive, in = out.
            const s = 1e17;
            const f = tf.tensor3d([
              [[s], [-s]],
              [[s], [-s]],
            ]);
            const labels = tf.tensor1d([0, 1], 'int32');
            const r = evaluate(
              (x) => supConLoss(x as tf.Tensor3D, labels, { variant, implementation }),
              [f],
            );
            expectFinite(r);
            expect(r.value / 2e35).toBeCloseTo(1, 5);
            tf.dispose([f, labels]);
          });

          it(`supcon-${variant}, ${implementation}: an anchor's own similarity may overflow (it is not in the loss)`, () => {
            // Rows (view-major) a, c, b, d = 2e19, 1, 1, -1 (images 0, 1 x views 0, 1), T = 1;
            // a² = 4e38 overflows float32, no other dot product does. Per anchor:
            // a: positive b: lse(2e19, 2e19, -2e19) - 2e19 = log 2; c: positive d:
            // lse(2e19, 1, -1) + 1 = 2e19; b: positive a: lse(2e19, 1, -1) - 2e19 = 0;
            // d: positive c: lse(-2e19, -1, -1) + 1 = log 2. Mean: (2e19 + 2 log 2) / 4.
            const f = tf.tensor3d([
              [[2e19], [1]],
              [[1], [-1]],
            ]);
            const labels = tf.tensor1d([0, 1], 'int32');
            const r = evaluate(
              (x) =>
                supConLoss(x as tf.Tensor3D, labels, { variant, implementation, temperature: 1 }),
              [f],
            );
            expectFinite(r);
            expect(r.value / 5e18).toBeCloseTo(1, 5);
            tf.dispose([f, labels]);
          });
        }

        it(`supcon, ${implementation}: a logit beyond float32 (finite features) gives NaN`, () => {
          // Dot products of 1e20 · 1e20 = 1e40 overflow: there is no finite loss to give.
          const f = tf.tensor3d([
            [[1e20], [1e20]],
            [[1e20], [-1e20]],
          ]);
          const labels = tf.tensor1d([0, 1], 'int32');
          expectAllNaN(
            evaluate((x) => supConLoss(x as tf.Tensor3D, labels, { implementation }), [f]),
          );
          tf.dispose([f, labels]);
        });
      }

      it('cross-entropy: logits ±1e30 give the hand-computed value', () => {
        // Row 0 [1e30, 0, -1e30], label 1: log Z = 1e30, loss 1e30 - 0. Row 1 [0, 1e30, -1e30],
        // label 1: loss log(1 + e^{-1e30} + ...) = 0. Mean 5e29.
        const logits = tf.tensor2d([
          [1e30, 0, -1e30],
          [0, 1e30, -1e30],
        ]);
        const labels = tf.tensor1d([1, 1], 'int32');
        const r = evaluate((x) => crossEntropyLoss(x as tf.Tensor2D, labels), [logits]);
        expectFinite(r);
        expect(r.value / 5e29).toBeCloseTo(1, 5);
        // d/dlogits of the mean: (softmax - onehot) / 2 = row 0 [1, -1, 0] / 2, row 1 0.
        [0.5, -0.5, 0, 0, 0, 0].forEach((g, i) => expect(r.grads[0]![i]).toBeCloseTo(g, 6));
        tf.dispose([logits, labels]);
      });

      it('N-pair: logits ±1e30 give the hand-computed value (l2Reg 0 stays out)', () => {
        // anchors [s], [s], positives [-s], [s], s = 1e15: logits [[-1e30, 1e30], [-1e30, 1e30]];
        // row 0 (target 0): 1e30 + 1e30; row 1 (target 1): 0. Mean 1e30.
        const s = 1e15;
        const a = tf.tensor2d([[s], [s]]);
        const p = tf.tensor2d([[-s], [s]]);
        const r = evaluate((x, y) => nPairLoss(x as tf.Tensor2D, y as tf.Tensor2D), [a, p]);
        expectFinite(r);
        expect(r.value / 1e30).toBeCloseTo(1, 5);
        tf.dispose([a, p]);
      });

      it('triplet: embeddings scaled by 1e15 scale the hand-computed loss by 1e15; norms past 1.8e19 give NaN', () => {
        // The hand-computed case of losses.test.ts (1-D: 0, 1 | 3, 1.5, margin 1): 5.5 / 8.
        const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
        const e = tf.tensor2d([[0], [1e15], [3e15], [1.5e15]]);
        const r = evaluate((x) => tripletLoss(x as tf.Tensor2D, labels, { margin: 1e15 }), [e]);
        expectFinite(r);
        expect(r.value / ((5.5 / 8) * 1e15)).toBeCloseTo(1, 4);
        const huge = tf.tensor2d([[0], [1e20], [3e20], [1.5e20]]);
        expectAllNaN(evaluate((x) => tripletLoss(x as tf.Tensor2D, labels, { margin: 1 }), [huge]));
        tf.dispose([labels, e, huge]);
      });
    });

    describe('empty batch: exactly 0, a zero gradient of the input shape', () => {
      const empty = (rows: number, cols: number) => tf.zeros([rows, cols]) as tf.Tensor2D;
      for (const mining of ['all', 'hard', 'semi-hard'] as const) {
        it(`triplet (${mining})`, () => {
          const labels = tf.tensor1d([], 'int32');
          const e = empty(0, 3);
          const r = evaluate((x) => tripletLoss(x as tf.Tensor2D, labels, { mining }), [e]);
          expect(Object.is(r.value, 0)).toBe(true);
          expect(r.grads[0]!.length).toBe(0);
          tf.dispose([labels, e]);
        });
      }
      it('cross-entropy, with and without label smoothing', () => {
        const labels = tf.tensor1d([], 'int32');
        const logits = empty(0, 5);
        for (const labelSmoothing of [0, 0.2]) {
          const r = evaluate(
            (x) => crossEntropyLoss(x as tf.Tensor2D, labels, { labelSmoothing }),
            [logits],
          );
          expect(Object.is(r.value, 0)).toBe(true);
          expect(r.grads[0]!.length).toBe(0);
        }
        tf.dispose([labels, logits]);
      });
      it('N-pair', () => {
        const a = empty(0, 4);
        const p = empty(0, 4);
        const r = evaluate(
          (x, y) => nPairLoss(x as tf.Tensor2D, y as tf.Tensor2D, { l2Reg: 0.1 }),
          [a, p],
        );
        expect(Object.is(r.value, 0)).toBe(true);
        tf.dispose([a, p]);
      });
    });
  });
}
