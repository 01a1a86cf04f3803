/** `initBackend` in Node: every backend, packages found by `require`, threads by worker_threads. */
import { initBackendOn } from '../init';
import type { Platform } from '../init';
import type { BackendName, ConcreteBackend } from '../names';
import type { InitBackendOptions } from '../options';
import { requireOptional } from './require';
import { nodeWasmThreads } from './wasm_thread_startup';
import { importOptional, provideNodeWebGpu } from './webgpu';

const node: Platform = {
  // Never a static import, so bundlers and the ESM/CJS builds leave the optional packages alone.
  load: (specifier) => requireOptional(specifier),
  unsupported(backend) {
    if (backend !== 'webgl') return undefined;
    return "WebGL needs a browser (a canvas with a GPU context); in Node use 'tensorflow-gpu' for a GPU, or 'wasm'";
  },
  wasmThreads: nodeWasmThreads,
  prepare: async (backend, options) => {
    if (backend === 'webgpu') await provideNodeWebGpu(options.load ?? importOptional);
  },
};

/**
 * Loads and activates a tfjs backend, and registers tfjs's gradients (once; importing this
 * package registers nothing).
 * - `'tensorflow-gpu'` / `'tensorflow'`: the optional peers `@tensorflow/tfjs-node-gpu` /
 *   `@tensorflow/tfjs-node` (libtensorflow), loaded at run time, never at import or build time.
 * - `'wasm'`: `@tensorflow/tfjs-backend-wasm` (its `.wasm` files from `wasmPaths` if given), on
 *   `threads` threads (default 1), then `registerWasmTrainingKernels()` (supcon's convolution-
 *   gradient and reduction kernels; see `wasmFeatures()` for SIMD/threads).
 * - `'cpu'`: `@tensorflow/tfjs-backend-cpu` (plain JS; slow, exact reference).
 * - `'webgpu'` (only when named): `@tensorflow/tfjs-backend-webgpu` on the GPU that the optional
 *   package `webgpu` (Dawn, prebuilt inside the npm package) finds; it installs `navigator.gpu`
 *   and the WebGPU constants on `globalThis` unless the app has a `navigator.gpu` already. No
 *   adapter (no GPU, or no driver Dawn can use) is a {@link BackendUnavailableError} that says so.
 * - `'auto'` (default): tries tensorflow-gpu, tensorflow, wasm, cpu in that order.
 * @returns the backend now in use, never `'auto'`.
 * @throws Error `unknown backend 'x': expected one of ...` for a bad name;
 *   {@link BackendUnavailableError} when the named backend's package is absent (with the
 *   `npm i` command), fails to load, or registers no backend; for `'auto'`, an Error listing
 *   every backend's reason when none starts.
 */
export function initBackend(
  name: BackendName = 'auto',
  options: InitBackendOptions = {},
): Promise<ConcreteBackend> {
  return initBackendOn(node, name, options);
}
