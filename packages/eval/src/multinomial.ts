import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { checkFeatures, toLabelArray } from './features';
import type { LbfgsProblem, LinePoint, ValueAndGradient } from './lbfgs';

/**
 * The two float32 products of the solver, `X·V` (`V [d, k]` -> `[n, k]`) and `Xᵀ·G`
 * (`G [n, k]` -> `[d, k]`), all row-major. On the cpu backend they are plain matMuls of `X` (a
 * transposed operand costs nothing there). Elsewhere (wasm/XNNPACK) a transposed operand is
 * several times slower and the right-hand operand of a matMul is packed once when it is a kept
 * tensor, so `Xᵀ` is materialised once and the products run as `Vᵀ·Xᵀ` and `Gᵀ·X`.
 */
export class LinearProducts {
  readonly n: number;
  readonly d: number;
  private readonly xt: Tensor2D | null;

  constructor(
    private readonly x: Tensor2D,
    readonly k: number,
  ) {
    [this.n, this.d] = x.shape;
    this.xt = tf.getBackend() === 'cpu' ? null : (tf.transpose(x) as Tensor2D);
  }

  /** `X · V`, `v` row-major `[d, k]`; returns row-major `[n, k]`. */
  xv(v: Float32Array): Float32Array {
    const { n, d, k, xt } = this;
    if (!xt) return this.run(() => tf.matMul(this.x, tf.tensor2d(v, [d, k])));
    const vt = new Float32Array(k * d);
    for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) vt[c * d + j] = v[j * k + c] as number;
    return transpose(this.run(() => tf.matMul(tf.tensor2d(vt, [k, d]), xt)), k, n);
  }

  /** `Xᵀ · G`, `g` row-major `[n, k]`; returns row-major `[d, k]`. */
  xtg(g: Float32Array): Float32Array {
    const { n, d, k, xt } = this;
    if (!xt) return this.run(() => tf.matMul(this.x, tf.tensor2d(g, [n, k]), true, false));
    return transpose(this.run(() => tf.matMul(tf.tensor2d(transpose(g, n, k), [k, n]), this.x)), k, d);
  }

  private run(f: () => Tensor2D): Float32Array {
    const t = tf.tidy(f);
    const out = t.dataSync() as Float32Array;
    t.dispose();
    return out;
  }

  /** Disposes `Xᵀ` (not `X`). */
  dispose(): void {
    this.xt?.dispose();
  }
}

/** Row-major `[rows, cols]` -> `[cols, rows]`. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j] as number;
  return out;
}

/**
 * scikit-learn 1.2's multinomial logistic-regression objective (`LogisticRegression`, lbfgs) on
 * features `X [n, d]` with weights `W [d, k]` and an unpenalised bias `b [k]`:
 *
 *   f(W, b) = Σ_i [ logsumexp(x_i W + b) − (x_i W + b)_{y_i} ] + ||W||² / (2C)
 *
 * (C times `C·Σ logloss + ½||W||²`: the same minimiser; sklearn ≥ 1.4 divides the sum by n
 * and the penalty by n as well, again the same minimiser but a different scale for `tol`.)
 *
 * The parameters θ = [W row-major, b] and every reduction are float64; only the two products
 * `X·P` (logits along a search direction) and `Xᵀ·G` (the gradient) are float32 tfjs matMuls.
 * The logits Z = XW + b are kept in float64 and moved with the search direction, so a line
 * search costs O(n k) per trial and no product: an iteration is one `X·p` and one `Xᵀ·G`.
 */
export class MultinomialProblem implements LbfgsProblem {
  readonly n: number;
  readonly d: number;
  readonly k: number;
  /** θ = [W (d*k, row-major), b (k)]. */
  readonly theta: Float64Array;
  private readonly z: Float64Array;
  private zp: Float64Array;
  private p: Float64Array;
  private readonly g32: Float32Array;
  /** P − Y (float64) at the current θ, and its data loss (set by `valueAndGradient`). */
  private residual: Float64Array;
  private loss = Number.NaN;
  /** P − Y and data loss at θ + `trialAlpha`·p, the last point evaluated on the line. */
  private trial: Float64Array;
  private trialLoss = Number.NaN;
  private trialAlpha = Number.NaN;
  private readonly scratch: Float64Array;
  private ww = 0;
  private wp = 0;
  private pp = 0;

