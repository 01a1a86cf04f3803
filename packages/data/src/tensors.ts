import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '@supcon/core';

/**
 * The images at `indices` as float32 `[b, h, w, c]` in [0, 1] (or raw 0..255 with
 * `scale: false`), plus their labels as int32 `[b]`. The uint8 dataset is gathered straight into
 * one Float32Array that becomes the tensor: one copy, and the dataset itself stays uint8.
 */
export function batchToTensor(dataset: ImageDataset, indices: ArrayLike<number>, options: { scale?: boolean } = {}): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  const [h, w, c] = dataset.shape;
  const size = h * w * c;
  const factor = options.scale === false ? 1 : 1 / 255;
  const pixels = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!(Number.isInteger(index) && index >= 0 && index < dataset.size)) throw new RangeError(`batchToTensor: index ${index} is outside the dataset (size ${dataset.size})`);
    const base = index * size;
    const out = i * size;
    for (let j = 0; j < size; j++) pixels[out + j] = dataset.images[base + j] * factor;
    labels[i] = dataset.labels[index];
  }
  return { images: tf.tensor4d(pixels, [indices.length, h, w, c]), labels: tf.tensor1d(labels, 'int32') };
}
