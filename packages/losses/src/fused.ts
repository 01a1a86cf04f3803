/**
 * The fused SupCon kernel: given the dot products D = A Cᵀ of anchors and contrast rows, one pass
 * per anchor row computes the loss and dL/dD in plain JavaScript (float64 accumulators). With it
 * the loss costs one matrix product forward and one backward, instead of autodiff through a dozen
 * O(n²) tensor ops.
 *
 * Row i of D belongs to anchor i; column r to contrast row r = view * batch + image, then the
 * `memory` extra contrast samples (columns batch * views + m, never anchors). Self (r === i) is
 * never in A(i). Positive weights come from labels (1 where labels agree) or from a
 * `[batch, batch + memory]` weight mask, tiled over views; with `exclusions`, a mask weight below 0
 * leaves the column out of the row (neither positive nor negative: a positive dropped by a
 * positives cap).
 */

export interface FusedProblem {
  /** Dot products, row-major `[anchors, rows]` (not yet divided by the temperature). */
  dots: Float32Array;
  anchors: number;
  batch: number;
  views: number;
  /** Extra contrast samples after the batch's `batch * views` columns (default 0). */
  memory?: number;
  /** Per-sample labels (length batch + memory), or undefined when `mask` is given. */
  labels?: Int32Array;
  /** `[batch, batch + memory]` positive weights, row-major. */
  mask?: Float32Array;
  /** Mask weights below 0 mark columns left out of the row. */
  exclusions?: boolean;
  /**
   * What normalises each positive's probability (google-research's supcon `denominator_mode`):
   * 'all' (default) every column but the anchor's own; 'only-negatives' the negatives (weight 0)
   * alone; 'one-positive' the negatives and that positive.
   */
  denominator?: 'all' | 'one-positive' | 'only-negatives';
  variant: 'out' | 'in';
  temperature: number;
}

/** The largest finite float32: logits beyond it overflow in the kernel and the composed path. */
const FLOAT32_MAX = 3.4028234663852886e38;

