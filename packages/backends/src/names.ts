/**
 * The backend names (@supcon/core's list, the one configs are validated against), the order
 * `'auto'` tries, and the npm package each backend needs.
 */
import { BACKENDS } from '@supcon/core';
import type { BackendName } from '@supcon/core';

export type { BackendName };

/**
 * Names `initBackend` accepts: @supcon/core's `BACKENDS`. `'auto'` picks the fastest backend that
 * starts.
 */
export const BACKEND_NAMES = BACKENDS;

/** A backend `initBackend` resolves to (every name but `'auto'`). */
export type ConcreteBackend = Exclude<BackendName, 'auto'>;

/** The order `'auto'` tries. */
export const AUTO_ORDER: readonly ConcreteBackend[] = [
  'tensorflow-gpu',
  'tensorflow',
  'wasm',
  'cpu',
];

/** Each backend's npm package and the name it registers with tfjs. */
export const BACKEND_PACKAGES: Readonly<
  Record<ConcreteBackend, { readonly pkg: string; readonly tfName: string }>
> = {
  'tensorflow-gpu': { pkg: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  tensorflow: { pkg: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  wasm: { pkg: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  cpu: { pkg: '@tensorflow/tfjs-backend-cpu', tfName: 'cpu' },
  webgl: { pkg: '@tensorflow/tfjs-backend-webgl', tfName: 'webgl' },
  webgpu: { pkg: '@tensorflow/tfjs-backend-webgpu', tfName: 'webgpu' },
};

/** The tfjs versions this package is built and tested against. */
export const TFJS_RANGE = '^4.22.0';

/** The GPU backends of browsers: started only when named (never by `'auto'`). */
export const GPU_BACKENDS: readonly ConcreteBackend[] = ['webgl', 'webgpu'];

/**
 * Checks a name given to `initBackend`.
 * @throws Error `initBackend: unknown backend 'x': expected one of ...`.
 */
export function checkBackendName(name: unknown): asserts name is BackendName {
  if ((BACKEND_NAMES as readonly unknown[]).includes(name)) return;
  throw new Error(
    `initBackend: unknown backend '${String(name)}': expected one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}`,
  );
}

/** The install advice for a backend whose package is absent. */
export function installMessage(backend: ConcreteBackend): string {
  const { pkg } = BACKEND_PACKAGES[backend];
  let text = `${pkg} is not installed. Install it in your app with \`npm i ${pkg}@${TFJS_RANGE}\``;
  if (backend === 'tensorflow' || backend === 'tensorflow-gpu') {
    text +=
      '. Its install script downloads libtensorflow' +
      (backend === 'tensorflow-gpu'
        ? ' for CUDA (needs an NVIDIA GPU with matching CUDA and cuDNN libraries)'
        : '') +
      ' from storage.googleapis.com, so installing needs network access, and prebuilt binaries exist only for' +
      ' some Node versions and platforms (see its README). Without it, use the wasm backend.';
  }
  return text;
}

/** Whether `error` says that the module `pkg` is absent (not that it failed to load). */
export function isNotFound(error: unknown, pkg: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // Duck-typed: errors from another realm (jest's module sandbox) fail `instanceof Error`.
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message !== 'string' || !message.includes(`'${pkg}'`)) return false;
  return (
    code === 'MODULE_NOT_FOUND' ||
    code === 'ERR_MODULE_NOT_FOUND' ||
    /cannot find (module|package)/i.test(message)
  );
}
