/**
 * WebGPU in Node: tfjs-backend-webgpu needs `navigator.gpu` and the `GPU*` constants of a browser.
 * The npm package `webgpu` (Dawn, Chrome's WebGPU implementation, prebuilt inside the package
 * for Linux x64/arm64, macOS and Windows: its install downloads nothing) provides both. Before
 * `initBackend('webgpu')` loads the tfjs backend, this installs them on `globalThis` unless the
 * app already has a `navigator.gpu`. Nothing happens at import.
 */
import { pathToFileURL } from 'node:url';
import { BackendUnavailableError } from '../errors';
import { isNotFound } from '../names';
import type { ModuleLoader } from '../options';
import { resolveOptional } from './require';

/** What this file uses of the `webgpu` package's exports. */
interface NodeWebGpuModule {
  create(flags: string[]): unknown;
  globals: Record<string, unknown>;
}

/** The optional package that provides WebGPU in Node. */
export const NODE_WEBGPU_PACKAGE = 'webgpu';

/**
 * Imports an ES module package from where {@link resolveOptional} finds it (`webgpu` is
 * ESM-only, so `require` cannot load it in Node 20).
 */
export const importOptional: ModuleLoader = (specifier) => import(pathToFileURL(resolveOptional(specifier)).href);

function hasNavigatorGpu(): boolean {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  return nav?.gpu != null;
}

/**
 * Installs `navigator.gpu` and the WebGPU constants from the `webgpu` package (loaded by `load`),
 * unless `navigator.gpu` already exists.
 * @throws BackendUnavailableError naming the package and the install command when it is absent,
 *   or with the reason when it fails to load or to create a GPU.
 */
export async function provideNodeWebGpu(load: ModuleLoader = importOptional): Promise<void> {
  if (hasNavigatorGpu()) return;
  let mod: NodeWebGpuModule;
  try {
    const loaded = (await load(NODE_WEBGPU_PACKAGE)) as Partial<NodeWebGpuModule> & { default?: Partial<NodeWebGpuModule> };
    const exports = typeof loaded.create === 'function' ? loaded : (loaded.default ?? {});
    if (typeof exports.create !== 'function' || typeof exports.globals !== 'object' || exports.globals === null)
      throw new Error(`it exports no create() and globals (is it the package from npm, dawn-gpu/node-webgpu?)`);
    mod = exports as NodeWebGpuModule;
  } catch (error) {
    if (isNotFound(error, NODE_WEBGPU_PACKAGE))
      throw new BackendUnavailableError(
        'webgpu',
        "initBackend('webgpu'): in Node, WebGPU comes from the optional package 'webgpu' (Dawn, prebuilt inside the npm package; its install downloads nothing), which is not installed." +
          ' Install it in your app with `npm i webgpu @tensorflow/tfjs-backend-webgpu@^4.22.0`, or use wasm',
        { cause: error },
      );
    throw new BackendUnavailableError(
      'webgpu',
      `initBackend('webgpu'): the 'webgpu' package failed to load: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  let gpu: unknown;
  try {
    gpu = mod.create([]);
  } catch (error) {
    throw new BackendUnavailableError(
      'webgpu',
      `initBackend('webgpu'): the 'webgpu' package could not create a GPU instance: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  // GPUBufferUsage, GPUMapMode, GPUTextureUsage, ...: tfjs-backend-webgpu reads them as globals.
  for (const [key, value] of Object.entries(mod.globals)) {
    if (!(key in globalThis)) Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
  }
  const g = globalThis as { navigator?: object };
  if (g.navigator !== undefined) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}
