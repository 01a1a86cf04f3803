import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from './kernels/register';

/** Backends `initBackend` accepts. `'auto'` picks the fastest one that loads. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'auto'] as const;
/** A name accepted by {@link initBackend}. */
export type BackendName = (typeof BACKEND_NAMES)[number];
/** A backend `initBackend` can resolve to (every name but `'auto'`). */
export type ResolvedBackendName = Exclude<BackendName, 'auto'>;

/** The order `'auto'` tries. */
export const AUTO_ORDER: readonly ResolvedBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** The npm package each backend needs, and the tfjs backend name it registers. */
export const BACKEND_PACKAGES: Readonly<Record<ResolvedBackendName, { pkg: string; tfName: string }>> = {
  'tensorflow-gpu': { pkg: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  tensorflow: { pkg: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  wasm: { pkg: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  cpu: { pkg: '@tensorflow/tfjs-backend-cpu', tfName: 'cpu' },
};

/** Loads a module by name (a dynamic `import`/`require` that bundlers leave alone). */
export type ModuleLoader = (specifier: string) => Promise<unknown>;

declare const require: ((id: string) => unknown) | undefined;

/**
 * The default loader: `require` in CommonJS (the CJS build, jest), otherwise a native
 * `import()` hidden from bundlers, so optional peers such as `@tensorflow/tfjs-node` are
 * never resolved at build time.
 */
export const defaultModuleLoader: ModuleLoader = async (specifier) => {
  if (typeof require === 'function') return require(specifier);
  const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;
  return dynamicImport(specifier);
};

/** Thrown when a backend's package is absent or fails to load; `message` says how to install it. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: ResolvedBackendName,
    message: string,
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

/** Options for {@link initBackend} and {@link probeBackends}. */
export interface InitBackendOptions {
  /** Module loader (default {@link defaultModuleLoader}); tests inject absent modules through it. */
  loadModule?: ModuleLoader;
}

function installHint(backend: ResolvedBackendName): string {
  const { pkg } = BACKEND_PACKAGES[backend];
  if (backend === 'tensorflow' || backend === 'tensorflow-gpu') {
    return (
      `install it with \`npm i ${pkg}\`. Its install script downloads libtensorflow` +
      `${backend === 'tensorflow-gpu' ? ' (CUDA build; needs a matching CUDA/cuDNN)' : ''} from storage.googleapis.com, ` +
      `so it needs network access at install time, and it ships prebuilt binaries only for some ` +
      `Node versions (check its README; if none fits, use initBackend('wasm'))`
    );
  }
  return `install it with \`npm i ${pkg}\``;
}

function isModuleNotFound(error: unknown, pkg: string): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && error.message.includes(pkg);
}

async function loadBackendPackage(backend: ResolvedBackendName, load: ModuleLoader): Promise<unknown> {
  const { pkg } = BACKEND_PACKAGES[backend];
  try {
    return await load(pkg);
  } catch (error) {
    if (isModuleNotFound(error, pkg)) {
      throw new BackendUnavailableError(backend, `initBackend: backend '${backend}' needs ${pkg}, which is not installed; ${installHint(backend)}.`, error);
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendUnavailableError(backend, `initBackend: backend '${backend}': ${pkg} failed to load (${reason}); ${installHint(backend)}.`, error);
  }
}

function versionOf(mod: unknown, key: string): string | undefined {
  if (mod !== null && typeof mod === 'object' && key in mod) {
    const v = (mod as Record<string, unknown>)[key];
    if (typeof v === 'string') return v;
    if (v !== null && typeof v === 'object') {
      const inner = Object.values(v as Record<string, unknown>).find((x) => typeof x === 'string');
      if (typeof inner === 'string') return inner;
    }
  }
  return undefined;
}

const VERSION_KEYS: Record<ResolvedBackendName, string> = {
  'tensorflow-gpu': 'version',
  tensorflow: 'version',
  wasm: 'version_wasm',
  cpu: 'version_cpu',
};

/** What {@link backendInfo} reports about the active backend. */
export interface BackendInfo {
  /** The supcon name of the active backend (`undefined` when tfjs has none of ours active). */
  name: ResolvedBackendName | undefined;
  /** tfjs's own backend name (`'tensorflow'`, `'wasm'`, `'cpu'`, ...). */
  tfBackend: string;
  /** `@tensorflow/tfjs-core` version. */
  tfjsVersion: string;
  /** wasm only: SIMD and multi-threading in use. */
  wasm?: { simd: boolean; threads: boolean };
}

let activeName: ResolvedBackendName | undefined;

async function wasmFeatures(): Promise<{ simd: boolean; threads: boolean }> {
  const flag = async (name: string): Promise<boolean> => {
    try {
      return Boolean(await tf.env().getAsync(name));
    } catch {
      return false;
    }
  };
  return { simd: await flag('WASM_HAS_SIMD_SUPPORT'), threads: await flag('WASM_HAS_MULTITHREAD_SUPPORT') };
}

async function activate(backend: ResolvedBackendName, load: ModuleLoader): Promise<void> {
  await loadBackendPackage(backend, load);
  const { tfName } = BACKEND_PACKAGES[backend];
  let ok = false;
  try {
    ok = await tf.setBackend(tfName);
  } catch (error) {
    throw new BackendUnavailableError(backend, `initBackend: backend '${backend}' loaded but failed to start: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (!ok) throw new BackendUnavailableError(backend, `initBackend: backend '${backend}' loaded but tf.setBackend('${tfName}') failed (see the warning above)`);
  await tf.ready();
  if (backend === 'wasm') registerWasmTrainingKernels();
  activeName = backend;
}

/**
 * Loads and activates a tfjs backend. `'tensorflow-gpu'` and `'tensorflow'` need the optional
 * peers `@tensorflow/tfjs-node-gpu` / `@tensorflow/tfjs-node`, loaded dynamically; `'wasm'`
 * needs `@tensorflow/tfjs-backend-wasm` and registers supcon's wasm training kernels
 * (`registerWasmTrainingKernels`); `'cpu'` needs `@tensorflow/tfjs-backend-cpu`.
 * `'auto'` (default) tries tensorflow-gpu, tensorflow, wasm, cpu in that order.
 * @returns the name in use, never `'auto'`.
 * @throws Error listing the valid names for an unknown `name`; {@link BackendUnavailableError}
 *   (with the `npm i ...` command) when the named backend's package is absent or fails to start;
 *   for `'auto'`, an Error listing each backend's failure when none loads.
 */
export async function initBackend(name: BackendName = 'auto', options: InitBackendOptions = {}): Promise<ResolvedBackendName> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new Error(`initBackend: unknown backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}`);
  }
  const load = options.loadModule ?? defaultModuleLoader;
  if (name !== 'auto') {
    await activate(name, load);
    return name;
  }
  const failures: string[] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      await activate(candidate, load);
      return candidate;
    } catch (error) {
      failures.push(`  ${candidate}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`initBackend('auto'): no backend could be started:\n${failures.join('\n')}`);
}

/**
 * Describes the active tfjs backend (after {@link initBackend}, or whatever tfjs chose).
 * Starts nothing and loads nothing.
 */
export async function backendInfo(): Promise<BackendInfo> {
  const tfBackend = tf.getBackend() ?? '';
  const name = activeName !== undefined && BACKEND_PACKAGES[activeName].tfName === tfBackend ? activeName : (Object.keys(BACKEND_PACKAGES) as ResolvedBackendName[]).find((b) => b !== 'tensorflow-gpu' && BACKEND_PACKAGES[b].tfName === tfBackend);
  const info: BackendInfo = { name, tfBackend, tfjsVersion: tf.version_core };
  if (tfBackend === 'wasm') info.wasm = await wasmFeatures();
  return info;
}

/** One row of {@link probeBackends}. */
export interface BackendProbe {
  name: ResolvedBackendName;
  /** The npm package the backend needs. */
  package: string;
  /** Whether its package loads. */
  available: boolean;
  /** The package's version, when it loads and says. */
  version?: string;
  /** Why it is unavailable (with the install command). */
  error?: string;
  /** wasm only, when it loads: SIMD and threads support. */
  wasm?: { simd: boolean; threads: boolean };
}

/**
 * Checks which backends' packages load (for `supcon doctor`), without changing the active
 * backend. Loading a package registers its backend with tfjs (as importing it would).
 * @returns one row per backend in the `'auto'` order.
 */
export async function probeBackends(options: InitBackendOptions = {}): Promise<BackendProbe[]> {
  const load = options.loadModule ?? defaultModuleLoader;
  const rows: BackendProbe[] = [];
  for (const name of AUTO_ORDER) {
    const { pkg } = BACKEND_PACKAGES[name];
    try {
      const mod = await loadBackendPackage(name, load);
      const row: BackendProbe = { name, package: pkg, available: true, version: versionOf(mod, VERSION_KEYS[name]) };
      if (name === 'wasm') row.wasm = await wasmFeatures();
      rows.push(row);
    } catch (error) {
      rows.push({ name, package: pkg, available: false, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return rows;
}
