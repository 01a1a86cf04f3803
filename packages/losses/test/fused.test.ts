import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRng } from '@supcon/core';
import { fusedSupConRows, scaleRows, symmetrize } from '../src/fused';
import { fusedKernel, resetFusedKernel } from '../src/native/kernel';
import { lossesFromStats, supConLoss } from '../src/supcon';

interface Problem {
  batch: number;
  views: number;
  anchors: number;
  labels?: Int32Array;
  mask?: Float32Array;
  variant: 'out' | 'in';
  temperature: number;
  coefficient: Float64Array;
  dots: Float32Array;
}

function problem(
  seed: number,
  batch: number,
  views: number,
  one: boolean,
  useMask: boolean,
  variant: 'out' | 'in',
  scale = 1,
): Problem {
  const rng = createRng(seed);
  const rows = batch * views;
  const anchors = one ? batch : rows;
  const labels = useMask
    ? undefined
    : Int32Array.from({ length: batch }, () => Math.floor(rng.next() * 4));
  const mask = useMask
    ? Float32Array.from({ length: batch * batch }, () => (rng.next() < 0.4 ? rng.next() : 0))
    : undefined;
  const dots = Float32Array.from({ length: anchors * rows }, () => (2 * rng.next() - 1) * scale);
  const coefficient = Float64Array.from({ length: anchors }, () => rng.next());
  return { batch, views, anchors, labels, mask, variant, temperature: 0.1, coefficient, dots };
}

/** The JavaScript reference: losses, and the gradient scaled (and symmetrised when square). */
function reference(p: Problem) {
  const rows = p.batch * p.views;
  const out = fusedSupConRows({ ...p, dots: p.dots.slice() });
  scaleRows(out.grad, p.coefficient, rows);
  if (p.anchors === rows) symmetrize(out.grad, rows);
  return out;
}