  /**
   * @param products the products of the transformed features `X [n, d]` (see `LinearProducts`).
   * @param y labels in [0, k).
   */
  constructor(
    private readonly products: LinearProducts,
    private readonly y: Int32Array,
    private readonly C: number,
    theta0?: ArrayLike<number>,
  ) {
    const { n, d, k } = products;
    this.n = n;
    this.d = d;
    this.k = k;
    this.theta = new Float64Array(this.d * k + k);
    if (theta0) this.theta.set(theta0);
    this.z = new Float64Array(this.n * k);
    this.zp = new Float64Array(this.n * k);
    this.p = new Float64Array(this.theta.length);
    this.g32 = new Float32Array(this.n * k);
    this.residual = new Float64Array(this.n * k);
    this.trial = new Float64Array(this.n * k);
    this.scratch = new Float64Array(k);
  }

  /** `X · V` for `V = v[0 .. d*k)` as `[d, k]`, plus `v[d*k ..]` on every row, into `out`. */
  private product(v: Float64Array, out: Float64Array): void {
    const { d, k, n } = this;
    const dk = d * k;
    let any = false;
    for (let j = 0; j < dk && !any; j++) any = v[j] !== 0;
    if (any) out.set(this.products.xv(Float32Array.from(v.subarray(0, dk))));
    else out.fill(0);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) out[i * k + c] = (out[i * k + c] as number) + (v[dk + c] as number);
  }

  /**
   * Σ_i logloss_i at logits `z` (+ α·zp when `withZp`), and Σ_i (P − Y)·zp; writes P − Y into
   * `residual` when given. The one pass over `n × k` that computes exponentials.
   */
  private dataTerm(alpha: number, withZp: boolean, residual: Float64Array | null): { loss: number; slope: number } {
    const { n, k, z, zp, y, scratch } = this;
    let loss = 0;
    let slope = 0;
    for (let i = 0; i < n; i++) {
      const o = i * k;
      let max = -Infinity;
      for (let c = 0; c < k; c++) {
        const v = withZp ? (z[o + c] as number) + alpha * (zp[o + c] as number) : (z[o + c] as number);
        scratch[c] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const e = Math.exp((scratch[c] as number) - max);
        sum += e;
        scratch[c] = e;
      }
      const yi = y[i] as number;
      const lse = max + Math.log(sum);
      loss += lse - (withZp ? (z[o + yi] as number) + alpha * (zp[o + yi] as number) : (z[o + yi] as number));
      for (let c = 0; c < k; c++) {
        const gi = (scratch[c] as number) / sum - (c === yi ? 1 : 0);
        if (withZp) slope += gi * (zp[o + c] as number);
        if (residual) residual[o + c] = gi;
      }
    }
    return { loss, slope };
  }

  private penalty(): number {
    const dk = this.d * this.k;
    let s = 0;
    for (let j = 0; j < dk; j++) s += (this.theta[j] as number) ** 2;
    return s / (2 * this.C);
  }

  /**
   * Value and gradient at the current θ from the tracked logits. `known`: the data loss and
   * P − Y there were already computed (by the line search, at the accepted step), in `residual`.
   */
  private valueAndGradient(known = false): ValueAndGradient {
    const { d, k, n, theta, C, g32 } = this;
    const dk = d * k;
    if (!known) this.loss = this.dataTerm(0, false, this.residual).loss;
    const r = this.residual;
    g32.set(r);
    const gw = this.products.xtg(g32);
    const g = new Float64Array(dk + k);
    for (let j = 0; j < dk; j++) g[j] = (gw[j] as number) + (theta[j] as number) / C;
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) g[dk + c] = (g[dk + c] as number) + (g32[i * k + c] as number);
    return { f: this.loss + this.penalty(), g };
  }

  start(): ValueAndGradient {
    this.product(this.theta, this.z);
    return this.valueAndGradient();
  }

  line(p: Float64Array): (alpha: number) => LinePoint {
    const dk = this.d * this.k;
    this.p = p;
    this.product(p, this.zp);
    let ww = 0;
    let wp = 0;
    let pp = 0;
    for (let j = 0; j < dk; j++) {
      const w = this.theta[j] as number;
      const q = p[j] as number;
      ww += w * w;
      wp += w * q;
      pp += q * q;
    }
    this.ww = ww;
    this.wp = wp;
    this.pp = pp;
    this.trialAlpha = Number.NaN;
    return (alpha: number): LinePoint => {
      const C2 = 2 * this.C;
      if (alpha === 0) {
        // At α = 0 the logits are z exactly (z + 0·zp): the loss and P − Y of the current point,
        // kept from `valueAndGradient`, give the same figures as a fresh pass, without exponentials.
        const { n, k, residual, zp } = this;
        let slope = 0;
        for (let i = 0; i < n; i++) {
          const o = i * k;
          for (let c = 0; c < k; c++) slope += (residual[o + c] as number) * (zp[o + c] as number);
        }
        if (Number.isFinite(slope)) return { f: this.loss + this.ww / C2, df: slope + (2 * this.wp) / C2 };
      }
      const { loss, slope } = this.dataTerm(alpha, true, this.trial);
      this.trialAlpha = alpha;
      this.trialLoss = loss;
      return {
        f: loss + (this.ww + 2 * alpha * this.wp + alpha * alpha * this.pp) / C2,
        df: slope + (2 * this.wp + 2 * alpha * this.pp) / C2,
      };
    };
  }

  step(alpha: number): ValueAndGradient {
    const { theta, p, z, zp } = this;
    for (let j = 0; j < theta.length; j++) theta[j] = (theta[j] as number) + alpha * (p[j] as number);
    for (let j = 0; j < z.length; j++) z[j] = (z[j] as number) + alpha * (zp[j] as number);
    // The line search's last trial is usually the step it accepts: its loss and P − Y were
    // computed from z + α·zp, the very float64 values z now holds, so they are reused as they are.
    if (alpha === this.trialAlpha) {
      [this.residual, this.trial] = [this.trial, this.residual];
      this.loss = this.trialLoss;
      this.trialAlpha = Number.NaN;
      return this.valueAndGradient(true);
    }
    return this.valueAndGradient();
  }

  /**
   * Objective, mean log-loss and training accuracy of the float32-rounded current θ, from fresh
   * logits (not the tracked ones): the figures of the probe that is returned.
   */
  summary(): { objective: number; meanLoss: number; top1: number } {
    const rounded = Float64Array.from(Float32Array.from(this.theta));
    const dk = this.d * this.k;
    this.product(rounded, this.z);
    const { loss } = this.dataTerm(0, false, null);
    this.loss = Number.NaN; // z no longer holds the logits of θ
    let s = 0;
    for (let j = 0; j < dk; j++) s += (rounded[j] as number) ** 2;
    let correct = 0;
    const { n, k, z, y } = this;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if ((z[i * k + c] as number) > (z[i * k + best] as number)) best = c;
      if (best === y[i]) correct++;
    }
    return { objective: loss + s / (2 * this.C), meanLoss: loss / Math.max(n, 1), top1: correct / Math.max(n, 1) };
  }
}

