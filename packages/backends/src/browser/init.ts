/**
 * `initBackend` in a browser: 'wasm' and 'cpu' (and 'auto', which lands on one of them), loaded
 * by the bundler's `import()`; the libtensorflow backends need Node.
 */
import { BackendUnavailableError } from '../errors';
import { initBackendOn } from '../init';
import type { Platform } from '../init';
import { BACKEND_PACKAGES, GPU_BACKENDS, TFJS_RANGE } from '../names';
import type { BackendName, ConcreteBackend } from '../names';
import type { InitBackendOptions } from '../options';
import { browserWasmThreads } from './wasm_threads';

/** The packages a browser bundle can start, as the bundler's `import()` (peer dependencies). */
const IMPORTS: Readonly<Record<string, () => Promise<unknown>>> = {
  [BACKEND_PACKAGES.wasm.pkg]: () => import('@tensorflow/tfjs-backend-wasm'),
  [BACKEND_PACKAGES.cpu.pkg]: () => import('@tensorflow/tfjs-backend-cpu'),
};

const browser: Platform = {
  load(specifier) {
    const load = IMPORTS[specifier];
    if (load !== undefined) return load();
    const gpu = GPU_BACKENDS.find((b) => BACKEND_PACKAGES[b].pkg === specifier);
    if (gpu !== undefined)
      throw new BackendUnavailableError(
        gpu,
        `initBackend('${gpu}'): ${specifier} is not loaded. supcon does not import it in a browser (so that bundles without it still build):` +
          ` \`npm i ${specifier}@${TFJS_RANGE}\`, then \`import '${specifier}'\` in your app before initBackend('${gpu}'),` +
          ` or pass \`load: () => import('${specifier}')\``,
      );
    throw new Error(`no browser import for '${specifier}'`);
  },
  unsupported(backend) {
    if (backend !== 'tensorflow' && backend !== 'tensorflow-gpu') return undefined;
    return (
      `${BACKEND_PACKAGES[backend].pkg} runs libtensorflow in a Node addon, so it cannot run in a browser;` +
      " use 'wasm' or 'cpu' (or 'auto', which picks one of them here)"
    );
  },
  wasmThreads: browserWasmThreads,
};

/**
 * Loads and activates a tfjs backend in a browser, and registers tfjs's gradients (once;
 * importing this package registers nothing).
 * - `'wasm'`: `@tensorflow/tfjs-backend-wasm`, its `.wasm` files fetched from `wasmPaths`
 *   (default: next to the bundle), on threads only where the page is cross-origin isolated; then
 *   supcon's training kernels (`registerWasmTrainingKernels()`).
 * - `'cpu'`: `@tensorflow/tfjs-backend-cpu` (plain JS).
 * - `'webgl'`, `'webgpu'`: the GPU backends, only when named. supcon does not import their
 *   packages (a bundle without them must still build): `import '@tensorflow/tfjs-backend-webgl'`
 *   (or `-webgpu`) in the app first, or pass `load: () => import(...)`. Refused with a sentence
 *   when the page has no WebGL context, no `navigator.gpu` or no WebGPU adapter. They train with
 *   tfjs's stock kernels (supcon's training kernels are for wasm), in float32 where the GPU can
 *   render to float textures (tfjs's `WEBGL_RENDER_FLOAT32_CAPABLE`).
 * - `'auto'` (default): wasm, else cpu (`onSkip` hears the libtensorflow backends skipped).
 * - `'tensorflow'`, `'tensorflow-gpu'`: BackendUnavailableError (Node only).
 * @returns the backend now in use, never `'auto'`.
 * @throws Error for an unknown name; BackendUnavailableError when the backend cannot load or start here.
 */
export function initBackend(
  name: BackendName = 'auto',
  options: InitBackendOptions = {},
): Promise<ConcreteBackend> {
  return initBackendOn(browser, name, options);
}
