/**
 * supcon's own WebAssembly SIMD training kernels (`native/train_kernels.c`), run inside the tfjs
 * wasm backend's memory: the module imports that memory, so kernels read and write tensors in
 * place at the offsets tfjs gives them.
 *
 * Threads: with tfjs's threaded build (`initBackend('wasm', { threads: n })`) the memory is shared,
 * and in Node `initBackend` starts n - 1 worker threads (node/train_kernel_workers.ts) that
 * instantiate the same module on it. A call splits its work items between the main thread and the
 * workers (disjoint output bytes, no locks); the main thread waits for them with `Atomics.wait`.
 * Without workers (one thread, before they start, or in a browser, whose page thread may not
 * block in `Atomics.wait`) the calling thread does everything.
 */
import { TRAIN_KERNELS_SHARED_WASM, TRAIN_KERNELS_WASM } from './train_kernels_wasm';

/** The exports of the kernel module; all arguments are int32 (byte offsets and sizes). */
interface KernelExports {
  conv2d_filter_grad(...args: number[]): void;
  channel_sums(...args: number[]): void;
  channel_affine(...args: number[]): void;
  broadcast_rows(...args: number[]): void;
  conv2d_valid(...args: number[]): void;
  pad_nhwc(...args: number[]): void;
  pack_filter(...args: number[]): void;
  winograd_filter(...args: number[]): void;
  conv3x3_winograd(...args: number[]): void;
  conv3x3_winograd_filter_grad(...args: number[]): void;
  winograd_filter_grad_out(...args: number[]): void;
  rotate_filter(...args: number[]): void;
}
export type KernelName = keyof KernelExports;
/** The kernels by index, as worker control blocks name them. */
export const KERNEL_NAMES: readonly KernelName[] = [
  'conv2d_filter_grad',
  'channel_sums',
  'channel_affine',
  'broadcast_rows',
  'conv2d_valid',
  'pad_nhwc',
  'pack_filter',
  'winograd_filter',
  'conv3x3_winograd',
  'conv3x3_winograd_filter_grad',
  'winograd_filter_grad_out',
  'rotate_filter',
];

/** The parts of the tfjs wasm backend this file reads. */
interface WasmBackendLike {
  wasm: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
}

/** A started pool: one control block per worker (layout above {@link CONTROL_INTS}). */
export interface Pool {
  controls: Int32Array[];
  seq: number;
  terminate(): void;
}

export interface Instance {
  exports: KernelExports;
  memory: WebAssembly.Memory;
  shared: boolean;
  module: WebAssembly.Module;
  pool?: Pool;
}

const instances = new WeakMap<object, Instance | null>();
let disabled = typeof process !== 'undefined' && process.env?.SUPCON_TRAIN_KERNELS === 'off';

/** Turns supcon's own wasm kernels off (`false`) or back on; returns the previous setting. For tests and comparisons. */
export function setTrainKernelsEnabled(enabled: boolean): boolean {
  const previous = !disabled;
  disabled = !enabled;
  return previous;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(base64, 'base64'));
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function memoryOf(backend: object): WebAssembly.Memory | undefined {
  const wasm = (backend as Partial<WasmBackendLike>).wasm;
  return wasm?.wasmMemory ?? wasm?.asm?.memory;
}

/**
 * The kernel module instantiated on `backend`'s memory, or `null` where it cannot be (no SIMD, no
 * memory found, or turned off); callers then take their XNNPACK-composed path.
 */
export function trainKernels(backend: object): Instance | null {
  if (disabled) return null;
  let instance = instances.get(backend);
  if (instance !== undefined) return instance;
  instance = null;
  const target = memoryTarget(backend);
  if (target !== undefined) {
    try {
      const module = new WebAssembly.Module(target.bytes);
      const exports = new WebAssembly.Instance(module, { env: { memory: target.memory } })
        .exports as unknown as KernelExports;
      instance = { exports, memory: target.memory, shared: target.shared, module };
    } catch {
      instance = null; // no SIMD here: the composed kernels still work
    }
  }
  instances.set(backend, instance);
  return instance;
}

/** The backend's memory, whether it is shared, and the module build for it. */
function memoryTarget(
  backend: object,
): { memory: WebAssembly.Memory; shared: boolean; bytes: Uint8Array<ArrayBuffer> } | undefined {
  const memory = memoryOf(backend);
  if (memory === undefined) return undefined;
  // Not `instanceof`: the buffer may come from another realm (a test sandbox, a worker).
  const shared = Object.prototype.toString.call(memory.buffer) === '[object SharedArrayBuffer]';
  return { memory, shared, bytes: decode(shared ? TRAIN_KERNELS_SHARED_WASM : TRAIN_KERNELS_WASM) };
}