/** What `multinomialObjective` returns. */
export interface MultinomialObjective {
  /** `Σ_i logloss_i + ||W||² / (2C)`. */
  value: number;
  /** `[d * k]` row-major gradient with respect to W `[d, k]`. */
  weightGradient: Float64Array;
  /** `[k]` gradient with respect to the bias. */
  biasGradient: Float64Array;
}

/**
 * The linear probe's L-BFGS objective (scikit-learn 1.2's multinomial `LogisticRegression`) and
 * its gradient at given weights, computed exactly as the solver does (float32 products, float64
 * sums). `features` are used as given: apply `applyFeatureTransform` first to match a probe.
 * @param weights `[d * k]` row-major `[d, k]`.
 * @param bias `[k]`.
 */
export function multinomialObjective(
  features: Tensor2D,
  labels: ArrayLike<number>,
  weights: ArrayLike<number>,
  bias: ArrayLike<number>,
  C = 1,
): MultinomialObjective {
  checkFeatures(features, 'multinomialObjective: features', labels.length);
  const k = bias.length;
  const d = features.shape[1];
  if (weights.length !== d * k) {
    throw new Error(`multinomialObjective: weights has ${weights.length} entries, expected dim * classes = ${d} * ${k}`);
  }
  if (!(C > 0)) throw new Error(`multinomialObjective: C: expected a positive number, got ${C}`);
  const y = toLabelArray(labels, 'multinomialObjective: labels', k);
  const x = tf.cast(features, 'float32') as Tensor2D;
  const products = new LinearProducts(x, k);
  try {
    const theta = new Float64Array(d * k + k);
    theta.set(Array.from(weights));
    theta.set(Array.from(bias), d * k);
    const { f, g } = new MultinomialProblem(products, y, C, theta).start();
    return { value: f, weightGradient: g.slice(0, d * k), biasGradient: g.slice(d * k) };
  } finally {
    products.dispose();
    x.dispose();
  }
}
