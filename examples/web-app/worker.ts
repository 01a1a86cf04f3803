/**
 * The encoder in a Web Worker: the model, the gallery's features and every tfjs kernel live on
 * this thread, so loading, embedding 1000 images and each lookup leave the page responsive. The
 * page talks to it with the messages of protocol.ts (client.ts is its side).
 */
import * as tf from '@tensorflow/tfjs-core';
import { embed, loadWithSupcon, loadWithTfjs, nearest, startBackend } from './encoder';
import type { Encoder } from './encoder';
import type { WorkerReply, WorkerRequest } from './protocol';

// #region worker
let encoder: Encoder | undefined;
let gallery: tf.Tensor2D | undefined;
let backendStarted: string | undefined;
const reply = (message: WorkerReply) => self.postMessage(message);

self.onmessage = async ({ data: request }: MessageEvent<WorkerRequest>) => {
  try {
    if (request.type === 'init') {
      const started = performance.now();
      backendStarted ??= await startBackend(request.backend, request.wasmPaths); // once a worker
      // A new encoder or gallery replaces the old: free the old one's weights and features first.
      gallery?.dispose();
      encoder?.model.dispose();
      gallery = encoder = undefined;
      encoder = await (request.loader === 'supcon' ? loadWithSupcon : loadWithTfjs)(
        request.encoderUrl,
      );
      gallery = embed(encoder, request.gallery);
      reply({
        type: 'ready',
        backend: backendStarted,
        metadata: encoder.metadata,
        gallerySize: gallery.shape[0],
        ms: performance.now() - started,
      });
    } else {
      if (!encoder || !gallery) throw new Error('no encoder yet: send init first');
      const started = performance.now();
      const query = embed(encoder, request.pixels);
      let neighbours;
      try {
        neighbours = await nearest(gallery, query, request.k);
      } finally {
        query.dispose();
      }
      const ms = performance.now() - started;
      // The tensors alive now: the model's weights and the gallery's features, after every query.
      reply({
        type: 'neighbours',
        id: request.id,
        neighbours,
        ms,
        tensors: tf.memory().numTensors,
      });
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    reply({ type: 'error', ...(request.type === 'query' ? { id: request.id } : {}), message });
  }
};
// #endregion worker
