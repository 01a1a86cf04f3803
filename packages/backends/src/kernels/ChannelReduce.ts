/**
 * `Sum` and `Mean` for the wasm backend when they reduce every axis but the last, the channel
 * reductions of batch norm in NHWC (its moments forward, its two sums backward). The stock wasm
 * kernels transpose the channel axis to the front before reducing, a full copy of the tensor;
 * these sum the rows of the `[rows, channels]` view in place: supcon's SIMD kernel split over the
 * kernel threads (float32 chunks of 64 rows, float64 totals), or JavaScript with float64
 * accumulators where that kernel is unavailable. Any other reduction goes to the stock kernel.
 */
import { Mean, Sum, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { overrideWasmKernel } from './override';
import type { OverrideConfig } from './override';
import { trainKernels } from '../native/train_kernels';
import { heapView } from './heap';
import type { HeapBackend } from './heap';
import { channelSums, rowsAndChannels } from './native_ops';

/** Whether `axes` are exactly 0..rank-2 (every axis but the last), with at least one. */
export function isChannelReduction(x: TensorInfo, axis: number | number[] | undefined): boolean {
  const rank = x.shape.length;
  if (rank < 2 || x.dtype !== 'float32') return false;
  const axes = util.parseAxisParam(axis ?? [...Array(rank).keys()], x.shape).sort((a, b) => a - b);
  return axes.length === rank - 1 && axes.every((a, i) => a === i);
}

/** Column sums of the `[rows, c]` view of `x`, times `scale`, into a new float32 tensor. */
function channelReduce(
  x: TensorInfo,
  keepDims: boolean,
  scale: (rows: number) => number,
  backend: HeapBackend,
): TensorInfo {
  const [rows, c] = rowsAndChannels(x);
  const outShape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c];
  const native = trainKernels(backend);
  const acc = native !== null ? channelSums(native, backend, 0, x) : new Float64Array(c);
  const out = backend.makeOutput(outShape, 'float32');
  if (native === null && rows > 0 && c > 0) {
    const values = heapView(backend, x);
    // Four rows per pass (JS adds in double precision, so nothing is lost): about twice as fast.
    let r = 0;
    let off = 0;
    for (; r + 4 <= rows; r += 4, off += 4 * c) {
      for (let k = 0; k < c; k++) {
        acc[k] +=
          values[off + k]! +
          values[off + c + k]! +
          (values[off + 2 * c + k]! + values[off + 3 * c + k]!);
      }
    }
    for (; r < rows; r++, off += c) for (let k = 0; k < c; k++) acc[k] += values[off + k]!;
  }
  // Views taken after makeOutput: an allocation may have grown (and replaced) the heap buffer.
  const result = heapView(backend, out);
  const factor = scale(rows);
  for (let k = 0; k < c; k++) result[k] = acc[k]! * factor;
  return out;
}

function makeConfig(
  kernelName: typeof Sum | typeof Mean,
  scale: (rows: number) => number,
): OverrideConfig {
  return overrideWasmKernel(kernelName, (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as {
      axis?: number | number[];
      keepDims?: boolean;
    };
    return isChannelReduction(x, axis)
      ? channelReduce(x, keepDims === true, scale, args.backend as unknown as HeapBackend)
      : undefined;
  });
}

/** Kernel config: `Sum` on `wasm` (channel reductions in place, else the stock kernel). */
export const channelSumConfig = makeConfig(Sum, () => 1);

/** Kernel config: `Mean` on `wasm` (channel reductions in place, else the stock kernel). */
export const channelMeanConfig = makeConfig(Mean, (rows) => (rows > 0 ? 1 / rows : NaN));
