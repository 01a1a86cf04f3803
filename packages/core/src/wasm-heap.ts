/**
 * The tfjs wasm backend's memory, for code that hands tensors to its own WebAssembly or reads
 * them without a copy: where a tensor's data sits in the heap, typed views of the heap, and the
 * backend module's `malloc`/`free`.
 *
 * Duck-typed on the backend object (`tf.backend()` or a kernel's `backend` argument), so nothing
 * here imports `@tensorflow/tfjs-backend-wasm` or tfjs at all: it runs in Node and in browsers,
 * and a package that uses it does not depend on the wasm backend. What it relies on are the wasm
 * backend's own fields in tfjs 4.x: `backend.wasm` (the Emscripten module, with `HEAPU8`,
 * `_malloc`, `_free`) and `backend.dataIdMap` (a tensor's `memoryOffset`).
 *
 * Views into the heap are valid only until the next allocation: a heap that grows replaces its
 * buffer, and a view of the old one then reads nothing (length 0) or stale bytes. Take a view,
 * use it, and take a new one after anything that may allocate (a tensor op, `heapMalloc`).
 */

/** The parts of the Emscripten module of tfjs's wasm backend this helper uses. */
export interface WasmHeapModule {
  /** The whole heap as bytes (replaced when the heap grows: read it again after allocating). */
  readonly HEAPU8: Uint8Array;
  /** Allocates `bytes` bytes on the heap; the address, 0 when out of memory. */
  _malloc?(bytes: number): number;
  /** Frees an address returned by `_malloc`. */
  _free?(address: number): void;
}

/** A tfjs backend that keeps its tensors in a wasm heap (the `wasm` backend, duck-typed). */
export interface WasmHeapBackend {
  readonly wasm: WasmHeapModule;
  /**
   * tfjs's `DataStorage` of the backend. Its `get` moves a tensor of another backend over (and
   * throws for a disposed one), so the helper asks `has` first.
   */
  readonly dataIdMap: {
    has?(dataId: object): boolean;
    get(dataId: object): { memoryOffset?: number } | undefined;
  };
}

/** What locates a tensor's data: a `tf.Tensor` or a kernel's `TensorInfo`. */
export interface HeapTensor {
  readonly dataId: object;
  readonly shape: readonly number[];
}

/**
 * `backend` as a {@link WasmHeapBackend}, or undefined when it is not one (the cpu, webgl or
 * tensorflow backends, a wasm backend of another layout, undefined).
 */
export function asWasmHeapBackend(backend: unknown): WasmHeapBackend | undefined {
  if (typeof backend !== 'object' || backend === null) return undefined;
  const { wasm, dataIdMap } = backend as { wasm?: unknown; dataIdMap?: unknown };
  if (typeof wasm !== 'object' || wasm === null) return undefined;
  // Not `instanceof`: the heap may come from another realm (a test sandbox, a worker).
  if (Object.prototype.toString.call((wasm as { HEAPU8?: unknown }).HEAPU8) !== '[object Uint8Array]') return undefined;
  if (typeof dataIdMap !== 'object' || dataIdMap === null) return undefined;
  if (typeof (dataIdMap as { get?: unknown }).get !== 'function') return undefined;
  return backend as WasmHeapBackend;
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Byte offset of a tensor's data in the heap, or undefined when `backend` does not hold it (a
 * tensor of another backend, or disposed).
 */
export function findHeapOffset(backend: WasmHeapBackend, tensor: Pick<HeapTensor, 'dataId'>): number | undefined {
  const map = backend.dataIdMap;
  if (typeof map.has === 'function' && !map.has(tensor.dataId)) return undefined;
  const offset = map.get(tensor.dataId)?.memoryOffset;
  return typeof offset === 'number' ? offset : undefined;
}

/** Byte offset of a tensor's data in the heap. Throws when `backend` does not hold the tensor. */
export function heapOffset(backend: WasmHeapBackend, tensor: Pick<HeapTensor, 'dataId'>): number {
  const offset = findHeapOffset(backend, tensor);
  if (offset === undefined) throw new Error('wasm heap: the tensor is not in this backend (disposed, or from another backend)');
  return offset;
}

/**
 * A float32 view of `length` values at byte `offset` of the heap (valid until the next
 * allocation). Throws a RangeError for an offset that is not 4-byte aligned or a range past the
 * heap's end.
 */
export function heapFloat32(backend: WasmHeapBackend, offset: number, length: number): Float32Array {
  return new Float32Array(backend.wasm.HEAPU8.buffer, offset, length);
}

/** A float64 view of `length` values at byte `offset` (8-byte aligned) of the heap; see {@link heapFloat32}. */
export function heapFloat64(backend: WasmHeapBackend, offset: number, length: number): Float64Array {
  return new Float64Array(backend.wasm.HEAPU8.buffer, offset, length);
}

/** An int32 view of `length` values at byte `offset` (4-byte aligned) of the heap; see {@link heapFloat32}. */
export function heapInt32(backend: WasmHeapBackend, offset: number, length: number): Int32Array {
  return new Int32Array(backend.wasm.HEAPU8.buffer, offset, length);
}

/**
 * A float32 view straight into the heap of a float32 tensor's data, no copy: writes go into the
 * tensor. Valid until the next allocation. Throws when `backend` does not hold the tensor.
 */
export function tensorHeapView(backend: WasmHeapBackend, tensor: HeapTensor): Float32Array {
  return heapFloat32(backend, heapOffset(backend, tensor), elementCount(tensor.shape));
}

/**
 * The float32 values of `tensor` straight from the heap where `backend` is a wasm heap backend
 * that holds it at a 4-byte aligned offset; otherwise undefined (then read it with `dataSync()`).
 * Valid until the next allocation.
 */
export function tryTensorHeapView(backend: unknown, tensor: HeapTensor): Float32Array | undefined {
  const heap = asWasmHeapBackend(backend);
  if (heap === undefined) return undefined;
  const offset = findHeapOffset(heap, tensor);
  if (offset === undefined || offset % 4 !== 0) return undefined;
  return heapFloat32(heap, offset, elementCount(tensor.shape));
}

/**
 * Allocates `bytes` bytes with the backend module's `malloc`; free them with {@link heapFree}.
 * Throws when the module has no `malloc` or it returns 0 (out of memory). Any view taken before
 * may be stale afterwards (the heap may have grown).
 */
export function heapMalloc(backend: WasmHeapBackend, bytes: number): number {
  const malloc = backend.wasm._malloc;
  if (typeof malloc !== 'function') throw new Error('wasm heap: the backend module has no _malloc');
  const address = malloc.call(backend.wasm, bytes);
  if (!address) throw new Error(`wasm heap: out of memory allocating ${bytes} bytes (heap ${backend.wasm.HEAPU8.length} bytes)`);
  return address;
}

/** Frees an address from {@link heapMalloc}. Throws when the module has no `free`. */
export function heapFree(backend: WasmHeapBackend, address: number): void {
  const free = backend.wasm._free;
  if (typeof free !== 'function') throw new Error('wasm heap: the backend module has no _free');
  free.call(backend.wasm, address);
}
