import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@supcon/core';
import { minimizeLbfgs, multinomialObjective, type LbfgsProblem } from '../src';
import { useCpu } from './helpers';

beforeAll(useCpu);

/** The objective in plain float64 JS, written independently of src/multinomial.ts. */
function reference(x: number[][], y: number[], w: number[][], b: number[], C: number): number {
  let f = 0;
  x.forEach((row, i) => {
    const z = b.map((bc, c) => bc + row.reduce((s, v, j) => s + v * (w[j] as number[])[c]!, 0));
    const m = Math.max(...z);
    f += m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) - z[y[i]!]!;
  });
  return f + w.flat().reduce((s, v) => s + v * v, 0) / (2 * C);
}

describe('multinomialObjective (the L-BFGS probe objective)', () => {
  it('at zero weights: n log k and the hand-derived gradient Xᵀ(1/k − Y), Σ(1/k − Y)', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, -1],
      [0, 1],
    ]);
    const before = tf.memory().numTensors;
    const r = multinomialObjective(x, [0, 1, 1], [0, 0, 0, 0], [0, 0], 1);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.value).toBeCloseTo(3 * Math.log(2), 6);
    // G = P − Y = [[−.5, .5], [.5, −.5], [.5, −.5]]; (XᵀG)_jc = Σ_i x_ij G_ic: [1·−.5 + 3·.5, ...], [2·−.5 − 1·.5 + 1·.5, ...]
    expect(Array.from(r.weightGradient)).toEqual([1, -1, -1, 1].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(r.biasGradient)).toEqual([0.5, -0.5].map((v) => expect.closeTo(v, 6)));
    x.dispose();
  });

  it('value and gradient match central finite differences of an independent float64 implementation', () => {
    const rng = createRng(3);
    const n = 7;
    const d = 4;
    const k = 3;
    const C = 0.7;
    const xs = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
    const y = Array.from({ length: n }, (_, i) => i % k);
    const w = Array.from({ length: d }, () => Array.from({ length: k }, () => rng.normal(0, 0.5)));
    const b = Array.from({ length: k }, () => rng.normal(0, 0.5));
    const x = tf.tensor2d(xs);
    const r = multinomialObjective(x, y, w.flat(), b, C);
    x.dispose();
    const f0 = reference(xs, y, w, b, C);
    expect(Math.abs(r.value - f0) / f0).toBeLessThan(1e-6);
    const h = 1e-5;
    for (let j = 0; j < d; j++) {
      for (let c = 0; c < k; c++) {
        const plus = w.map((row) => row.slice());
        const minus = w.map((row) => row.slice());
        plus[j]![c]! += h;
        minus[j]![c]! -= h;
        const fd = (reference(xs, y, plus, b, C) - reference(xs, y, minus, b, C)) / (2 * h);
        expect(r.weightGradient[j * k + c]).toBeCloseTo(fd, 4);
      }
    }
    for (let c = 0; c < k; c++) {
      const plus = b.slice();
      const minus = b.slice();
      plus[c]! += h;
      minus[c]! -= h;
      const fd = (reference(xs, y, w, plus, C) - reference(xs, y, w, minus, C)) / (2 * h);
      expect(r.biasGradient[c]).toBeCloseTo(fd, 4);
    }
  });

  it('rejects mismatched weights and a bad C', () => {
    const x = tf.tensor2d([[1, 2]]);
    expect(() => multinomialObjective(x, [0], [0, 0, 0], [0, 0])).toThrow(/weights has 3 entries, expected dim \* classes = 2 \* 2/);
    expect(() => multinomialObjective(x, [0], [0, 0, 0, 0], [0, 0], -1)).toThrow(/C: expected a positive number, got -1/);
    x.dispose();
  });
});

/** An LbfgsProblem for a plain function with a gradient. */
function problemOf(fg: (t: Float64Array) => { f: number; g: Float64Array }, start: number[]): LbfgsProblem & { theta: Float64Array } {
  const theta = Float64Array.from(start);
  let p: Float64Array = new Float64Array(theta.length);
  const at = (alpha: number): Float64Array => theta.map((v, i) => v + alpha * (p[i] as number));
  return {
    theta,
    start: () => fg(theta),
    line(dir) {
      p = dir;
      return (alpha) => {
        const { f, g } = fg(at(alpha));
        return { f, df: g.reduce((s, v, i) => s + v * (p[i] as number), 0) };
      };
    },
    step(alpha) {
      theta.set(at(alpha));
      return fg(theta);
    },
  };
}

describe('minimizeLbfgs', () => {
  it('finds the Rosenbrock minimum (1, 1) and stops on the gradient tolerance', () => {
    const rosen = (t: Float64Array): { f: number; g: Float64Array } => {
      const [a, b] = [t[0] as number, t[1] as number];
      return { f: (1 - a) ** 2 + 100 * (b - a * a) ** 2, g: Float64Array.of(-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)) };
    };
    const problem = problemOf(rosen, [-1.2, 1]);
    const r = minimizeLbfgs(problem, { tol: 1e-8, ftol: 0 });
    expect(r.stopReason).toBe('gradient');
    expect(r.converged).toBe(true);
    expect(problem.theta[0]).toBeCloseTo(1, 6);
    expect(problem.theta[1]).toBeCloseTo(1, 6);
    expect(r.f).toBeLessThan(1e-12);
    expect(r.iterations).toBeLessThan(100);
    // monotone: every accepted step lowers the objective
    r.history.slice(1).forEach((f, i) => expect(f).toBeLessThan(r.history[i] as number));
  });

  it('solves an ill-conditioned quadratic ½ Σ a_i (t_i − i)² exactly and honours maxIterations', () => {
    const a = Array.from({ length: 50 }, (_, i) => 10 ** ((4 * i) / 49));
    const quad = (t: Float64Array): { f: number; g: Float64Array } => ({
      f: a.reduce((s, ai, i) => s + 0.5 * ai * ((t[i] as number) - i) ** 2, 0),
      g: Float64Array.from(a, (ai, i) => ai * ((t[i] as number) - i)),
    });
    const problem = problemOf(quad, new Array(50).fill(0));
    const r = minimizeLbfgs(problem, { tol: 1e-6, ftol: 0 });
    expect(r.converged).toBe(true);
    problem.theta.forEach((v, i) => expect(v).toBeCloseTo(i, 5));
    const capped = minimizeLbfgs(problemOf(quad, new Array(50).fill(0)), { tol: 1e-12, ftol: 0, maxIterations: 3 });
    expect(capped).toMatchObject({ iterations: 3, converged: false, stopReason: 'maxIterations' });
  });
});
