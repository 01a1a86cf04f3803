/**
 * `Conv2DBackpropInput` for the wasm backend, rebuilt on the backend's XNNPACK forward `Conv2D`:
 * dx = conv2d(zero-interleaved, re-padded dy, filter rotated 180° with in/out channels swapped).
 * The stock wasm kernel is a scalar loop; this one runs at forward-convolution speed.
 */
import { backend_util, Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { free, padOrCrop, runWasm, zeroInterleave, checkDyShape } from './wasm_ops';

/**
 * Gradient of a stride-`s`, dilation-`d` NHWC convolution with respect to its input.
 * @param dy output gradient [n, outH, outW, outC] float32.
 * @param filter [kh, kw, inC, outC] float32.
 * @param inputShape the forward input's shape [n, h, w, inC].
 * @returns TensorInfo [n, h, w, inC] float32 (caller owns it).
 */
export function conv2dBackpropInputWasm(
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: [number, number, number, number],
  convInfo: backend_util.Conv2DInfo,
  backend: object,
): TensorInfo {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = convInfo;
  const [kh, kw] = filter.shape as [number, number, number, number];
  const [, h, w] = inputShape;
  const ekh = (kh - 1) * dh + 1;
  const ekw = (kw - 1) * dw + 1;
  // Filter rotated by 180° with channels swapped: [kh, kw, outC, inC].
  const reversed = runWasm('Reverse', { x: filter }, { dims: [0, 1] }, backend);
  const rotated = runWasm('Transpose', { x: reversed }, { perm: [0, 1, 3, 2] }, backend);
  free(backend, reversed);
  const conv = (
    input: TensorInfo,
    pads: [[0, 0], [number, number], [number, number], [0, 0]] | 'valid',
  ) =>
    runWasm(
      'Conv2D',
      { x: input, filter: rotated },
      {
        strides: [1, 1],
        pad: pads,
        dataFormat: 'NHWC',
        dilations: [dh, dw],
        dimRoundingMode: undefined,
      } as unknown as NamedAttrMap,
      backend,
    );
  const top = ekh - 1 - convInfo.padInfo.top;
  const left = ekw - 1 - convInfo.padInfo.left;
  if (kh === 1 && kw === 1 && (sh > 1 || sw > 1)) {
    // 1x1 strided: multiply at the low resolution first, then spread (no work on zeros).
    const low = conv(dy, 'valid');
    const spread = zeroInterleave(low, sh, sw, backend);
    free(backend, low, rotated);
    const dx = padOrCrop(
      spread,
      [
        [0, 0],
        [top, h - top - spread.shape[1]!],
        [left, w - left - spread.shape[2]!],
        [0, 0],
      ],
      backend,
    );
    free(backend, spread);
    return dx;
  }
  const spread = zeroInterleave(dy, sh, sw, backend);
  const bottom = h + ekh - 1 - top - spread.shape[1]!;
  const right = w + ekw - 1 - left - spread.shape[2]!;
  const padded = padOrCrop(
    spread,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    backend,
  );
  free(backend, spread);
  const dx = conv(padded, 'valid');
  free(backend, padded, rotated);
  return dx;
}

const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  if (dataFormat === 'NCHW') {
    throw new Error(
      `Conv2DBackpropInput (wasm): dataFormat 'NCHW' is not supported; expected 'NHWC'`,
    );
  }
  const convInfo = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  checkDyShape('Conv2DBackpropInput', dy, convInfo.outShape, inputShape, filter.shape);
  return conv2dBackpropInputWasm(dy, filter, inputShape, convInfo, backend);
};

/** Kernel config: `Conv2DBackpropInput` on `wasm` (replaces the stock scalar kernel). */
export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc,
};
