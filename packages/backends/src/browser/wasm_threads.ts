/**
 * The wasm backend's threads in a browser. tfjs's threaded build needs `SharedArrayBuffer`, which
 * a page only has when it is cross-origin isolated (served with `Cross-Origin-Opener-Policy:
 * same-origin` and `Cross-Origin-Embedder-Policy: require-corp`): there it starts `threads`
 * pthreads (default: tfjs's choice, half the logical cores); elsewhere, or when the threaded build
 * fails, the single-threaded one, and `onThreadsFallback` (else `console.warn`) says why.
 *
 * tfjs's C side caps the pool at `navigator.hardwareConcurrency / 2` (it assumes two hyper-threads
 * a core), so an explicit `threads: n` reports 2n logical cores while the backend starts, as the
 * Node entry does (node/wasm_threads.ts): n threads, whatever the machine.
 *
 * supcon's own kernels run on the page's thread, which may not block in `Atomics.wait` to wait
 * for workers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { InitBackendOptions } from '../options';
import { checkThreads, threadsOfWasmBackend, wasmBackendStarted } from '../threads';
import type { WasmThreadStartup } from '../wasm_start';

interface WasmThreadsApi {
  setThreadsCount?(threads: number): void;
}

const ISOLATION_HINT =
  'serve the page with the headers `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`';

function report({ onThreadsFallback }: InitBackendOptions, reason: string): void {
  if (onThreadsFallback !== undefined) onThreadsFallback(reason);
  else console.warn(reason);
}

/** Makes `navigator.hardwareConcurrency` read `cores` until the returned function is called. */
function reportCores(cores: number): (() => void) | undefined {
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav === undefined || Object.prototype.hasOwnProperty.call(nav, 'hardwareConcurrency'))
    return undefined;
  try {
    Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, get: () => cores });
  } catch {
    return undefined; // tfjs's own cap then applies; initBackend reports the count it got
  }
  return () => {
    delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  };
}

/** Whether this page (or worker) may share memory between threads. */
export function crossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: unknown }).crossOriginIsolated === true;
}

/** The wasm thread start-up of the browser entry. */
export const browserWasmThreads: WasmThreadStartup = {
  async prepare(exports, options) {
    const { threads } = options;
    if (threads !== undefined) checkThreads(threads);
    // Started before: its thread count is fixed (initBackend checks it).
    if (wasmBackendStarted()) return { expected: threads };
    if (!crossOriginIsolated()) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (threads !== undefined && threads > 1) {
        report(
          options,
          `initBackend('wasm', { threads: ${threads} }): this page is not cross-origin isolated, so the wasm backend runs one thread (for threads, ${ISOLATION_HINT})`,
        );
        return { expected: 1 };
      }
      return { expected: threads };
    }
    if (threads === 1) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      return { expected: 1 };
    }
    if (threads === undefined) return {};
    if ((await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) !== true) {
      report(
        options,
        `initBackend('wasm', { threads: ${threads} }): this browser has no threaded WebAssembly, so the wasm backend runs one thread`,
      );
      return { expected: 1 };
    }
    (exports as WasmThreadsApi | null)?.setThreadsCount?.(threads);
    return { expected: threads, restore: reportCores(2 * threads) };
  },
  fallback(error, expected, options) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const reason = error instanceof Error ? error.message : String(error);
    report(
      options,
      `initBackend('wasm', { threads: ${expected} }): the threaded build failed to start (${reason}); running one thread`,
    );
    return true;
  },
  settle: threadsOfWasmBackend,
};
