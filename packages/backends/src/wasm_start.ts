/**
 * Starting the wasm backend: its `.wasm` location, its threads (set up by a
 * {@link WasmThreadStartup} of the Node or the browser entry), then supcon's training kernels on
 * its memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkStarted, trySetBackend } from './activate';
import { BackendUnavailableError } from './errors';
import { registerWasmTrainingKernels } from './kernels/register';
import { prepareTrainKernels } from './native/train_kernels';
import type { InitBackendOptions, WasmPaths } from './options';
import { wasmBackendStarted } from './threads';

/** How threads are set up where the wasm backend starts (Node: node/wasm_thread_startup.ts; browsers: browser/wasm_threads.ts). */
export interface WasmThreadStartup {
  /**
   * Before `tf.setBackend('wasm')`: prepares the threads asked for. Returns how many the backend
   * must then run (undefined: whatever tfjs picks) and a function that undoes temporary patches,
   * called once the start has succeeded or failed.
   */
  prepare(
    wasm: unknown,
    options: InitBackendOptions,
  ): Promise<{ expected?: number; restore?: () => void }>;
  /**
   * After the threaded build (`expected` threads) failed to start with `error`: prepares the
   * single-threaded one and returns true to try again, or returns false to fail.
   */
  fallback(error: unknown, expected: number, options: InitBackendOptions): boolean;
  /** After the start: the threads the backend runs (in Node, also lets its idle workers not hold the process). */
  settle(backend: object): number;
  /** Starts the threads that split supcon's kernels (Node only; browsers keep them on the page's thread). */
  startKernelWorkers?(backend: object, threads: number): Promise<void>;
}

interface WasmPackageWithPaths {
  setWasmPaths?(prefixOrFileMap: WasmPaths): void;
}

/** Hands `wasmPaths` to tfjs-backend-wasm (a folder gets its trailing `/`). */
function setWasmPaths(wasm: unknown, paths: WasmPaths): void {
  const set = (wasm as WasmPackageWithPaths | null)?.setWasmPaths;
  if (typeof set !== 'function')
    throw new BackendUnavailableError(
      'wasm',
      "initBackend('wasm', { wasmPaths }): the loaded @tensorflow/tfjs-backend-wasm has no setWasmPaths",
    );
  const value = typeof paths === 'string' && !paths.endsWith('/') ? `${paths}/` : paths;
  set.call(wasm, value);
}

/**
 * Starts the wasm backend from its loaded package `wasm`, then registers supcon's training kernels
 * and instantiates them on the backend's memory.
 * @throws BackendUnavailableError when it cannot start, or runs another thread count than asked
 *   for (threads are fixed when it first starts).
 */
export async function startWasm(
  wasm: unknown,
  threads: WasmThreadStartup,
  options: InitBackendOptions,
): Promise<void> {
  if (!wasmBackendStarted() && options.wasmPaths !== undefined)
    setWasmPaths(wasm, options.wasmPaths);
  let { expected, restore } = await threads.prepare(wasm, options);
  const attempt = async () => {
    try {
      return await trySetBackend('wasm');
    } finally {
      restore?.();
      restore = undefined;
    }
  };
  let result = await attempt();
  if (!result.ok && expected !== undefined && expected > 1) {
    if (
      threads.fallback(result.error ?? new Error('tf.setBackend returned false'), expected, options)
    ) {
      expected = 1;
      result = await attempt();
    }
  }
  checkStarted('wasm', 'wasm', result);
  await tf.ready();
  const used = threads.settle(tf.backend());
  if (expected !== undefined && used !== expected) {
    throw new BackendUnavailableError(
      'wasm',
      `initBackend('wasm', { threads: ${expected} }): the wasm backend runs ${used} thread(s); threads are fixed when it first starts in a process, so call initBackend before anything else uses the wasm backend`,
    );
  }
  registerWasmTrainingKernels();
  await prepareTrainKernels(tf.backend());
  // supcon's own kernels split their work over the same number of threads.
  await threads.startKernelWorkers?.(tf.backend(), used);
}
