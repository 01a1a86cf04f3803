import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';

/** How features are transformed before a classifier sees them. */
export type FeatureNormalization = 'none' | 'l2' | 'standardize';

/** Per-dimension statistics for `standardize`, fitted on the training features. */
export interface FeatureTransform {
  readonly mode: FeatureNormalization;
  /** `[dim]` means (standardize only). */
  readonly mean?: Float32Array;
  /** `[dim]` population standard deviations, 1 for a constant dimension (standardize only). */
  readonly std?: Float32Array;
}

/** Labels as a plain integer array, checked against `numClasses` when given. */
export function toLabelArray(labels: ArrayLike<number>, name: string, numClasses?: number): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      throw new Error(
        `${name}[${i}] is ${v}: expected an integer class id in [0, ${numClasses ?? 'numClasses'})`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** Throws unless `features` is rank 2 with `n` rows. */
export function checkFeatures(features: Tensor2D, name: string, n?: number): void {
  if (features.rank !== 2) {
    throw new Error(`${name} has shape [${features.shape.join(', ')}]: expected [n, dim]`);
  }
  if (n !== undefined && features.shape[0] !== n) {
    throw new Error(`${name} has ${features.shape[0]} rows, labels has ${n} entries`);
  }
}

/**
 * Fits a feature transform on training features `[n, dim]` (float32). `standardize` stores the
 * per-dimension mean and population std (scikit-learn's `StandardScaler`: two-pass float64
 * moments, and std 1 for a constant dimension); `l2` and `none` need no statistics.
 */
export function fitFeatureTransform(features: Tensor2D, mode: FeatureNormalization): FeatureTransform {
  if (mode !== 'standardize') return { mode };
  const [n, d] = features.shape;
  const data = features.dataSync();
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (data[i * d + j] as number);
  }
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / Math.max(n, 1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = (data[i * d + j] as number) - (mean[j] as number);
      sq[j] = (sq[j] as number) + v * v;
    }
  }
  const m = new Float32Array(d);
  const s = new Float32Array(d);
  const eps = Number.EPSILON;
  for (let j = 0; j < d; j++) {
    const mu = mean[j] as number;
    const v = (sq[j] as number) / Math.max(n, 1);
    m[j] = mu;
    // sklearn's _is_constant_feature: the variance is within float64 rounding of 0
    s[j] = v <= n * eps * v + (n * mu * eps) ** 2 ? 1 : Math.sqrt(v);
  }
  return { mode, mean: m, std: s };
}

/**
 * Applies a transform: `l2` divides each row by its norm (rows of norm 0 stay 0), `standardize`
 * subtracts the fitted mean and divides by the std. Returns a new `[n, dim]` float32 tensor.
 */
export function applyFeatureTransform(features: Tensor2D, transform: FeatureTransform): Tensor2D {
  return tf.tidy(() => {
    const x = tf.cast(features, 'float32');
    if (transform.mode === 'l2') return l2Normalize(x);
    if (transform.mode === 'standardize' && transform.mean && transform.std) {
      const d = features.shape[1];
      return tf.reshape(tf.div(tf.sub(x, tf.tensor1d(transform.mean)), tf.tensor1d(transform.std)), [-1, d]);
    }
    return x.clone();
  });
}

/** Rows divided by their L2 norm (norm floored at 1e-12). `[n, dim]` -> `[n, dim]` float32. */
export function l2Normalize(features: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const x = tf.cast(features, 'float32');
    const norm = tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12);
    return tf.div(x, norm) as Tensor2D;
  });
}