export interface FusedRows {
  /** loss_i per anchor (0 where the anchor has no positive; NaN where a logit is not finite). */
  loss: Float64Array;
  /** Σ_p w_ip per anchor (0: no positive). */
  positiveWeight: Float64Array;
  /**
   * dloss_i/dD_ij (already divided by the temperature), row-major `[anchors, rows]`; written over
   * `dots` to save 16 MiB at batch 2048. Rows of anchors without positives are left as they are:
   * the caller scales each row by its weight in the mean (0 for those).
   */
  grad: Float32Array;
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * Computes every anchor's loss and gradient row. With N_i the denominator set ('all': every
 * column but the anchor's own and those left out; 'only-negatives': the negatives) and
 * Z_i = Σ_{a∈N_i} exp(s_a): 'out': loss_i = log Z_i - Σ_p w_p s_p / W_i; 'in':
 * loss_i = log Z_i - log Σ_p w_p exp(s_p) + log W_i. 'one-positive' (N the negatives' sum):
 * 'out': loss_i = Σ_p w_p softplus(log N - s_p) / W_i; 'in':
 * loss_i = log W_i - log Σ_p w_p sigmoid(s_p - log N). All use the row maximum (and for 'in' the
 * positives' maximum) so exp never overflows. A row with a logit s_ia (a ≠ i) that is NaN, ±Inf
 * or beyond the float32 range gets loss NaN and an all-NaN gradient row, as in the WebAssembly
 * kernel.
 */
export function fusedSupConRows(p: FusedProblem): FusedRows {
  const { dots, anchors, batch, views, labels, mask, variant, temperature } = p;
  const memory = p.memory ?? 0;
  const exclusions = p.exclusions === true;
  const denominator = p.denominator ?? 'all';
  const bv = batch * views;
  const rows = bv + memory;
  const samples = batch + memory;
  const invT = 1 / temperature;
  const loss = new Float64Array(anchors);
  const positiveWeight = new Float64Array(anchors);
  const weights = new Float32Array(rows);
  const posLogits = new Float64Array(rows);
  // Whether column r is in the denominator set of this row.
  const inZ = new Uint8Array(rows);
  for (let i = 0; i < anchors; i++) {
    const off = i * rows;
    const img = i % batch;
    // Positive weights of this anchor's row (self excluded).
    if (labels) {
      const li = labels[img];
      for (let k = 0; k < batch; k++) weights[k] = labels[k] === li ? 1 : 0;
      for (let m = 0; m < memory; m++) weights[bv + m] = labels[batch + m] === li ? 1 : 0;
    } else {
      const m = mask as Float32Array;
      for (let k = 0; k < batch; k++) weights[k] = m[img * samples + k];
      for (let k = 0; k < memory; k++) weights[bv + k] = m[img * samples + batch + k];
    }
    for (let v = 1; v < views; v++) weights.copyWithin(v * batch, 0, batch);
    weights[i] = 0;

    let max = -Infinity;
    let posMax = -Infinity;
    let W = 0;
    let finite = true;
    for (let r = 0; r < rows; r++) {
      if (r === i) {
        inZ[r] = 0;
        continue;
      }
      const s = dots[off + r] * invT;
      if (!(Math.abs(s) <= FLOAT32_MAX)) finite = false;
      const w = weights[r];
      if (exclusions && w < 0) {
        weights[r] = 0;
        inZ[r] = 0;
        continue;
      }
      const z = denominator === 'all' || w === 0;
      inZ[r] = z ? 1 : 0;
      if (z && s > max) max = s;
      if (w > 0) {
        W += w;
        if (s > posMax) posMax = s;
      }
    }
    positiveWeight[i] = W;
    if (!finite) {
      loss[i] = NaN;
      dots.fill(NaN, off, off + rows);
      continue;
    }
    if (rows === 1 || max === -Infinity) {
      // Nothing to normalise over: one row, or no negative for 'only-negatives'. For
      // 'one-positive' without negatives every positive's probability is 1: loss 0, gradient 0.
      dots.fill(0, off, off + rows);
      continue;
    }
    let Z = 0;
    let posSum = 0;
    let posZ = 0;
    const onePositive = denominator === 'one-positive';
    for (let r = 0; r < rows; r++) {
      const s = dots[off + r] * invT;
      const w = weights[r];
      if (w > 0) {
        if (onePositive) posLogits[r] = s;
        else if (variant === 'out') posSum += w * s;
        else {
          posLogits[r] = s;
          posZ += w * Math.exp(s - posMax);
        }
      }
      if (inZ[r]) {
        const e = Math.exp(s - max);
        Z += e;
        dots[off + r] = e;
      } else dots[off + r] = 0;
    }
    const logZ = Math.log(Z) + max;
    const invZ = 1 / Z;
    if (W <= 0) {
      loss[i] = 0;
      for (let r = 0; r < rows; r++) dots[off + r] *= invZ * invT;
    } else if (denominator === 'one-positive') {
      // Positives are outside Z (the negatives' sum): per positive, p = sigmoid(s_p - log N).
      // 'out': d/ds_p = (w_p/W)(σ_p - 1), d/ds_n = softmax_neg(n) Σ_p (w_p/W)(1 - σ_p);
      // 'in' (q_p = w_p σ_p / Σ w σ): d/ds_p = -q_p (1 - σ_p), d/ds_n = softmax_neg(n) Σ_p q_p (1 - σ_p).
      let total = 0;
      let c = 0;
      if (variant === 'out') {
        for (let r = 0; r < rows; r++) {
          const w = weights[r];
          if (!(w > 0)) continue;
          const sp = softplus(logZ - posLogits[r]);
          total += w * sp;
          const sig = Math.exp(-sp);
          c += (w / W) * (1 - sig);
          dots[off + r] = (w / W) * (sig - 1) * invT;
        }
        loss[i] = total / W;
      } else {
        let lqMax = -Infinity;
        for (let r = 0; r < rows; r++) {
          const w = weights[r];
          if (!(w > 0)) continue;
          const lq = Math.log(w) - softplus(logZ - posLogits[r]);
          posLogits[r] = lq;
          if (lq > lqMax) lqMax = lq;
        }
        let sum = 0;
        for (let r = 0; r < rows; r++) if (weights[r] > 0) sum += Math.exp(posLogits[r] - lqMax);
        const lse = Math.log(sum) + lqMax;
        loss[i] = Math.log(W) - lse;
        for (let r = 0; r < rows; r++) {
          const w = weights[r];
          if (!(w > 0)) continue;
          const q = Math.exp(posLogits[r] - lse);
          // σ_p = exp(lq_p - log w_p).
          const sig = Math.exp(posLogits[r] - Math.log(w));
          c += q * (1 - sig);
          dots[off + r] = -q * (1 - sig) * invT;
        }
      }
      for (let r = 0; r < rows; r++) if (inZ[r]) dots[off + r] *= invZ * c * invT;
    } else if (variant === 'out') {
      loss[i] = logZ - posSum / W;
      const invW = 1 / W;
      for (let r = 0; r < rows; r++)
        dots[off + r] = (dots[off + r] * invZ - weights[r] * invW) * invT;
    } else {
      loss[i] = logZ - (Math.log(posZ) + posMax) + Math.log(W);
      // d/ds_r of -log Σ_p w_p exp(s_p) is -w_r exp(s_r - posMax) / posZ (positives only).
      const invPosZ = 1 / posZ;
      for (let r = 0; r < rows; r++) {
        const w = weights[r];
        const softmax = dots[off + r] * invZ;
        dots[off + r] =
          (w > 0 && r !== i ? softmax - w * Math.exp(posLogits[r] - posMax) * invPosZ : softmax) *
          invT;
      }
    }
  }
  return { loss, positiveWeight, grad: dots };
}

/** Scales row i of the `[anchors, rows]` matrix `g` by `scale[i]`, in place. */
export function scaleRows(g: Float32Array, scale: Float64Array, rows: number): void {
  for (let i = 0; i < scale.length; i++) {
    const c = scale[i];
    const off = i * rows;
    if (c === 0) g.fill(0, off, off + rows);
    else for (let r = 0; r < rows; r++) g[off + r] *= c;
  }
}

/**
 * `g + gᵀ` of the square `[n, n]` block at the start of a row-major matrix with row stride
 * `stride` (default n; the columns past n are left alone), in place, in cache-sized tiles.
 */
export function symmetrize(g: Float32Array, n: number, stride = n): void {
  const T = 64;
  for (let bi = 0; bi < n; bi += T) {
    for (let bj = bi; bj < n; bj += T) {
      const iEnd = Math.min(bi + T, n);
      const jEnd = Math.min(bj + T, n);
      for (let i = bi; i < iEnd; i++) {
        const row = i * stride;
        for (let j = bj === bi ? i : bj; j < jEnd; j++) {
          const s = g[row + j] + g[j * stride + i];
          g[row + j] = s;
          g[j * stride + i] = s;
        }
      }
    }
  }
}

/** The transpose `[cols, m]` of the first `cols` columns (default all) of a row-major `[m, n]` matrix. */
export function transpose(g: Float32Array, m: number, n: number, cols = n): Float32Array {
  const out = new Float32Array(m * cols);
  for (let i = 0; i < m; i++) for (let j = 0; j < cols; j++) out[j * m + i] = g[i * n + j];
  return out;
}
