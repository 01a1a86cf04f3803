/**
 * @supcon/core's wasm-heap helper, which the fused SupCon path uses to read the dot products
 * straight from the wasm backend's heap (core has no wasm backend to test it with; this package's
 * tests load one).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  asWasmHeapBackend,
  findHeapOffset,
  heapFloat32,
  heapFloat64,
  heapFree,
  heapInt32,
  heapMalloc,
  heapOffset,
  tensorHeapView,
  tryTensorHeapView,
} from '@supcon/core';

describe('wasm heap access (@supcon/core)', () => {
  it('finds no heap on the cpu backend or on things that are not backends', async () => {
    await tf.setBackend('cpu');
    const t = tf.tensor1d([1, 2, 3]);
    expect(asWasmHeapBackend(tf.backend())).toBeUndefined();
    expect(tryTensorHeapView(tf.backend(), t)).toBeUndefined();
    for (const x of [
      undefined,
      null,
      3,
      {},
      { wasm: {} },
      { wasm: { HEAPU8: [] }, dataIdMap: { get() {} } },
    ])
      expect(asWasmHeapBackend(x)).toBeUndefined();
    t.dispose();
  });

  it('reads and writes a tensor in place on the wasm backend, and allocates with malloc/free', async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    const backend = asWasmHeapBackend(tf.backend());
    expect(backend).toBeDefined();
    const heap = backend!;
    const before = tf.memory().numTensors;
    const t = tf.tensor2d([1.5, -2, 3, 4.25, 5, 6], [2, 3]);
    const view = tryTensorHeapView(tf.backend(), t)!;
    expect(Array.from(view)).toEqual([1.5, -2, 3, 4.25, 5, 6]);
    expect(tensorHeapView(heap, t)).toEqual(view);
    const offset = heapOffset(heap, t);
    expect(findHeapOffset(heap, t)).toBe(offset);
    expect(Array.from(heapFloat32(heap, offset, 2))).toEqual([1.5, -2]);
    tensorHeapView(heap, t)[1] = 7; // writes go into the tensor
    expect(Array.from(t.dataSync())).toEqual([1.5, 7, 3, 4.25, 5, 6]);

    const address = heapMalloc(heap, 64);
    expect(address % 8).toBe(0);
    heapFloat64(heap, address, 2).set([Math.PI, -1e300]);
    expect(Array.from(heapFloat64(heap, address, 2))).toEqual([Math.PI, -1e300]);
    heapInt32(heap, address + 16, 3).set([1, -2, 3]);
    expect(Array.from(heapInt32(heap, address + 16, 3))).toEqual([1, -2, 3]);
    heapFree(heap, address);

    t.dispose();
    expect(findHeapOffset(heap, t)).toBeUndefined();
    expect(() => heapOffset(heap, t)).toThrow(/not in this backend/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() =>
      heapMalloc({ wasm: { HEAPU8: new Uint8Array(0) }, dataIdMap: new Map() }, 8),
    ).toThrow(/no _malloc/);
    expect(() =>
      heapMalloc(
        { wasm: { HEAPU8: new Uint8Array(0), _malloc: () => 0 }, dataIdMap: new Map() },
        8,
      ),
    ).toThrow(/out of memory allocating 8 bytes/);
  });
});