/**
 * Instantiates the kernels on `backend`'s memory asynchronously (browsers refuse to compile a
 * module over 4 KB synchronously on the main thread, so {@link trainKernels} alone would fall
 * back there). `initBackend('wasm')` calls it.
 */
export async function prepareTrainKernels(backend: object): Promise<void> {
  const target = disabled || instances.has(backend) ? undefined : memoryTarget(backend);
  if (target === undefined) return;
  try {
    const { module, instance } = await WebAssembly.instantiate(target.bytes, {
      env: { memory: target.memory },
    });
    if (!instances.has(backend)) {
      const exports = instance.exports as unknown as KernelExports;
      instances.set(backend, { exports, memory: target.memory, shared: target.shared, module });
    }
  } catch {
    // Left to trainKernels, which records that the kernels are unavailable.
  }
}

/**
 * Whether supcon's SIMD kernels can run here (WebAssembly SIMD validates, and they are not turned
 * off by `SUPCON_TRAIN_KERNELS=off`). Starts nothing; `supcon doctor` reports it.
 */
export function nativeKernelsSupported(): boolean {
  if (disabled) return false;
  try {
    return WebAssembly.validate(decode(TRAIN_KERNELS_WASM));
  } catch {
    return false;
  }
}

/** What supcon's own wasm kernels run on: whether they are in use and how many threads split each call. */
export interface NativeKernelsInfo {
  /** The SIMD module is instantiated on the wasm backend's memory (false: no SIMD, turned off, or wasm not started). */
  active: boolean;
  /** Threads each call is split over (the main thread plus workers). */
  threads: number;
}

/**
 * Whether supcon's own SIMD training kernels (native/train_kernels.c) run on the started wasm
 * backend, and on how many threads. Instantiates them if needed; starts no backend.
 */
export function nativeKernelsInfo(backend: object | undefined): NativeKernelsInfo {
  const instance = backend === undefined ? null : trainKernels(backend);
  return { active: instance !== null, threads: instance === null ? 0 : threadsOf(instance) };
}

function threadsOf(instance: Instance): number {
  return instance.pool === undefined ? 1 : instance.pool.controls.length + 1;
}

/**
 * How many parts {@link runSplit} cuts `items` work items into: at most one per thread, and
 * at least `grain` items a part.
 */
export function splitParts(instance: Instance, items: number, grain = 1): number {
  return Math.max(1, Math.min(Math.floor(items / Math.max(1, grain)), threadsOf(instance)));
}

/*
 * Worker control block (Int32Array over its own SharedArrayBuffer; the Node entry's
 * node/train_kernel_workers.ts starts the workers that read it):
 *   [0] job sequence number (the main thread bumps it; -1 asks the worker to exit)
 *   [1] sequence number of the last finished job   [2] 0 ok, 1 the job threw
 *   [3] kernel index (in KERNEL_NAMES)   [4] argument count   [5..] int32 arguments
 */
/** Int32 slots of a worker control block. */
export const CONTROL_INTS = 64;

/**
 * Runs kernel `name` over work items [0, items): `args(item0, item1, part)` gives the kernel's
 * int32 arguments for a range; part numbers run from 0 to {@link splitParts} - 1. The range is
 * split evenly over the main thread and the workers.
 * @throws Error naming the kernel when a worker's share failed.
 */
export function runSplit(
  instance: Instance,
  name: KernelName,
  items: number,
  args: (item0: number, item1: number, part: number) => number[],
  grain = 1,
): void {
  const pool = instance.pool;
  const parts = splitParts(instance, items, grain);
  if (parts <= 1) {
    instance.exports[name](...args(0, items, 0));
    return;
  }
  const seq = ++pool!.seq;
  const bounds = Array.from({ length: parts + 1 }, (_, p) => Math.round((p * items) / parts));
  const used = pool!.controls.slice(0, parts - 1);
  used.forEach((c, w) => {
    const a = args(bounds[w + 1]!, bounds[w + 2]!, w + 1);
    c[3] = KERNEL_NAMES.indexOf(name);
    c[4] = a.length;
    c.set(a, 5);
    Atomics.store(c, 0, seq);
    Atomics.notify(c, 0);
  });
  let error: unknown;
  try {
    instance.exports[name](...args(bounds[0]!, bounds[1]!, 0));
  } catch (e) {
    error = e;
  }
  let failed = false;
  for (const c of used) {
    for (;;) {
      const done = Atomics.load(c, 1);
      if (done === seq) break;
      Atomics.wait(c, 1, done, 1000);
    }
    if (c[2] !== 0) failed = true;
  }
  if (error !== undefined) throw error;
  if (failed)
    throw new Error(`@supcon/backends: the wasm kernel ${name} failed in a worker thread`);
}
