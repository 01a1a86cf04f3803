/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (stock tfjs-backend-wasm has none):
 * for each filter tap, a strided slice of the padded input times dy, summed over batch and space.
 */
import { DepthwiseConv2dNativeBackpropFilter } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { convInfoOf, readConvAttrs } from './conv_attrs';
import { free, padToReadExtent, reshape, runWasm, checkDyShape, stridedSlice } from './wasm_ops';

const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { filterShape } = attrs as { filterShape: [number, number, number, number] };
  const [kh, kw, ci, m] = filterShape;
  const info = convInfoOf(x.shape, filterShape, readConvAttrs(attrs), true);
  checkDyShape('DepthwiseConv2dNativeBackpropFilter', dy, info.outShape, x.shape, filterShape);
  const {
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
    outHeight: oh,
    outWidth: ow,
  } = info;
  const n = x.shape[0];
  const padded = padToReadExtent(x, info, backend);
  const rows = n * oh * ow;
  const dy3 = reshape(dy, [rows, ci, m], backend);
  const taps: TensorInfo[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const s = stridedSlice(
        padded,
        [0, i * dh, j * dw, 0],
        [n, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, ci],
        [1, sh, sw, 1],
        backend,
      );
      const s3 = reshape(s, [rows, ci, 1], backend);
      const prod = runWasm('Multiply', { a: s3, b: dy3 }, {}, backend);
      taps.push(runWasm('Sum', { x: prod }, { axis: [0], keepDims: false }, backend));
      free(backend, s, s3, prod);
    }
  }
  free(backend, padded, dy3);
  const stacked = runWasm(
    'Concat',
    taps as unknown as Record<string, TensorInfo>,
    { axis: 0 },
    backend,
  );
  free(backend, ...taps);
  const out = reshape(stacked, [kh, kw, ci, m], backend);
  free(backend, stacked);
  return out;
};

/** Kernel config: `DepthwiseConv2dNativeBackpropFilter` on `wasm`. */
export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc,
};
