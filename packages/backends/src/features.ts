/** What the wasm backend can do here and what it runs on: SIMD, threads, supcon's kernels. */
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsInfo } from './native/train_kernels';
import type { NativeKernelsInfo } from './native/train_kernels';
import { threadsOfWasmBackend } from './threads';

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

// A minimal module using SIMD (i32.const 0; i8x16.splat; i8x16.popcnt): validates only where
// the engine supports WebAssembly SIMD.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

/**
 * {@link wasmFeatures} without evaluating tfjs's async flags: the flags when already evaluated,
 * else SIMD by validating a SIMD module; threads only when tfjs found them.
 */
export function wasmFeaturesSync(): WasmFeatures {
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

/** Threads the started wasm backend uses (1: single-threaded build; 0: wasm not started). */
export function wasmThreadsInUse(): number {
  const backend = tf.findBackend('wasm');
  return backend == null ? 0 : threadsOfWasmBackend(backend);
}

/**
 * Whether supcon's own SIMD training kernels run on the started wasm backend, and on how many
 * threads (`{ active: false, threads: 0 }` before wasm starts, without SIMD, or with
 * `SUPCON_TRAIN_KERNELS=off`, which keeps the XNNPACK-composed kernels).
 */
export function wasmKernelsInfo(): NativeKernelsInfo {
  return nativeKernelsInfo(tf.findBackend('wasm') ?? undefined);
}
