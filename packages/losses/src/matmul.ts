/**
 * Matrix products for the SupCon paths: `a @ bᵀ` with gradients (the composed path) and without
 * (the fused path), both through XNNPACK on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * `a @ bᵀ` for `[m, d]` and `[n, d]`. On the wasm backend it runs as a 1x1 convolution, which
 * goes through XNNPACK (several times faster than the backend's BatchMatMul at these sizes, and
 * its gradients through supcon's wasm conv kernels when they are registered).
 */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  // Differentiable only where the convolution's gradient kernels are registered.
  if (tf.getBackend() === 'wasm' && tf.getKernel('Conv2DBackpropFilter', 'wasm') == null)
    return tf.matMul(a, b, false, true);
  return product(a, b, true);
}

/** `a @ bᵀ` or `a @ b` without gradients: on wasm always through XNNPACK (1x1 convolution). */
export function product(a: tf.Tensor2D, b: tf.Tensor2D, transposeB: boolean): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b, false, transposeB);
  const [m, k] = a.shape;
  const w = transposeB ? tf.transpose(b) : b;
  const x = tf.reshape(a, [1, 1, m, k]) as tf.Tensor4D;
  return tf.reshape(tf.conv2d(x, tf.reshape(w, [1, 1, k, w.shape[1]]) as tf.Tensor4D, 1, 'valid'), [
    m,
    w.shape[1],
  ]) as tf.Tensor2D;
}