describe('WebAssembly SIMD row kernel', () => {
  const kernel = fusedKernel();

  it('is available in Node (WebAssembly SIMD)', () => {
    expect(kernel).toBeDefined();
  });

  it('matches the JavaScript reference: losses and scaled gradients over layouts, masks, variants and odd sizes', () => {
    let seed = 1;
    for (const [batch, views] of [
      [8, 2],
      [5, 3],
      [7, 1],
      [33, 2],
    ])
      for (const one of [false, true])
        for (const useMask of [false, true])
          for (const variant of ['out', 'in'] as const) {
            const p = problem(seed++, batch, views, one, useMask, variant);
            const expected = reference(p);
            const input = { ...p };
            kernel!.prepare(input).set(p.dots);
            const got = kernel!.run(input, p.anchors === batch * views);
            const losses = lossesFromStats(got.stats, p.anchors, variant);
            for (let i = 0; i < p.anchors; i++) {
              if (expected.positiveWeight[i] > 0)
                expect(losses[i]).toBeCloseTo(expected.loss[i], 4);
              else expect(losses[i]).toBe(0);
            }
            got.grad.forEach((g, i) =>
              expect(Math.abs(g - expected.grad[i])).toBeLessThan(
                1e-5 * Math.max(1, Math.abs(expected.grad[i])),
              ),
            );
          }
  });

  it('stays finite and exact for logits in the thousands (temperature 0.01, large norms)', () => {
    const p = problem(99, 16, 2, false, false, 'in', 30);
    p.temperature = 0.01;
    const expected = reference(p);
    kernel!.prepare(p).set(p.dots);
    const got = kernel!.run(p, true);
    const losses = lossesFromStats(got.stats, p.anchors, 'in');
    losses.forEach((l, i) => expect(l).toBeCloseTo(expected.loss[i], 1));
    expect(got.grad.every(Number.isFinite)).toBe(true);
    got.grad.forEach((g, i) =>
      expect(Math.abs(g - expected.grad[i])).toBeLessThan(
        1e-3 * Math.max(1, Math.abs(expected.grad[i])),
      ),
    );
  });

  it('a row with a NaN, +Inf or -Inf logit, or one beyond float32, gets loss NaN and an all-NaN gradient row; the other rows are untouched', () => {
    let seed = 200;
    for (const variant of ['out', 'in'] as const)
      for (const [batch, views, one] of [
        [5, 2, false],
        [9, 1, false],
        [6, 3, true],
      ] as const)
        for (const bad of [NaN, Infinity, -Infinity, 'overflow'] as const) {
          const p = problem(seed++, batch, views, one, false, variant);
          const rows = batch * views;
          // Anchor 2, column 4 (never its own entry; a positive or not, depending on the labels).
          const row = 2;
          const col = 4;
          // 'overflow': a finite dot product whose logit d / T (T = 0.1) is beyond float32.
          p.dots[row * rows + col] = bad === 'overflow' ? 1e38 : bad;
          const clean = problem(seed - 1, batch, views, one, false, variant);
          const expected = fusedSupConRows({ ...clean, dots: clean.dots.slice() });
          // The kernel's rows come scaled by each anchor's coefficient (not symmetrised here).
          const scaled = expected.grad.slice();
          scaleRows(scaled, p.coefficient, rows);
          for (const engine of ['kernel', 'js'] as const) {
            const want = engine === 'kernel' ? scaled : expected.grad;
            let losses: Float64Array;
            let grad: Float32Array;
            if (engine === 'kernel') {
              const input = { ...p };
              kernel!.prepare(input).set(p.dots);
              const got = kernel!.run(input, false);
              losses = lossesFromStats(got.stats, p.anchors, variant);
              grad = got.grad.slice();
            } else {
              const got = fusedSupConRows({ ...p, dots: p.dots.slice() });
              losses = got.loss;
              grad = got.grad;
            }
            for (let i = 0; i < p.anchors; i++) {
              const rowGrad = Array.from(grad.subarray(i * rows, (i + 1) * rows));
              if (i === row) {
                expect(losses[i]).toBeNaN();
                expect(rowGrad.every(Number.isNaN)).toBe(true);
              } else {
                expect(losses[i]).toBeCloseTo(expected.loss[i]!, 4);
                rowGrad.forEach((g, r) =>
                  expect(Math.abs(g - want[i * rows + r]!)).toBeLessThan(
                    1e-5 * Math.max(1, Math.abs(want[i * rows + r]!)),
                  ),
                );
              }
            }
          }
        }
  });

  it("an anchor's own entry may be anything (NaN, ±Inf): it is not part of its loss", () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const p = problem(300, 8, 2, false, false, 'out');
      const rows = 16;
      const expected = reference(p);
      for (let i = 0; i < rows; i++) p.dots[i * rows + i] = bad;
      kernel!.prepare(p).set(p.dots);
      const got = kernel!.run(p, true);
      lossesFromStats(got.stats, p.anchors, 'out').forEach((l, i) =>
        expect(l).toBeCloseTo(expected.loss[i]!, 4),
      );
      expect(got.grad.every(Number.isFinite)).toBe(true);
      const js = fusedSupConRows({ ...p, dots: p.dots.slice() });
      js.loss.forEach((l, i) => expect(l).toBeCloseTo(expected.loss[i]!, 10));
    }
  });

  it('symmetrize equals g + gᵀ for sizes that are and are not multiples of 4', () => {
    for (const n of [1, 3, 4, 7, 64, 130]) {
      const rng = createRng(n);
      const g = Float32Array.from({ length: n * n }, () => rng.next());
      const expected = new Float32Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) expected[i * n + j] = g[i * n + j] + g[j * n + i];
      const js = g.slice();
      symmetrize(js, n);
      expect(Array.from(js)).toEqual(Array.from(expected));
      // The kernel's symmetrize runs after the row pass; with coefficient 0 every row is 0, so
      // check it on its own through a square problem whose gradient is known: run twice.
      const p = problem(n, n, 1, false, true, 'out');
      const input = { ...p };
      kernel!.prepare(input).set(p.dots);
      const sym = kernel!.run(input, true).grad.slice();
      kernel!.prepare(input).set(p.dots);
      const plain = kernel!.run(input, false).grad.slice();
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          expect(sym[i * n + j]).toBeCloseTo(plain[i * n + j] + plain[j * n + i], 6);
    }
  });

  it('without the kernel (SUPCON_FUSED_KERNEL=js) the fused loss still equals the composed one', async () => {
    await tf.setBackend('cpu');
    process.env.SUPCON_FUSED_KERNEL = 'js';
    resetFusedKernel();
    try {
      expect(fusedKernel()).toBeUndefined();
      const f = tf.tidy(() => {
        const x = tf.randomNormal([6, 2, 4], 0, 1, 'float32', 3);
        return tf.div(x, tf.norm(x, 'euclidean', -1, true)) as tf.Tensor3D;
      });
      const labels = tf.tensor1d([0, 1, 0, 2, 1, 3], 'int32');
      for (const variant of ['out', 'in'] as const) {
        const run = (implementation: 'fused' | 'composed') => {
          const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
            supConLoss(x as tf.Tensor3D, labels, { variant, implementation }),
          )(f);
          const out = { v: value.dataSync()[0], g: grad.dataSync() };
          tf.dispose([value, grad]);
          return out;
        };
        const a = run('fused');
        const b = run('composed');
        expect(a.v).toBeCloseTo(b.v, 5);
        a.g.forEach((x, i) => expect(x).toBeCloseTo(b.g[i], 5));
        // Non-finite features: NaN, and an all-NaN gradient, here too.
        for (const bad of [NaN, Infinity, -Infinity]) {
          const values = f.dataSync().slice();
          values[5] = bad;
          const g = tf.tensor3d(values, f.shape);
          const before = tf.memory().numTensors;
          const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
            supConLoss(x as tf.Tensor3D, labels, { variant, implementation: 'fused' }),
          )(g);
          expect(value.dataSync()[0]).toBeNaN();
          expect(Array.from(grad.dataSync()).every(Number.isNaN)).toBe(true);
          tf.dispose([value, grad]);
          expect(tf.memory().numTensors).toBe(before);
          g.dispose();
        }
      }
      tf.dispose([f, labels]);
    } finally {
      delete process.env.SUPCON_FUSED_KERNEL;
      resetFusedKernel();
    }
  });
});
