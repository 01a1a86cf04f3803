/**
 * `Conv2DBackpropFilter` for the wasm backend (stock tfjs-backend-wasm has none).
 * Default: one XNNPACK convolution with batch and channels swapped (see conv2dBackpropFilterWasm).
 * Alternative: im2col of the padded input ([n*outH*outW, kh*kw*inC], built from strided slices and one concat)
 * times dy ([n*outH*outW, outC]) with the backend's `BatchMatMul` (transposeA), chunked over the
 * batch so the im2col buffer stays under {@link IM2COL_MAX_FLOATS}.
 */
import { Conv2DBackpropFilter } from '@tensorflow/tfjs-core';
import type { backend_util, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  conv2dValid,
  free,
  im2colRowsHWN,
  padToReadExtent,
  padTransposeToCHWN,
  reshape,
  runWasm,
  slice,
  transposeToHWNC,
  checkDyShape,
  stridedSlice,
  heapOffset,
  makeOutput,
  readExtent,
} from './wasm_ops';
import { runSplit, trainKernels } from '../native/train_kernels';
import { usesWinograd, winogradFilterGrad } from './native_ops';
import { convInfoOf, readConvAttrs, requireNhwc } from './conv_attrs';

/** Default largest im2col buffer (floats, 32 MiB) built at once; larger batches are split into chunks. */
export const IM2COL_MAX_FLOATS = 1 << 23;
let im2colMaxFloats = IM2COL_MAX_FLOATS;
type Strategy = 'native' | 'swap' | 'im2col';
let strategy: Strategy = 'native';

/**
 * Chooses how `Conv2DBackpropFilter` is computed: `'native'` (default; supcon's SIMD kernel in
 * native/train_kernels.c, split over the kernel threads, for output channels a multiple of 4;
 * otherwise 'swap'), `'swap'` (one XNNPACK convolution with batch and channels swapped) or
 * `'im2col'` (strided slices + `BatchMatMul`). Returns the previous.
 */
export function setConv2dBackpropFilterStrategy(next: Strategy): Strategy {
  const previous = strategy;
  strategy = next;
  return previous;
}

/** Sets the im2col chunk limit (floats); returns the previous one. For tests and memory tuning. */
export function setIm2colMaxFloats(floats: number): number {
  const previous = im2colMaxFloats;
  im2colMaxFloats = Math.max(1, Math.floor(floats));
  return previous;
}

type Backend = object;

/**
 * Gradient of an NHWC convolution with respect to its filter, as one XNNPACK forward convolution
 * with batch and channels swapped: input x^T [inC, h', w', n], filter dy^T [outH, outW, n, outC],
 * stride = the forward dilation, dilation = the forward stride; output [inC, kh, kw, outC].
 * @param x forward input [n, h, w, inC] float32.
 * @param dy output gradient [n, outH, outW, outC] float32.
 * @returns TensorInfo [kh, kw, inC, outC] float32 (caller owns it).
 */
export function conv2dBackpropFilterWasm(
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: Backend,
): TensorInfo {
  if (strategy === 'im2col') return conv2dBackpropFilterIm2col(x, dy, convInfo, backend);
  if (strategy === 'native' && convInfo.outChannels % 4 === 0) {
    const kernels = trainKernels(backend);
    if (kernels !== null) return nativeFilterGrad(kernels, x, dy, convInfo, backend);
  }
  if (convInfo.filterHeight * convInfo.filterWidth * convInfo.inChannels <= FEW_TAPS)
    return fewTaps(x, dy, convInfo, backend);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = convInfo;
  // x padded to the read extent and transposed to [inC, h', w', n], dy to [outH, outW, n, outC],
  // each in one pass over the heap.
  const [needH, needW] = readExtent(convInfo);
  const xT = padTransposeToCHWN(
    x,
    convInfo.padInfo.top,
    convInfo.padInfo.left,
    needH,
    needW,
    backend,
  );
  const dyT = transposeToHWNC(dy, backend);
  const swapped = conv2dValid(xT, dyT, backend, [dh, dw], [sh, sw]);
  free(backend, xT, dyT);
  const out = runWasm('Transpose', { x: swapped }, { perm: [1, 2, 0, 3] }, backend);
  free(backend, swapped);
  return out;
}

/**
 * The filter gradient by supcon's SIMD kernels: Winograd F(2x2, 3x3) for 3x3 stride-1 filters
 * on channel counts that are multiples of 4, else outer products per tap, work items (tap, 4
 * input channels) split over the threads.
 */
