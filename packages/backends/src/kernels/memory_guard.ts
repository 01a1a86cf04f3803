/**
 * A clear error instead of "memory access out of bounds" when the wasm heap is exhausted.
 * tfjs-backend-wasm allocates every tensor with `malloc` on a wasm32 heap that can grow to
 * 4 GiB (4294901760 bytes); a failed `malloc` returns 0 and the backend then writes at address 0,
 * and a request of 4 GiB or more wraps around to a small one. The guard wraps the backend's
 * `malloc` and throws an Error that names the limit and what to do.
 */
import type { KernelBackend } from '@tensorflow/tfjs-core';

/** The wasm32 heap ceiling of tfjs-backend-wasm 4.x (bytes). */
export const WASM_HEAP_MAX_BYTES = 4294901760;

/**
 * Headroom (bytes) kept free at the top of the heap for the backend's own C++ allocations
 * (tensor registry, XNNPACK operators): when those fail the module aborts with no message.
 */
export const WASM_HEAP_HEADROOM_BYTES = 64 * 2 ** 20;

interface WasmModuleLike {
  _malloc: (bytes: number) => number;
  _free: (ptr: number) => void;
  HEAPU8: Uint8Array;
  supconGuarded?: boolean;
}

/**
 * Installs the heap guard on a wasm backend instance (idempotent); a no-op for other backends.
 * Afterwards a tensor allocation that does not fit throws
 * `wasm backend: out of memory allocating N MiB (heap M MiB, limit 4095 MiB) ...`.
 */
export function installWasmMemoryGuard(backend: KernelBackend | undefined): void {
  const wasm = (backend as unknown as { wasm?: WasmModuleLike } | undefined)?.wasm;
  if (wasm == null || typeof wasm._malloc !== 'function' || wasm.supconGuarded === true) return;
  // Emscripten's `_malloc` is a stub that replaces itself with the raw export on first call, so
  // the guard is a property whose setter keeps such replacements underneath it.
  let inner: (bytes: number) => number = wasm._malloc;
  const fail = (bytes: number): never => {
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    throw new Error(
      `wasm backend: out of memory allocating ${mib(bytes)} MiB (heap ${mib(wasm.HEAPU8.length)} MiB, ` +
        `limit ${mib(WASM_HEAP_MAX_BYTES)} MiB, the wasm32 maximum, less ${mib(WASM_HEAP_HEADROOM_BYTES)} MiB headroom). Reduce the batch size (or split the ` +
        `batch and accumulate gradients), use a smaller model or input size, or dispose tensors you no longer need.`,
    );
  };
  const guarded = (bytes: number): number => {
    if (bytes >= WASM_HEAP_MAX_BYTES) fail(bytes);
    const ptr = inner(bytes) >>> 0;
    if (ptr === 0 && bytes > 0) fail(bytes);
    if (ptr + bytes > WASM_HEAP_MAX_BYTES - WASM_HEAP_HEADROOM_BYTES) {
      wasm._free(ptr);
      fail(bytes);
    }
    return ptr;
  };
  Object.defineProperty(wasm, '_malloc', {
    configurable: true,
    enumerable: true,
    get: () => guarded,
    set: (next: (bytes: number) => number) => {
      inner = next;
    },
  });
  wasm.supconGuarded = true;
}
