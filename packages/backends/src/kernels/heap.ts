/** Internal: tensors' data in the wasm heap, and freeing intermediate tensors. */
import { util } from '@tensorflow/tfjs-core';
import type { DataId, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/** Frees intermediate tensors made by {@link runWasm}. */
export function free(backend: object, ...infos: (TensorInfo | undefined)[]): void {
  for (const info of infos) {
    if (info !== undefined) (backend as KernelBackend).disposeData(info.dataId as DataId);
  }
}

export interface HeapBackend {
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: object, info: TensorInfo): number {
  return (backend as HeapBackend).dataIdMap.get(info.dataId)!.memoryOffset;
}

/** A new float32 output tensor of the wasm backend (uninitialised). */
export function makeOutput(backend: object, shape: number[]): TensorInfo {
  return (backend as HeapBackend).makeOutput(shape, 'float32');
}

/** A float32 view of a tensor's data in the wasm heap (valid until the next allocation). */
export function heapView(backend: HeapBackend, info: TensorInfo): Float32Array {
  const offset = backend.dataIdMap.get(info.dataId)!.memoryOffset;
  return new Float32Array(backend.wasm.HEAPU8.buffer, offset, util.sizeFromShape(info.shape));
}