function nativeFilterGrad(
  kernels: NonNullable<ReturnType<typeof trainKernels>>,
  x: TensorInfo,
  dy: TensorInfo,
  c: backend_util.Conv2DInfo,
  backend: Backend,
): TensorInfo {
  const strides: [number, number] = [c.strideHeight, c.strideWidth];
  const dilations: [number, number] = [c.dilationHeight, c.dilationWidth];
  if (usesWinograd(c.filterHeight, c.filterWidth, strides, dilations, c.inChannels, c.outChannels))
    return winogradFilterGrad(kernels, backend, x, dy, c.padInfo.top, c.padInfo.left);
  const out = makeOutput(backend, [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels]);
  const items = c.filterHeight * c.filterWidth * Math.ceil(c.inChannels / 4);
  const [px, pdy, pdw] = [x, dy, out].map((t) => heapOffset(backend, t));
  runSplit(kernels, 'conv2d_filter_grad', items, (item0, item1) => [
    px!,
    pdy!,
    pdw!,
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
    item0,
    item1,
  ]);
  return out;
}

/** Up to this many filter taps (kh·kw·inC, e.g. a 3x3 stem on grey or RGB images) take {@link fewTaps}. */
const FEW_TAPS = 32;

/**
 * Few taps: dWᵀ = dyᵀ · im2col as one XNNPACK 1x1 convolution whose weights are the small im2col
 * matrix ([positions, taps]) and whose input is dyᵀ ([outC] pixels of [positions] channels). The
 * swap form would repack all of dy as weights for a tiny output (82 ms for the 3x3 stem of a
 * 28x28 grey image at batch 128).
 */
function fewTaps(
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: Backend,
): TensorInfo {
  const {
    filterHeight: kh,
    filterWidth: kw,
    inChannels: ci,
    outChannels: co,
    outHeight: oh,
    outWidth: ow,
  } = convInfo;
  const positions = oh * ow * x.shape[0]!;
  const cols = im2colRowsHWN(x, convInfo, backend);
  const dyT = padTransposeToCHWN(dy, 0, 0, oh, ow, backend);
  const input = reshape(dyT, [1, 1, co, positions], backend);
  free(backend, dyT);
  const product = conv2dValid(input, cols, backend);
  free(backend, input, cols);
  const flat = reshape(product, [co, kh * kw * ci], backend);
  free(backend, product);
  const transposed = runWasm('Transpose', { x: flat }, { perm: [1, 0] }, backend);
  free(backend, flat);
  const out = reshape(transposed, [kh, kw, ci, co], backend);
  free(backend, transposed);
  return out;
}

/** The im2col + BatchMatMul variant (kept for comparison: `setConv2dBackpropFilterStrategy('im2col')`). */
function conv2dBackpropFilterIm2col(
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
  backend: Backend,
): TensorInfo {
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
  } = convInfo;
  const { outHeight: oh, outWidth: ow, inChannels: ci, outChannels: co } = convInfo;
  const n = x.shape[0];
  const padded = padToReadExtent(x, convInfo, backend);
  const [, needH, needW] = padded.shape;
  const perImage = oh * ow * kh * kw * ci;
  const chunk = Math.max(1, Math.min(n, Math.floor(im2colMaxFloats / perImage)));
  let acc: TensorInfo | undefined;
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const nb = Math.min(chunk, n - b0);
    const xb = nb === n ? padded : slice(padded, [b0, 0, 0, 0], [nb, needH, needW, ci], backend);
    const dyb = nb === n ? dy : slice(dy, [b0, 0, 0, 0], [nb, oh, ow, co], backend);
    const cols: TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        cols.push(
          stridedSlice(
            xb,
            [0, i * dh, j * dw, 0],
            [nb, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, ci],
            [1, sh, sw, 1],
            backend,
          ),
        );
      }
    }
    const im2col =
      cols.length === 1
        ? cols[0]!
        : runWasm('Concat', cols as unknown as Record<string, TensorInfo>, { axis: 3 }, backend);
    const a = reshape(im2col, [1, nb * oh * ow, kh * kw * ci], backend);
    const bm = reshape(dyb, [1, nb * oh * ow, co], backend);
    const part = runWasm(
      'BatchMatMul',
      { a, b: bm },
      { transposeA: true, transposeB: false },
      backend,
    );
    free(backend, a, bm);
    if (cols.length > 1) free(backend, im2col);
    free(backend, ...cols);
    if (xb !== padded) free(backend, xb);
    if (dyb !== dy) free(backend, dyb);
    if (acc === undefined) {
      acc = part;
    } else {
      const sum = runWasm('Add', { a: acc, b: part }, {}, backend);
      free(backend, acc, part);
      acc = sum;
    }
  }
  free(backend, padded);
  const out = reshape(acc!, [kh, kw, ci, co], backend);
  free(backend, acc);
  return out;
}

const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { filterShape } = attrs as { filterShape: [number, number, number, number] };
  const conv = readConvAttrs(attrs, { dilated: false });
  requireNhwc('Conv2DBackpropFilter', conv);
  const info = convInfoOf(x.shape, filterShape, conv);
  checkDyShape('Conv2DBackpropFilter', dy, info.outShape, x.shape, filterShape);
  return conv2dBackpropFilterWasm(x, dy, info, backend);
};

/** Kernel config: `Conv2DBackpropFilter` on `wasm`. */
export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc,
};
