/**
 * Forward `Conv2D` and `FusedConv2D` (no bias, no activation: what tfjs-layers runs for a
 * `conv2d({ useBias: false })` before batch norm) on wasm by supcon's SIMD kernels, split over
 * the kernel threads: Winograd F(2x2, 3x3) for 3x3 stride-1 filters with channel counts that are
 * multiples of 4 (padding read as zeros), otherwise one pass that pads the input and the direct
 * kernel on packed weights (`npm run bench:kernels` compares them with XNNPACK). Every other
 * case (bias, activations, NCHW, output channels not a multiple of 4, no SIMD) runs the stock
 * kernel.
 */
import { Conv2D, FusedConv2D } from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { trainKernels } from '../native/train_kernels';
import { convInfoOf, readConvAttrs } from './conv_attrs';
import { free, makeOutput } from './heap';
import { convValid, padNhwc, usesWinograd, winogradConv3x3 } from './native_ops';
import { overrideWasmKernel } from './override';
import { readExtent } from './wasm_ops';

/** The convolution by the native kernel, or undefined when this case is left to the stock kernel. */
export function nativeConv2d(args: Parameters<KernelFunc>[0]): TensorInfo | undefined {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<
    string,
    TensorInfo | undefined
  >;
  const { activation } = args.attrs as { activation?: string };
  const attrs = readConvAttrs(args.attrs);
  if (x === undefined || filter === undefined || bias != null || preluActivationWeights != null)
    return undefined;
  if (activation !== undefined && activation !== 'linear') return undefined;
  if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32' || x.shape.length !== 4)
    return undefined;
  if (filter.shape[3]! % 4 !== 0) return undefined;
  const k = trainKernels(args.backend);
  if (k === null) return undefined;
  const info = convInfoOf(x.shape, filter.shape, attrs);
  const [n, h, w, cin] = x.shape as [number, number, number, number];
  const { top, left } = info.padInfo;
  const strides: [number, number] = [info.strideHeight, info.strideWidth];
  const dilations: [number, number] = [info.dilationHeight, info.dilationWidth];
  if (
    usesWinograd(info.filterHeight, info.filterWidth, strides, dilations, cin, info.outChannels)
  ) {
    // Winograd reads the padding as zeros: no padded copy.
    const out = makeOutput(args.backend, [n, info.outHeight, info.outWidth, info.outChannels]);
    winogradConv3x3(k, args.backend, x, filter, out, top, left);
    return out;
  }
  const [needH, needW] = readExtent(info);
  const padded =
    top === 0 && left === 0 && needH === h && needW === w
      ? x
      : padNhwc(k, args.backend, x, top, left, needH, needW);
  const out = convValid(
    k,
    args.backend,
    padded,
    filter,
    [info.strideHeight, info.strideWidth],
    [info.dilationHeight, info.dilationWidth],
  );
  if (padded !== x) free(args.backend, padded);
  return out;
}

/** Kernel config: `Conv2D` on `wasm` (native for float32 NHWC with outC % 4 = 0; else stock). */
export const conv2DConfig = overrideWasmKernel(Conv2D, nativeConv2d);

/** Kernel config: `FusedConv2D` on `wasm` (native without bias or activation; else stock). */
export const fusedConv2DConfig = overrideWasmKernel(FusedConv2D, nativeConv2d);
