/**
 * Multi-threaded wasm in Node. tfjs-backend-wasm ships a threaded SIMD build (XNNPACK runs each
 * convolution and matrix product on a pthread pool), but its Node path never uses it:
 *
 * 1. the `WASM_HAS_MULTITHREAD_SUPPORT` flag is hard-wired to false in Node;
 * 2. Emscripten starts its pthread workers from a `blob:` URL of the worker script, which Node's
 *    `Worker` rejects, and then posts the main script to them as a `Blob`, which the worker can
 *    only read asynchronously;
 * 3. the C side caps the pool at `navigator.hardwareConcurrency / 2`, i.e. `os.cpus().length / 2`,
 *    assuming two hyper-threads per core — one thread on a 2-CPU machine.
 *
 * {@link prepareWasmThreads} works around all three for the duration of the backend's start-up:
 * it writes the worker script (taken from the installed tfjs-backend-wasm bundle) to a temporary
 * file and hands its path out instead of the blob URL, swaps the posted main-script `Blob` for a
 * file holding the same text, reports `2 × threads` CPUs to the C side, and sets the flag. After
 * start-up the pool's workers are unref'd so that they never keep the process alive.
 *
 * It depends on tfjs-backend-wasm 4.22's bundle layout, so it only runs for that version;
 * results are bitwise those of one thread (XNNPACK splits outputs, not sums; tested).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import workerThreads, { Worker } from 'node:worker_threads';
import { workerExecArgv } from './exec-argv';
import { threadsOfWasmBackend, WASM_MAX_THREADS } from '../threads';

/** The tfjs-backend-wasm versions whose Node bundle layout this module knows. */
export const WASM_THREADS_SUPPORTED_VERSION = /^4\.22\./;

/** What `prepareWasmThreads` needs from the loaded `@tensorflow/tfjs-backend-wasm`. */
export interface WasmPackage {
  version_wasm: string;
  setThreadsCount(threads: number): void;
}

/** What `prepareWasmThreads` needs from tfjs-core's environment. */
export interface FlagEnvironment {
  set(flag: string, value: boolean): void;
}

interface PthreadModule {
  PThread?: { unusedWorkers: Worker[]; runningWorkers: Worker[] };
}

let workerDir: string | undefined;
/** Workers the threaded build started, for {@link abandonWasmThreads}. */
const startedWorkers = new Set<Worker>();

/** The pthread worker script from the bundle, as tfjs writes it into its blob. */
function workerScript(bundleFile: string): string {
  const source = readFileSync(bundleFile, 'utf8');
  const match = /var wasmWorkerContents = ("(?:[^"\\]|\\.)*");/.exec(source);
  if (!match)
    throw new Error(
      `${bundleFile}: no pthread worker script found (an unexpected tfjs-backend-wasm build)`,
    );
  const contents = JSON.parse(match[1]!) as string;
  // The bundle evaluates the main script in the worker's global scope; these are the names its
  // Node code expects from the surrounding bundle.
  const prelude =
    "global.require$$0=require('fs');global.require$$1=require('path');global.require$$3=require('perf_hooks');" +
    "global.require$$4=require('os');global.commonjsGlobal=global;global.__dirname=__dirname;\n";
  // tfjs escapes newlines before making the blob (they occur inside string literals).
  return prelude + contents.replace(/\n/g, '\\n');
}

