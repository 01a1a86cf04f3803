/**
 * The fused path of the SupCon loss: the dot products of anchors and contrast rows come from one
 * matrix product, one pass per anchor row (the WebAssembly SIMD row kernel, native/kernel.ts, or
 * its JavaScript twin, fused.ts) turns them into every anchor's loss and the analytic gradient
 * dL/dD, and the backward pass is one more matrix product. Fast where tensors live in CPU memory
 * (cpu, wasm, tfjs-node); on wasm the products are read straight from the backend's heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tryTensorHeapView } from '@supcon/core';
import { fusedSupConRows, scaleRows, symmetrize, transpose } from './fused';
import { product } from './matmul';
import { fusedKernel, kernelHandles, STATS_PER_ROW } from './native/kernel';
import type { SupConProblem } from './supcon-problem';

/** What the fused loss needs besides the problem. */
export interface FusedLossInput {
  /** `[batch * views, dim]`, view-major (normalised already where the options ask for it). */
  contrast: tf.Tensor2D;
  /** `[M, dim]` extra contrast samples, a constant (no gradient flows into it), or null. */
  memory: tf.Tensor2D | null;
  problem: SupConProblem;
}

/**
 * A float32 tensor's values: a view straight into the wasm heap where possible (valid only until
 * the next tensor allocation), else `dataSync()`.
 */
function valuesOf(t: tf.Tensor): Float32Array {
  const view = tf.getBackend() === 'wasm' ? tryTensorHeapView(tf.backend(), t) : undefined;
  return view ?? (t.dataSync() as Float32Array);
}

function copyBlock(
  t: tf.Tensor2D,
  target: Float32Array,
  stride: number,
  row: number,
  col: number,
): void {
  const [m, n] = t.shape;
  const src = valuesOf(t);
  if (n === stride && col === 0) target.set(src, row * stride);
  else
    for (let r = 0; r < m; r++)
      target.set(src.subarray(r * n, (r + 1) * n), (row + r) * stride + col);
}

/** A tensor from values the caller will overwrite: backends that keep a reference get a copy. */
function tensorOf(values: Float32Array, shape: [number, number]): tf.Tensor2D {
  const copies = tf.getBackend() === 'wasm' || tf.getBackend() === 'tensorflow';
  return tf.tensor2d(copies ? values : values.slice(), shape);
}

/**
 * Per-anchor losses from the kernel's row statistics (see native/supcon_rows.c): NaN for a row
 * the kernel marked non-finite (Z = NaN), 0 for an anchor without positives.
 */
export function lossesFromStats(
  stats: Float64Array,
  anchors: number,
  variant: 'out' | 'in',
): Float64Array {
  const loss = new Float64Array(anchors);
  for (let i = 0; i < anchors; i++) {
    const [max, Z, W, a, b] = stats.subarray(i * STATS_PER_ROW, (i + 1) * STATS_PER_ROW);
    if (Number.isNaN(Z)) {
      loss[i] = NaN;
      continue;
    }
    if (!(W > 0) || !(Z > 0)) continue;
    const logZ = Math.log(Z) + max;
    loss[i] = variant === 'out' ? logZ - a / W : logZ - (Math.log(b) + a) + Math.log(W);
  }
  return loss;
}

/**
 * The fused loss of `contrast` `[rows, dim]` (view-major) against itself and `memory` `[M, dim]`
 * (a constant: no gradient flows into it): the dot products go through the row kernel
 * (WebAssembly SIMD, or {@link fusedSupConRows} in JavaScript, which also serves the
 * 'one-positive' denominator), which returns every anchor's loss and leaves the analytic gradient
 * dL/dD, scaled by each anchor's weight in the mean (scale / included for the anchors counted, 0
 * for the others); the backward pass is then one matrix product.
 */
