/**
 * `Cast` and `Tile` for the wasm backend, for the cases a training step hits:
 * - `Cast` to the dtype the tensor already has shares its data (as `Identity` does here and as the
 *   cpu backend does); the stock kernel copies it. tfjs's moments, ReLU and square gradients cast
 *   float32 to float32, a full copy of an activation each.
 * - `Tile` that repeats one block of consecutive axes of size 1 (what `broadcastTo` of per-channel
 *   values, or of pooled features back over height and width, makes) by supcon's SIMD row copy
 *   split over the kernel threads; the stock kernel copies one element at a time.
 * Every other case runs the stock kernel.
 */
import { Cast, Tile } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { trainKernels } from '../native/train_kernels';
import { broadcastRows } from './native_ops';
import { overrideWasmKernel } from './override';
import { reshape } from './wasm_ops';

/** Kernel config: `Cast` on `wasm` (same dtype: shares the data; else the stock kernel). */
export const castConfig = overrideWasmKernel(Cast, ({ inputs, attrs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const { dtype } = attrs as unknown as { dtype: string };
  return dtype === x.dtype ? reshape(x, [...x.shape], backend) : undefined;
});

/**
 * When `reps` repeat only one block of consecutive axes, all of size 1 in `shape`: `[len, group]`,
 * the values after the block (one source row) and the repeats of the block; else undefined.
 */
export function blockBroadcast(
  shape: readonly number[],
  reps: readonly number[],
): [len: number, group: number] | undefined {
  if (reps.length !== shape.length) return undefined;
  const repeated = reps.map((r, i) => (r > 1 ? i : -1)).filter((i) => i >= 0);
  if (repeated.length === 0) return undefined;
  const first = repeated[0]!;
  const last = repeated[repeated.length - 1]!;
  for (let i = first; i <= last; i++) if (shape[i] !== 1) return undefined;
  let group = 1;
  for (let i = first; i <= last; i++) group *= reps[i]!;
  let len = 1;
  for (let i = last + 1; i < shape.length; i++) len *= shape[i]!;
  return [len, group];
}

/** Kernel config: `Tile` on `wasm` (float32 broadcasts of one block of size-1 axes natively; else the stock kernel). */
export const tileConfig = overrideWasmKernel(Tile, ({ inputs, attrs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const { reps } = attrs as unknown as { reps: number[] };
  const block = x.dtype === 'float32' ? blockBroadcast(x.shape, reps) : undefined;
  const k = block === undefined ? null : trainKernels(backend);
  if (k === null) return undefined;
  const [len, group] = block!;
  return broadcastRows(
    k,
    backend,
    x,
    x.shape.map((d, i) => d * reps[i]!),
    len,
    group,
  );
});