function tempDir(): string {
  if (workerDir === undefined) {
    workerDir = mkdtempSync(path.join(os.tmpdir(), 'supcon-wasm-threads-'));
    const dir = workerDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return workerDir;
}

/**
 * Makes the next start of the wasm backend (`tf.setBackend('wasm')`) use tfjs's threaded build
 * with `threads` threads (see the module comment). Returns the function that undoes the
 * temporary patches; call it once the backend has started (or failed to).
 * @throws Error for an unsupported tfjs-backend-wasm version or bundle, or bad `threads`.
 */
export function prepareWasmThreads(
  threads: number,
  wasm: WasmPackage,
  bundleFile: string,
  env: FlagEnvironment,
): () => void {
  if (!Number.isInteger(threads) || threads < 1 || threads > WASM_MAX_THREADS) {
    throw new Error(`threads: expected an integer from 1 to ${WASM_MAX_THREADS}, got ${threads}`);
  }
  if (!WASM_THREADS_SUPPORTED_VERSION.test(wasm.version_wasm)) {
    throw new Error(
      `threaded wasm in Node needs @tensorflow/tfjs-backend-wasm 4.22.x, found ${wasm.version_wasm}`,
    );
  }
  const dir = tempDir();
  const workerFile = path.join(dir, 'pthread-worker.cjs');
  writeFileSync(workerFile, workerScript(bundleFile));

  const scripts = new WeakMap<Blob, string>();
  const RealBlob = globalThis.Blob;
  class CapturingBlob extends RealBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (/javascript/.test(options?.type ?? '') && parts?.every((p) => typeof p === 'string'))
        scripts.set(this, parts.join(''));
    }
  }
  const realCreateObjectURL = URL.createObjectURL;
  const realCpus = os.cpus;
  const realPostMessage = Worker.prototype.postMessage;
  let mainFile: string | undefined;

  globalThis.Blob = CapturingBlob;
  URL.createObjectURL = (blob: Blob) => {
    const text = scripts.get(blob);
    if (text !== undefined && text.includes('ENVIRONMENT_IS_PTHREAD') && text.includes('onmessage'))
      return workerFile;
    return realCreateObjectURL(blob);
  };
  type PostMessage = typeof Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (
    this: Worker,
    message: unknown,
    transfer?: Parameters<PostMessage>[1],
  ) {
    const m = message as { cmd?: unknown; urlOrBlob?: unknown } | null;
    if (m && m.cmd === 'load') startedWorkers.add(this); // an Emscripten pthread worker
    if (m && m.cmd === 'load' && m.urlOrBlob instanceof RealBlob) {
      const text = scripts.get(m.urlOrBlob);
      if (text !== undefined) {
        if (mainFile === undefined) {
          mainFile = path.join(dir, 'main.cjs');
          writeFileSync(mainFile, text);
        }
        message = { ...m, urlOrBlob: mainFile };
      }
    }
    return realPostMessage.call(this, message, transfer);
  } as PostMessage;
  os.cpus = () => {
    const cpus = realCpus();
    return Array.from({ length: 2 * threads }, (_, i) => cpus[i % Math.max(1, cpus.length)]!);
  };
  // Emscripten makes its pthread workers with `new Worker(file)` of worker_threads (read when the
  // module starts): give them the process's options less the main script's (`--input-type`).
  const RealWorker = workerThreads.Worker;
  class PthreadWorker extends RealWorker {
    constructor(file: string | URL, options?: ConstructorParameters<typeof RealWorker>[1]) {
      super(file, { execArgv: workerExecArgv(), ...options });
    }
  }
  workerThreads.Worker = PthreadWorker;
  env.set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);

  return () => {
    workerThreads.Worker = RealWorker;
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreateObjectURL;
    os.cpus = realCpus;
    Worker.prototype.postMessage = realPostMessage;
  };
}

/** After a failed threaded start: terminates the pthread workers it created. */
export function abandonWasmThreads(): void {
  for (const worker of startedWorkers) void worker.terminate();
  startedWorkers.clear();
}

/**
 * After the threaded backend started: unrefs its pthread workers (idle threads must not keep
 * Node alive) and returns how many threads XNNPACK uses (1 for the single-threaded build).
 */
export function settleWasmThreads(backend: unknown): number {
  const module = (backend as { wasm?: PthreadModule } | undefined)?.wasm;
  const pool = module?.PThread;
  if (pool) for (const worker of [...pool.unusedWorkers, ...pool.runningWorkers]) worker.unref();
  startedWorkers.clear();
  return threadsOfWasmBackend(backend);
}
