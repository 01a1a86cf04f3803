/** Thread counts of the wasm backend, in Node and browsers alike. */
import { engine } from '@tensorflow/tfjs-core';

/** Most threads: tfjs-backend-wasm pre-creates 8 pthread workers and caps its pool there. */
export const WASM_MAX_THREADS = 8;

/** @throws Error naming the allowed range when `threads` is not an integer from 1 to {@link WASM_MAX_THREADS}. */
export function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > WASM_MAX_THREADS) {
    throw new Error(
      `initBackend('wasm'): threads must be an integer from 1 to ${WASM_MAX_THREADS}, got ${threads}`,
    );
  }
}

/** Threads a started wasm backend runs (1 for the single-threaded build). */
export function threadsOfWasmBackend(backend: unknown): number {
  const module = (backend as { wasm?: { tfjs?: { getThreadsCount(): number } } } | undefined)?.wasm;
  return module?.tfjs?.getThreadsCount() ?? 1;
}

/**
 * Whether the wasm backend has started (its thread count is then fixed). Unlike
 * `tf.findBackend('wasm')`, starts nothing: that call begins an initialisation whose flag reads
 * would race the thread set-up.
 */
export function wasmBackendStarted(): boolean {
  return 'wasm' in engine().registry;
}
