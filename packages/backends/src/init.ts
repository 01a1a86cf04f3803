/**
 * `initBackend`'s steps, the same in Node and browsers: check the name, try the backends (one, or
 * each in the `'auto'` order), and start one: load its package, register tfjs's gradients,
 * activate it. What differs — how packages load, which backends can run at all, how wasm threads
 * start — comes in a {@link Platform} from the entry (node/init.ts, browser/init.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkStarted, trySetBackend } from './activate';
import { BackendUnavailableError } from './errors';
import { checkGpuAvailable } from './gpu';
import { registerTfjsGradients } from './gradients';
import {
  AUTO_ORDER,
  BACKEND_PACKAGES,
  checkBackendName,
  GPU_BACKENDS,
  installMessage,
  isNotFound,
} from './names';
import type { BackendName, ConcreteBackend } from './names';
import type { InitBackendOptions, ModuleLoader } from './options';
import { startWasm } from './wasm_start';
import type { WasmThreadStartup } from './wasm_start';

/** What `initBackend` needs from where it runs. */
export interface Platform {
  /** Loads a package when `options.load` is not given. */
  load: ModuleLoader;
  /** Why `backend` cannot run here at all, or undefined when it can. */
  unsupported?(backend: ConcreteBackend): string | undefined;
  /** How the wasm backend's threads start here. */
  wasmThreads: WasmThreadStartup;
  /** Makes `backend`'s API available before it is checked and loaded (Node: WebGPU from the `webgpu` package). */
  prepare?(backend: ConcreteBackend, options: InitBackendOptions): Promise<void>;
}

async function loadPackage(backend: ConcreteBackend, load: ModuleLoader): Promise<unknown> {
  const { pkg } = BACKEND_PACKAGES[backend];
  try {
    return await load(pkg);
  } catch (error) {
    if (error instanceof BackendUnavailableError) throw error;
    if (isNotFound(error, pkg))
      throw new BackendUnavailableError(
        backend,
        `initBackend('${backend}'): ${installMessage(backend)}`,
        { cause: error },
      );
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendUnavailableError(
      backend,
      `initBackend('${backend}'): ${pkg} failed to load: ${reason}`,
      { cause: error },
    );
  }
}

/** Loads and activates one backend (for wasm, with supcon's training kernels). */
async function startBackend(
  backend: ConcreteBackend,
  platform: Platform,
  options: InitBackendOptions,
): Promise<void> {
  const why = platform.unsupported?.(backend);
  if (why !== undefined)
    throw new BackendUnavailableError(backend, `initBackend('${backend}'): ${why}`);
  await platform.prepare?.(backend, options);
  await checkGpuAvailable(backend);
  const { pkg, tfName } = BACKEND_PACKAGES[backend];
  // A GPU backend the app imported itself (it registers on import) needs no loading here.
  const registered = GPU_BACKENDS.includes(backend) && tf.findBackendFactory(tfName) != null;
  const exports = registered ? undefined : await loadPackage(backend, options.load ?? platform.load);
  if (tf.findBackendFactory(tfName) == null && tf.findBackend(tfName) == null) {
    throw new BackendUnavailableError(
      backend,
      `initBackend('${backend}'): ${pkg} loaded but registered no '${tfName}' backend (is it a different @tensorflow/tfjs-core than ${tf.version_core}?` +
        (backend === 'webgpu' ? ' Or was it imported before navigator.gpu existed? It registers only where WebGPU is, when first imported.' : '') +
        ')',
    );
  }
  await registerTfjsGradients();
  if (backend === 'wasm') {
    await startWasm(exports, platform.wasmThreads, options);
    return;
  }
  checkStarted(backend, tfName, await trySetBackend(tfName));
  await tf.ready();
}

/**
 * `initBackend` on `platform`: starts the backend `name` (`'auto'`: the first of
 * tensorflow-gpu, tensorflow, wasm, cpu that starts; 'webgl' and 'webgpu' only when named, after
 * checking that the GPU API is there) and returns the one in use.
 * @throws Error for an unknown name; {@link BackendUnavailableError} when the named backend's
 *   package is absent (with the `npm i` command), fails to load, registers no backend or cannot
 *   run here; for `'auto'`, an Error listing every backend's reason when none starts.
 */
export async function initBackendOn(
  platform: Platform,
  name: BackendName,
  options: InitBackendOptions,
): Promise<ConcreteBackend> {
  checkBackendName(name);
  if (name !== 'auto') {
    await startBackend(name, platform, options);
    return name;
  }
  const reasons: string[] = [];
  for (const backend of AUTO_ORDER) {
    try {
      await startBackend(backend, platform, options);
      return backend;
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      options.onSkip?.(backend, error);
      reasons.push(`  ${backend}: ${error.message}`);
    }
  }
  throw new Error(`initBackend('auto'): no backend could be started:\n${reasons.join('\n')}`);
}
