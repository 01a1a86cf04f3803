/** Shared by the train benches: the size of tfjs's wasm heap. */
import * as tf from '@tensorflow/tfjs-core';

/** The wasm module's heap in bytes (0 on other backends); it only grows, so it is the peak so far. */
export function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.length ?? 0;
}