export function fusedLoss(input: FusedLossInput): tf.Scalar {
  const { contrast, memory, problem } = input;
  const { batch, views, anchors, relation, variant, denominator, temperature } = problem;
  const { valid, scale, included } = problem;
  const coefficient = Float64Array.from(valid, (v) => (v ? scale / included : 0));
  const rows = batch * views;
  const extra = memory ? memory.shape[0] : 0;
  const cols = rows + extra;
  const square = anchors === rows;
  const lossOf = tf.customGrad(
    (c: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
      const x = c as tf.Tensor2D;
      const dim = x.shape[1];
      // The contrast rows the gradient multiplies: the batch's, then the memory's.
      const full = memory ? (tf.concat([x, memory]) as tf.Tensor2D) : x;
      const kernel = kernelHandles(denominator) ? fusedKernel() : undefined;
      const problem = {
        anchors,
        batch,
        views,
        ...(extra > 0 ? { memory: extra } : {}),
        ...relation,
        ...(denominator !== 'all' ? { denominator } : {}),
        variant,
        temperature,
      };
      let loss: Float64Array;
      let grad: Float32Array;
      if (kernel) {
        const input = { ...problem, coefficient };
        const target = kernel.prepare(input);
        if (square && rows >= 8) {
          // D = C Cᵀ is symmetric: compute columns [0, h) for all rows and the lower-right
          // block, three quarters of the products, and mirror the rest.
          const h = rows >> 1;
          tf.tidy(() => {
            const top = tf.slice(x, [0, 0], [h, dim]) as tf.Tensor2D;
            const bottom = tf.slice(x, [h, 0], [rows - h, dim]) as tf.Tensor2D;
            copyBlock(product(x, top, true), target, cols, 0, 0);
            copyBlock(product(bottom, bottom, true), target, cols, h, h);
            if (memory) copyBlock(product(x, memory, true), target, cols, 0, rows);
          });
          kernel.mirror(rows, h, cols);
        } else {
          tf.tidy(() =>
            copyBlock(
              product(
                square ? x : (tf.slice(x, [0, 0], [anchors, dim]) as tf.Tensor2D),
                full,
                true,
              ),
              target,
              cols,
              0,
              0,
            ),
          );
        }
        const out = kernel.run(input, square);
        loss = lossesFromStats(out.stats, anchors, variant);
        grad = out.grad;
      } else {
        const dots = tf.tidy(() =>
          product(square ? x : (tf.slice(x, [0, 0], [anchors, dim]) as tf.Tensor2D), full, true),
        );
        const values = Float32Array.from(dots.dataSync());
        dots.dispose();
        const out = fusedSupConRows({ dots: values, ...problem });
        loss = out.loss;
        grad = out.grad;
        scaleRows(grad, coefficient, cols);
        if (square) symmetrize(grad, rows, cols);
      }
      let total = 0;
      for (let i = 0; i < anchors; i++) total += coefficient[i] * loss[i];
      // Saved only when a gradient is being recorded; otherwise disposed with the forward scope.
      if (square) (save as tf.GradSaveFunc)([full, tensorOf(grad, [rows, cols])]);
      else
        (save as tf.GradSaveFunc)([
          full,
          tensorOf(grad, [anchors, cols]),
          tf.tensor2d(transpose(grad, anchors, cols, rows), [rows, anchors]),
        ]);
      return {
        value: tf.scalar(total),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const [cs, g, gT] = saved as tf.Tensor2D[];
            let dContrast: tf.Tensor2D;
            if (square) {
              // L depends on D = C [C; M]ᵀ, so dC = (G_b + G_bᵀ) C + G_m M = G' [C; M], with G'
              // the gradient whose batch block is already symmetrised.
              dContrast = product(g, cs, false);
            } else {
              // D = A [C; M]ᵀ with A the first `anchors` rows of C: dA = G [C; M], dC = G_bᵀ A.
              const a = tf.slice(cs, [0, 0], [anchors, cs.shape[1]]) as tf.Tensor2D;
              dContrast = tf.add(
                product(gT, a, false),
                tf.pad(product(g, cs, false), [
                  [0, rows - anchors],
                  [0, 0],
                ]),
              );
            }
            return tf.mul(dContrast, dy);
          }),
      };
    },
  );
  return lossOf(contrast) as tf.Scalar;
}
