/**
 * The wasm backend's threads in Node: `threads` above 1 starts tfjs's threaded build through the
 * patches of wasm_threads.ts; a failure throws, or with `onThreadsFallback` starts the
 * single-threaded build and says why. supcon's kernels then split their work over as many worker
 * threads (train_kernel_workers.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '../errors';
import { BACKEND_PACKAGES } from '../names';
import { checkThreads, wasmBackendStarted } from '../threads';
import type { WasmThreadStartup } from '../wasm_start';
import { resolveOptional } from './require';
import { startTrainKernelWorkers } from './train_kernel_workers';
import { abandonWasmThreads, prepareWasmThreads, settleWasmThreads } from './wasm_threads';
import type { WasmPackage } from './wasm_threads';

/**
 * Sets up tfjs's threaded wasm build when more than one thread is asked for; returns the undo
 * function of its patches (undefined when there is nothing to prepare).
 * @throws Error for a bad count; BackendUnavailableError when the threaded build cannot be set up.
 */
function prepareThreads(exports: unknown, threads: number): (() => void) | undefined {
  checkThreads(threads);
  // Already started (threads fixed), one thread asked for, or not Node: nothing to prepare.
  if (wasmBackendStarted() || threads === 1 || typeof process?.versions?.node !== 'string')
    return undefined;
  try {
    // The bundle file only supplies the pthread worker script, the same in any 4.22 install.
    const bundleFile = resolveOptional(BACKEND_PACKAGES.wasm.pkg);
    return prepareWasmThreads(threads, exports as WasmPackage, bundleFile, tf.env());
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendUnavailableError(
      'wasm',
      `initBackend('wasm', { threads: ${threads} }): ${reason} (threads: 1 starts the single-threaded build; in a config, set \`threads: 1\`)`,
      { cause: error },
    );
  }
}

/** The wasm thread start-up of the Node entry. */
export const nodeWasmThreads: WasmThreadStartup = {
  async prepare(exports, { threads, onThreadsFallback }) {
    if (threads === undefined) return {};
    try {
      return { expected: threads, restore: prepareThreads(exports, threads) };
    } catch (error) {
      if (!(error instanceof BackendUnavailableError) || onThreadsFallback === undefined)
        throw error;
      onThreadsFallback(error.message);
      return { expected: 1 };
    }
  },
  fallback(error, expected, { onThreadsFallback }) {
    if (onThreadsFallback === undefined) return false;
    // The threaded build did not start: drop its workers and start the single-threaded one.
    abandonWasmThreads();
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const reason = error instanceof Error ? error.message : 'tf.setBackend returned false';
    onThreadsFallback(
      `initBackend('wasm', { threads: ${expected} }): the threaded build failed to start: ${reason}`,
    );
    return true;
  },
  settle: settleWasmThreads,
  startKernelWorkers: startTrainKernelWorkers,
};
