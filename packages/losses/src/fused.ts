/**
 * The fused SupCon kernel: given the dot products D = A Cᵀ of anchors and contrast rows, one pass
 * per anchor row computes the loss and dL/dD in plain JavaScript (float64 accumulators). With it
 * the loss costs one matrix product forward and one backward, instead of autodiff through a dozen
 * O(n²) tensor ops.
 *
 * Row i of D belongs to anchor i; column r to contrast row r = view * batch + image. Self
 * (r === i) is never in A(i). Positive weights come from labels (1 where labels agree) or from a
 * `[batch, batch]` weight mask, tiled over views.
 */

export interface FusedProblem {
  /** Dot products, row-major `[anchors, rows]` (not yet divided by the temperature). */
  dots: Float32Array;
  anchors: number;
  batch: number;
  views: number;
  /** Per-image labels (length batch), or undefined when `mask` is given. */
  labels?: Int32Array;
  /** `[batch, batch]` positive weights, row-major. */
  mask?: Float32Array;
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

/**
 * Computes every anchor's loss and gradient row. 'out': loss_i = log Z_i - Σ_p w_p s_p / W_i with
 * Z_i = Σ_{a≠i} exp(s_a); 'in': loss_i = log Z_i - log Σ_p w_p exp(s_p) + log W_i. Both use the
 * row maximum (and for 'in' the positives' maximum) so exp never overflows. A row with a logit
 * s_ia (a ≠ i) that is NaN, ±Inf or beyond the float32 range gets loss NaN and an all-NaN
 * gradient row, as in the WebAssembly kernel.
 */
export function fusedSupConRows(p: FusedProblem): FusedRows {
  const { dots, anchors, batch, views, labels, mask, variant, temperature } = p;
  const rows = batch * views;
  const invT = 1 / temperature;
  const loss = new Float64Array(anchors);
  const positiveWeight = new Float64Array(anchors);
  const weights = new Float32Array(rows);
  const posLogits = new Float64Array(rows);
  for (let i = 0; i < anchors; i++) {
    const off = i * rows;
    const img = i % batch;
    // Positive weights of this anchor's row (self excluded).
    if (labels) {
      const li = labels[img];
      for (let k = 0; k < batch; k++) weights[k] = labels[k] === li ? 1 : 0;
    } else {
      const m = mask as Float32Array;
      for (let k = 0; k < batch; k++) weights[k] = m[img * batch + k];
    }
    for (let v = 1; v < views; v++) weights.copyWithin(v * batch, 0, batch);
    weights[i] = 0;

    let max = -Infinity;
    let posMax = -Infinity;
    let W = 0;
    let finite = true;
    for (let r = 0; r < rows; r++) {
      if (r === i) continue;
      const s = dots[off + r] * invT;
      if (!(Math.abs(s) <= FLOAT32_MAX)) finite = false;
      if (s > max) max = s;
      const w = weights[r];
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
    if (rows === 1) {
      dots[off] = 0;
      continue;
    }
    let Z = 0;
    let posSum = 0;
    let posZ = 0;
    for (let r = 0; r < rows; r++) {
      if (r === i) {
        dots[off + r] = 0;
        continue;
      }
      const s = dots[off + r] * invT;
      const e = Math.exp(s - max);
      Z += e;
      const w = weights[r];
      if (w > 0) {
        if (variant === 'out') posSum += w * s;
        else {
          posLogits[r] = s;
          posZ += w * Math.exp(s - posMax);
        }
      }
      dots[off + r] = e;
    }
    const logZ = Math.log(Z) + max;
    const invZ = 1 / Z;
    if (W <= 0) {
      loss[i] = 0;
      for (let r = 0; r < rows; r++) dots[off + r] *= invZ * invT;
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

/** `g + gᵀ` of a square `[n, n]` matrix, in place, in cache-sized tiles. */
export function symmetrize(g: Float32Array, n: number): void {
  const T = 64;
  for (let bi = 0; bi < n; bi += T) {
    for (let bj = bi; bj < n; bj += T) {
      const iEnd = Math.min(bi + T, n);
      const jEnd = Math.min(bj + T, n);
      for (let i = bi; i < iEnd; i++) {
        const row = i * n;
        for (let j = bj === bi ? i : bj; j < jEnd; j++) {
          const s = g[row + j] + g[j * n + i];
          g[row + j] = s;
          g[j * n + i] = s;
        }
      }
    }
  }
}

/** The transpose of a row-major `[m, n]` matrix. */
export function transpose(g: Float32Array, m: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = g[i * n + j];
  return out;
}
