import type { BackendUnavailableError } from './errors';
import type { ConcreteBackend } from './names';

/**
 * Loads a module by name. In Node (default: `require`, resolved from this package's own
 * installation first, then from the current folder's project) it returns the module; in a
 * browser (default: the bundler's `import()` of the wasm and cpu packages) it may return a
 * promise of it.
 */
export type ModuleLoader = (specifier: string) => unknown;

/** The three builds of tfjs-backend-wasm, by file name. */
export type WasmBinaryName =
  'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm';

/**
 * Where tfjs-backend-wasm's `.wasm` files are: the URL (or, in Node, the path) of the folder
 * that holds all three, or each file's own location.
 */
export type WasmPaths = string | Readonly<Record<WasmBinaryName, string>>;

/** Options for `initBackend` (both the Node and the browser entry). */
export interface InitBackendOptions {
  /** Module loader; tests pass one to simulate absent or broken packages. */
  load?: ModuleLoader;
  /** `'auto'` only: called for each backend it skips, with the reason. */
  onSkip?: (backend: ConcreteBackend, error: BackendUnavailableError) => void;
  /**
   * wasm only: threads for XNNPACK's convolutions and matrix products (1 to 8), fixed when the
   * wasm backend first starts in the process or page. The count changes no bit of the results:
   * XNNPACK splits outputs, not sums, and supcon's own kernels cut their sums into groups fixed by
   * the shape, which the threads share out (@supcon/train's threads test: two threads give the
   * one-thread reference weights, uninterrupted and resumed).
   * - Node (default 1): more than 1 starts tfjs's threaded wasm build, which tfjs itself never
   *   uses in Node (see `node/wasm_threads.ts`); supcon's own kernels split their work over as
   *   many threads.
   * - Browsers (default: tfjs's choice): threads need a cross-origin isolated page
   *   (`globalThis.crossOriginIsolated`, served with `Cross-Origin-Opener-Policy: same-origin`
   *   and `Cross-Origin-Embedder-Policy: require-corp`); elsewhere the backend runs one thread
   *   and `onThreadsFallback` (else `console.warn`) says why. supcon's own kernels run on the
   *   page's thread.
   */
  threads?: number;
  /**
   * With `threads` above 1: when the threaded build cannot be set up or start, start the
   * single-threaded one instead and call this with the reason (Node default: throw; browser
   * default: `console.warn`).
   */
  onThreadsFallback?: (reason: string) => void;
  /**
   * wasm only: where tfjs-backend-wasm's `.wasm` files are served from (passed to its
   * `setWasmPaths` before the backend first starts). A folder URL such as `'/wasm/'` or
   * `'https://cdn.jsdelivr.net/npm/@tensorflow/tfjs-backend-wasm@4.22.0/dist/'` (a `/` is added
   * when missing), or one URL per file. Default: tfjs's own, next to the script (browsers) or the
   * installed package (Node).
   */
  wasmPaths?: WasmPaths;
}
