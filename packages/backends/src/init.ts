import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from './kernels/register';
import { nativeKernelsInfo, prepareTrainKernels } from './native/train_kernels';
import type { NativeKernelsInfo } from './native/train_kernels';
import {
  abandonWasmThreads,
  prepareWasmThreads,
  settleWasmThreads,
  WASM_MAX_THREADS,
} from './wasm_threads';
import type { WasmPackage } from './wasm_threads';

/** Names `initBackend` accepts. `'auto'` picks the fastest backend that loads. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'auto'] as const;
/** A name accepted by {@link initBackend}. */
export type BackendName = (typeof BACKEND_NAMES)[number];
/** A backend `initBackend` resolves to (every name but `'auto'`). */
export type ConcreteBackend = Exclude<BackendName, 'auto'>;

/** The order `'auto'` tries. */
export const AUTO_ORDER: readonly ConcreteBackend[] = [
  'tensorflow-gpu',
  'tensorflow',
  'wasm',
  'cpu',
];

const PACKAGES: Readonly<Record<ConcreteBackend, { pkg: string; tfName: string }>> = {
  'tensorflow-gpu': { pkg: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  tensorflow: { pkg: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  wasm: { pkg: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  cpu: { pkg: '@tensorflow/tfjs-backend-cpu', tfName: 'cpu' },
};

const TFJS_RANGE = '^4.22.0';

/**
 * Loads a module by name, synchronously (default: Node's `require`, resolved from this package's
 * own installation first, then from the current folder's project).
 */
export type ModuleLoader = (specifier: string) => unknown;

/** `require` relative to this package's own installation. */
function ownRequire(): NodeJS.Require {
  // CommonJS (the CJS build, jest) has a `module` with its own `require`, which resolves from
  // this file (and, under jest, goes through its module registry, so the backends register on
  // the same tfjs-core). In ESM (`module` is undefined) one is made for this file's URL.
  // `module.require` rather than `require`: bundlers rewrite bare `require` in ESM output into a
  // stub that throws. Never a static import, so bundlers leave these packages alone.
  const cjsModule =
    typeof module === 'object' && module !== null ? (module as { require?: unknown }) : undefined;
  if (typeof cjsModule?.require === 'function') {
    const req = cjsModule.require.bind(cjsModule) as (id: string) => unknown;
    return req as NodeJS.Require;
  }
  return createRequire(import.meta.url);
}

/**
 * Where the optional backend packages are looked for, in order: next to @supcon/backends (where
 * the app or the CLI that depends on it installed its peers), then the current folder's project
 * (a backend a user installed in their own project, e.g. for a globally installed CLI).
 */
function requirers(): NodeJS.Require[] {
  return [ownRequire(), createRequire(path.join(process.cwd(), 'package.json'))];
}

/** Requires `specifier` from the first place in {@link requirers} that has it. */
function requireOptional(specifier: string): unknown {
  let notFound: unknown;
  for (const req of requirers()) {
    try {
      return req(specifier);
    } catch (error) {
      // A package that is there but fails to load (or misses one of its own dependencies) is
      // reported as it is; only "this package is not here" moves on to the next place.
      if (!isNotFound(error, specifier)) throw error;
      notFound ??= error;
    }
  }
  throw notFound;
}

/** Resolves `specifier` to a file path, from the same places as {@link requireOptional}. */
function resolveOptional(specifier: string): string {
  let notFound: unknown;
  for (const base of [import.meta.url, path.join(process.cwd(), 'package.json')]) {
    try {
      return createRequire(base).resolve(specifier);
    } catch (error) {
      if (!isNotFound(error, specifier)) throw error;
      notFound ??= error;
    }
  }
  throw notFound;
}

const defaultLoad: ModuleLoader = (specifier) => requireOptional(specifier);

/** Thrown when a backend's package is absent, fails to load, or registers no backend. */
export class BackendUnavailableError extends Error {
  constructor(
    /** The backend that was asked for. */
    readonly backend: ConcreteBackend,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** Options for {@link initBackend}. */
export interface InitBackendOptions {
  /** Module loader (default: Node's `require`); tests pass one to simulate absent or broken packages. */
  load?: ModuleLoader;
  /** `'auto'` only: called for each backend it skips, with the reason. */
  onSkip?: (backend: ConcreteBackend, error: BackendUnavailableError) => void;
  /**
   * wasm only: threads for XNNPACK's convolutions and matrix products (default 1; at most 8).
   * More than 1 starts tfjs's threaded wasm build, which tfjs itself never uses in Node (see
   * `wasm_threads.ts`); fixed when the wasm backend first starts in the process. Results are
   * bitwise those of one thread.
   */
  threads?: number;
  /**
   * With `threads` above 1: when the threaded build cannot be set up or start, start the
   * single-threaded one instead and call this with the reason (default: throw).
   */
  onThreadsFallback?: (reason: string) => void;
}

function installMessage(backend: ConcreteBackend): string {
  const { pkg } = PACKAGES[backend];
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

function isNotFound(error: unknown, pkg: string): boolean {
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

function loadPackage(backend: ConcreteBackend, load: ModuleLoader): unknown {
  const { pkg } = PACKAGES[backend];
  try {
    return load(pkg);
  } catch (error) {
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

async function start(
  backend: ConcreteBackend,
  load: ModuleLoader,
  threads?: number,
  onThreadsFallback?: (reason: string) => void,
): Promise<void> {
  const exports = loadPackage(backend, load);
  const { pkg, tfName } = PACKAGES[backend];
  if (tf.findBackendFactory(tfName) == null && tf.findBackend(tfName) == null) {
    throw new BackendUnavailableError(
      backend,
      `initBackend('${backend}'): ${pkg} loaded but registered no '${tfName}' backend (is it a different @tensorflow/tfjs-core than ${tf.version_core}?)`,
    );
  }
  let expected = threads;
  let restore: (() => void) | undefined;
  if (backend === 'wasm' && threads !== undefined) {
    try {
      restore = prepareThreads(exports, threads);
    } catch (error) {
      if (!(error instanceof BackendUnavailableError) || onThreadsFallback === undefined)
        throw error;
      onThreadsFallback(error.message);
      expected = 1;
    }
  }
  const attempt = async (): Promise<{ ok: boolean; error?: unknown }> => {
    try {
      return { ok: await tf.setBackend(tfName) };
    } catch (error) {
      return { ok: false, error };
    } finally {
      restore?.();
      restore = undefined;
    }
  };
  let result = await attempt();
  if (
    !result.ok &&
    backend === 'wasm' &&
    expected !== undefined &&
    expected > 1 &&
    onThreadsFallback !== undefined
  ) {
    // The threaded build did not start: drop its workers and start the single-threaded one.
    abandonWasmThreads();
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const reason =
      result.error instanceof Error ? result.error.message : 'tf.setBackend returned false';
    onThreadsFallback(
      `initBackend('wasm', { threads: ${expected} }): the threaded build failed to start: ${reason}`,
    );
    expected = 1;
    result = await attempt();
  }
  if (result.error !== undefined) {
    throw new BackendUnavailableError(
      backend,
      `initBackend('${backend}'): the '${tfName}' backend failed to start: ${result.error instanceof Error ? result.error.message : String(result.error)}`,
      { cause: result.error },
    );
  }
  if (!result.ok)
    throw new BackendUnavailableError(
      backend,
      `initBackend('${backend}'): the '${tfName}' backend failed to start (tf.setBackend returned false; see the warning above)`,
    );
  await tf.ready();
  if (backend === 'wasm') {
    const used = settleWasmThreads(tf.backend());
    if (expected !== undefined && used !== expected) {
      throw new BackendUnavailableError(
        'wasm',
        `initBackend('wasm', { threads: ${expected} }): the wasm backend runs ${used} thread(s); threads are fixed when it first starts in a process, so call initBackend before anything else uses the wasm backend`,
      );
    }
    registerWasmTrainingKernels();
    // supcon's own kernels split their work over the same number of threads.
    await prepareTrainKernels(tf.backend(), used);
  }
}

/** Sets up tfjs's threaded wasm build in Node when more than one thread is asked for. */
function prepareThreads(exports: unknown, threads: number): (() => void) | undefined {
  if (!Number.isInteger(threads) || threads < 1 || threads > WASM_MAX_THREADS) {
    throw new Error(
      `initBackend('wasm'): threads must be an integer from 1 to ${WASM_MAX_THREADS}, got ${threads}`,
    );
  }
  // Already started (threads fixed), one thread asked for, or not Node: nothing to prepare.
  if (
    tf.findBackend('wasm') != null ||
    threads === 1 ||
    typeof process?.versions?.node !== 'string'
  )
    return undefined;
  try {
    // The bundle file only supplies the pthread worker script, the same in any 4.22 install.
    const bundleFile = resolveOptional(PACKAGES.wasm.pkg);
    return prepareWasmThreads(threads, exports as WasmPackage, bundleFile, tf.env());
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendUnavailableError(
      'wasm',
      `initBackend('wasm', { threads: ${threads} }): ${reason} (threads: 1 starts the single-threaded build; in a config, set \`threads: 1\`)`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Whether supcon's own SIMD training kernels run on the started wasm backend, and on how many
 * threads (`{ active: false, threads: 0 }` before wasm starts, without SIMD, or with
 * `SUPCON_TRAIN_KERNELS=off`, which keeps the XNNPACK-composed kernels).
 */
export function wasmKernelsInfo(): NativeKernelsInfo {
  return nativeKernelsInfo(tf.findBackend('wasm') ?? undefined);
}

/** Threads the started wasm backend uses (1: single-threaded build; 0: wasm not started). */
export function wasmThreadsInUse(): number {
  const backend = tf.findBackend('wasm');
  return backend == null
    ? 0
    : ((
        backend as unknown as { wasm?: { tfjs?: { getThreadsCount(): number } } }
      ).wasm?.tfjs?.getThreadsCount() ?? 1);
}

/**
 * Loads and activates a tfjs backend.
 * - `'tensorflow-gpu'` / `'tensorflow'`: the optional peers `@tensorflow/tfjs-node-gpu` /
 *   `@tensorflow/tfjs-node` (libtensorflow), loaded at run time, never at import or build time.
 * - `'wasm'`: `@tensorflow/tfjs-backend-wasm`, then `registerWasmTrainingKernels()` (supcon's
 *   convolution-gradient and reduction kernels; see `wasmFeatures()` for SIMD/threads).
 * - `'cpu'`: `@tensorflow/tfjs-backend-cpu` (plain JS; slow, exact reference).
 * - `'auto'` (default): tries tensorflow-gpu, tensorflow, wasm, cpu in that order.
 * @returns the backend now in use, never `'auto'`.
 * @throws Error `unknown backend 'x': expected one of ...` for a bad name;
 *   {@link BackendUnavailableError} when the named backend's package is absent (with the
 *   `npm i` command), fails to load, or registers no backend; for `'auto'`, an Error listing
 *   every backend's reason when none starts.
 */
export async function initBackend(
  name: BackendName = 'auto',
  options: InitBackendOptions = {},
): Promise<ConcreteBackend> {
  if (!(BACKEND_NAMES as readonly unknown[]).includes(name)) {
    throw new Error(
      `initBackend: unknown backend '${String(name)}': expected one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}`,
    );
  }
  const load = options.load ?? defaultLoad;
  if (name !== 'auto') {
    await start(name, load, options.threads, options.onThreadsFallback);
    return name;
  }
  const reasons: string[] = [];
  for (const backend of AUTO_ORDER) {
    try {
      await start(backend, load, options.threads, options.onThreadsFallback);
      return backend;
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      options.onSkip?.(backend, error);
      reasons.push(`  ${backend}: ${error.message}`);
    }
  }
  throw new Error(`initBackend('auto'): no backend could be started:\n${reasons.join('\n')}`);
}

/** wasm backend capabilities. */
export interface WasmFeatures {
  /** WebAssembly SIMD is supported (and used by the wasm backend). */
  simd: boolean;
  /** Multi-threaded wasm is supported (tfjs's Node build runs single-threaded). */
  threads: boolean;
}

/**
 * Whether the wasm backend can use SIMD and threads here (tfjs's `WASM_HAS_SIMD_SUPPORT` and
 * `WASM_HAS_MULTITHREAD_SUPPORT` flags, which `@tensorflow/tfjs-backend-wasm` defines when
 * loaded). Both `false` when the wasm package is not loaded. Starts nothing.
 */
export async function wasmFeatures(): Promise<WasmFeatures> {
  const flag = async (key: string): Promise<boolean> => {
    try {
      return (await tf.env().getAsync(key)) === true;
    } catch {
      return false;
    }
  };
  return {
    simd: await flag('WASM_HAS_SIMD_SUPPORT'),
    threads: await flag('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}

/** One row of {@link probeBackends}. */
export interface BackendProbe {
  backend: ConcreteBackend;
  /** Same as `backend`. */
  name: ConcreteBackend;
  /** The npm package the backend needs. */
  package: string;
  /** Whether the package resolves (next to @supcon/backends, else from the current folder). */
  installed: boolean;
  /** Same as `installed`. */
  available: boolean;
  /** Its version, when installed. */
  version?: string;
  /** Why not, when not installed (with the install command). */
  error?: string;
  /** wasm only, when installed: SIMD and threads support (read from tfjs flags when the wasm package is loaded). */
  wasm?: WasmFeatures;
}

/**
 * Which backends' packages are installed and their versions (for `supcon doctor`), in the
 * `'auto'` order. Only resolves `package.json` files: loads and starts nothing.
 */
export function probeBackends(): BackendProbe[] {
  return AUTO_ORDER.map((backend) => {
    const { pkg } = PACKAGES[backend];
    try {
      const raw = (requireOptional(`${pkg}/package.json`) as { version?: unknown }).version;
      const version = typeof raw === 'string' ? raw : undefined;
      const row: BackendProbe = {
        backend,
        name: backend,
        package: pkg,
        installed: true,
        available: true,
        version,
      };
      if (backend === 'wasm') row.wasm = wasmFeaturesSync();
      return row;
    } catch {
      return {
        backend,
        name: backend,
        package: pkg,
        installed: false,
        available: false,
        error: installMessage(backend),
      };
    }
  });
}

// A minimal module using SIMD (i32.const 0; i8x16.splat; i8x16.popcnt): validates only where
// the engine supports WebAssembly SIMD.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

function wasmFeaturesSync(): WasmFeatures {
  const flags = tf.env().getFlags() as Record<string, unknown>;
  let simd: boolean;
  if (typeof flags.WASM_HAS_SIMD_SUPPORT === 'boolean') simd = flags.WASM_HAS_SIMD_SUPPORT;
  else {
    try {
      simd = WebAssembly.validate(SIMD_PROBE);
    } catch {
      simd = false;
    }
  }
  // tfjs-backend-wasm's Node build is single-threaded unless the flag was evaluated as true.
  const threads = flags.WASM_HAS_MULTITHREAD_SUPPORT === true;
  return { simd, threads };
}
