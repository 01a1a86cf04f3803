/**
 * A trained encoder in a web app, with plain TensorFlow.js: start a backend, load the exported
 * folder (model.json, weight shards, supcon.json), turn images into L2-normalised features and
 * find the nearest ones by cosine similarity. No DOM: this runs in a Web Worker (worker.ts) as well
 * as on a page. The docs site's nearest-neighbours page (docs/neighbours.md) runs it, and the
 * guide "Using a trained encoder in a web app" (docs/guide/web-app.md) shows it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { EncoderMetadata } from '@supcon/train';

/**
 * The backends this app ships: tfjs-backend-wasm and tfjs-backend-cpu, imported above, and
 * tfjs-backend-webgl, imported on demand (in a worker it draws on an OffscreenCanvas).
 */
export type BackendChoice = 'wasm' | 'webgl' | 'cpu';

// #region backend
/**
 * Starts `preferred` (falling back to the cpu backend when it cannot run here) and resolves to
 * the backend in use. wasm needs to know where its three .wasm files are served (copied from
 * node_modules/@tensorflow/tfjs-backend-wasm/dist/).
 */
export async function startBackend(preferred: BackendChoice, wasmPaths: string): Promise<string> {
  if (preferred === 'wasm') setWasmPaths(wasmPaths); // e.g. '/wasm/': a folder URL ending in '/'
  // The WebGL backend registers itself when its package loads: load it only when asked for.
  if (preferred === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
  for (const name of [preferred, 'cpu']) {
    if (await tf.setBackend(name)) {
      await tf.ready();
      return tf.getBackend();
    }
  }
  throw new Error(`no tfjs backend could start (tried ${preferred} and cpu)`);
}
// #endregion backend

/** An encoder ready to embed: the tfjs-layers model and its supcon.json. */
export interface Encoder {
  model: tfl.LayersModel;
  metadata: EncoderMetadata;
}

/** `https://host/encoder` or `.../encoder/` -> `.../encoder/`. */
const folder = (url: string) => (url.endsWith('/') ? url : `${url}/`);

// #region load-tfjs
/**
 * Loads an export with nothing but tfjs: model.json (its shards are fetched next to it) with
 * `tf.loadLayersModel`, and supcon.json, which says what the model expects of its input.
 */
export async function loadWithTfjs(url: string): Promise<Encoder> {
  const base = folder(url);
  const [model, metadata] = await Promise.all([
    tfl.loadLayersModel(`${base}model.json`),
    fetch(`${base}supcon.json`).then(async (response) => {
      if (!response.ok) throw new Error(`${base}supcon.json: HTTP ${response.status}`);
      return (await response.json()) as EncoderMetadata;
    }),
  ]);
  if (metadata.format !== 'supcon-encoder' || metadata.normalization !== 'uint8 / 255 → [0, 1]')
    throw new Error(`${base}supcon.json: not an encoder this page knows how to feed`);
  return { model, metadata };
}
// #endregion load-tfjs

// #region load-supcon
/**
 * The same with @supcon/train's `loadEncoder` (its browser entry, imported on demand): it fetches
 * the same files and checks supcon.json (format, version, input shape) before the model loads.
 */
export async function loadWithSupcon(url: string): Promise<Encoder> {
  const { loadEncoder } = await import('@supcon/train');
  const encoder = await loadEncoder(url); // encoder.embed(pixels) would normalise for you, too
  return { model: encoder.model, metadata: encoder.metadata };
}
// #endregion load-supcon

// #region embed
/**
 * Features of `n` images given as uint8 pixels (`n * h * w * c` bytes, in supcon.json's
 * `inputShape`), L2-normalised so that a dot product is their cosine similarity: `[n, featureDim]`.
 * The pixels are divided by 255, as in training (supcon.json's `normalization`); no mean or
 * standard deviation is subtracted. Computed in batches; every intermediate tensor is freed.
 */
export function embed(
  encoder: Encoder,
  pixels: Uint8Array | Uint8ClampedArray,
  batchSize = 256,
): tf.Tensor2D {
  const [h, w, c] = encoder.metadata.inputShape;
  const size = h * w * c;
  const n = pixels.length / size;
  if (!Number.isInteger(n))
    throw new Error(`${pixels.length} bytes are not a whole number of ${h}x${w}x${c} images`);
  const batches: tf.Tensor2D[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    batches.push(
      tf.tidy(() => {
        const bytes = Float32Array.from(pixels.subarray(start * size, (start + count) * size));
        const x = tf.div(tf.tensor4d(bytes, [count, h, w, c]), 255); // uint8 / 255 -> [0, 1]
        const features = encoder.model.predict(x) as tf.Tensor2D; // inference mode
        return tf.div(features, tf.maximum(tf.norm(features, 'euclidean', 1, true), 1e-12));
      }),
    );
  }
  const all = batches.length === 1 ? batches[0] : tf.concat(batches);
  if (batches.length > 1) tf.dispose(batches);
  return all;
}
// #endregion embed

// #region nearest
export interface Neighbour {
  /** Row of the gallery. */
  index: number;
  /** Cosine similarity to the query, in [-1, 1]. */
  similarity: number;
}

/**
 * The `k` rows of `gallery` (`[n, d]`, L2-normalised) most similar to `query` (`[1, d]`, too),
 * best first: one matrix product gives every cosine similarity, `topk` the largest.
 */
export async function nearest(
  gallery: tf.Tensor2D,
  query: tf.Tensor2D,
  k: number,
): Promise<Neighbour[]> {
  const { values, indices } = tf.tidy(() => {
    const similarities = tf.reshape(tf.matMul(gallery, query, false, true), [-1]); // [n]
    return tf.topk(similarities, Math.min(k, gallery.shape[0])); // sorted, largest first
  });
  const [v, i] = await Promise.all([values.data(), indices.data()]); // without blocking the thread
  tf.dispose([values, indices]);
  return Array.from(i, (index, j) => ({ index, similarity: v[j] }));
}
// #endregion nearest
