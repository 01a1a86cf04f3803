/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (stock tfjs-backend-wasm has none):
 * a depthwise forward convolution (XNNPACK) of the zero-interleaved, re-padded dy with the
 * rotated filter, then a sum over the channel multiplier.
 */
import { DepthwiseConv2dNativeBackpropInput } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { convInfoOf, readConvAttrs } from './conv_attrs';
import { free, padOrCrop, reshape, runWasm, zeroInterleave, checkDyShape } from './wasm_ops';

const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { inputShape } = attrs as { inputShape: [number, number, number, number] };
  const [kh, kw, ci, m] = filter.shape as [number, number, number, number];
  const info = convInfoOf(inputShape, [kh, kw, ci, m], readConvAttrs(attrs), true);
  checkDyShape('DepthwiseConv2dNativeBackpropInput', dy, info.outShape, inputShape, filter.shape);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const [n, h, w] = inputShape;
  const ekh = (kh - 1) * dh + 1;
  const ekw = (kw - 1) * dw + 1;
  const reversed = runWasm('Reverse', { x: filter }, { dims: [0, 1] }, backend);
  const rotated = reshape(reversed, [kh, kw, ci * m, 1], backend);
  free(backend, reversed);
  const spread = zeroInterleave(dy, sh, sw, backend);
  const top = ekh - 1 - info.padInfo.top;
  const left = ekw - 1 - info.padInfo.left;
  const padded = padOrCrop(
    spread,
    [
      [0, 0],
      [top, h + ekh - 1 - top - spread.shape[1]!],
      [left, w + ekw - 1 - left - spread.shape[2]!],
      [0, 0],
    ],
    backend,
  );
  free(backend, spread);
  const full = runWasm(
    'DepthwiseConv2dNative',
    { x: padded, filter: rotated },
    {
      strides: [1, 1],
      pad: 'valid',
      dilations: [dh, dw],
      dimRoundingMode: undefined,
    } as unknown as NamedAttrMap,
    backend,
  );
  free(backend, padded, rotated);
  if (m === 1) return full;
  const split = reshape(full, [n, h, w, ci, m], backend);
  const dx = runWasm('Sum', { x: split }, { axis: [4], keepDims: false }, backend);
  free(backend, full, split);
  return dx;
};

/** Kernel config: `DepthwiseConv2dNativeBackpropInput` on `wasm`. */
export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc,
};
