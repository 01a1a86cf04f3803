/**
 * Internal helpers: run a wasm backend kernel directly (no engine, no tape) and free its outputs.
 * The composed training kernels call these; nothing here is exported from the package.
 */
import { getKernel } from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { trainKernels } from '../native/train_kernels';
import { convValid, padNhwc } from './native_ops';
import { free, heapView } from './heap';
import type { HeapBackend } from './heap';

export { free, heapOffset, makeOutput } from './heap';

/**
 * Runs the kernel `name` registered for the `wasm` backend on `inputs`; returns its first output.
 * @throws Error naming the kernel when it is not registered for wasm.
 */
export function runWasm(
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
  backend: object,
): TensorInfo {
  const kernel = getKernel(name, 'wasm');
  if (kernel == null) {
    throw new Error(
      `@supcon/backends: the wasm kernel '${name}' is not registered (initialise the wasm backend first)`,
    );
  }
  const out = kernel.kernelFunc({ inputs, attrs, backend: backend as KernelBackend });
  return Array.isArray(out) ? (out[0] as TensorInfo) : out;
}

/** Reshape without copying (the wasm Reshape kernel shares the data and counts a reference). */
export function reshape(x: TensorInfo, shape: number[], backend: object): TensorInfo {
  return runWasm('Reshape', { x }, { shape }, backend);
}

/**
 * NHWC `Conv2D` with 'valid' padding (strides and dilations default to 1): supcon's SIMD kernel
 * when it is available and the output channels are a multiple of 4, else the backend's XNNPACK one.
 */
export function conv2dValid(
  x: TensorInfo,
  filter: TensorInfo,
  backend: object,
  strides: [number, number] = [1, 1],
  dilations: [number, number] = [1, 1],
): TensorInfo {
  const native = filter.shape[3]! % 4 === 0 ? trainKernels(backend) : null;
  if (native !== null) return convValid(native, backend, x, filter, strides, dilations);
  const attrs = {
    strides,
    pad: 'valid',
    dataFormat: 'NHWC',
    dilations,
    dimRoundingMode: undefined,
  };
  return runWasm('Conv2D', { x, filter }, attrs as unknown as NamedAttrMap, backend);
}

/** Zero padding; `paddings` is [before, after] per axis, all non-negative. */
export function pad(x: TensorInfo, paddings: [number, number][], backend: object): TensorInfo {
  return runWasm('PadV2', { x }, { paddings, constantValue: 0 }, backend);
}

/** `x[begin : begin+size]` per axis. */
export function slice(x: TensorInfo, begin: number[], size: number[], backend: object): TensorInfo {
  return runWasm('Slice', { x }, { begin, size }, backend);
}

/** `x[begin : end : strides]` per axis (no masks). */
export function stridedSlice(
  x: TensorInfo,
  begin: number[],
  end: number[],
  strides: number[],
  backend: object,
): TensorInfo {
  const masks = { beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 };
  return runWasm('StridedSlice', { x }, { begin, end, strides, ...masks }, backend);
}

/** Pads (positive) or crops (negative) each axis; returns `x` itself (with an extra reference) when nothing changes. */
export function padOrCrop(
  x: TensorInfo,
  paddings: [number, number][],
  backend: object,
): TensorInfo {
  // NHWC padding or cropping of height and width only: supcon's kernel, split over the threads.
  const spatial =
    x.shape.length === 4 &&
    x.dtype === 'float32' &&
    paddings[0]![0] === 0 &&
    paddings[0]![1] === 0 &&
    paddings[3]![0] === 0 &&
    paddings[3]![1] === 0;
  const native = spatial ? trainKernels(backend) : null;
  if (native !== null && paddings.some(([b, a]) => b !== 0 || a !== 0)) {
    const [, h, w] = x.shape as [number, number, number, number];
    const [[top, bottom], [left, right]] = [paddings[1]!, paddings[2]!];
    return padNhwc(native, backend, x, top, left, h + top + bottom, w + left + right);
  }
  const begin = paddings.map(([b]) => Math.max(0, -b));
  const size = x.shape.map((d, i) => d - begin[i]! - Math.max(0, -paddings[i]![1]));
  const needsCrop = paddings.some(([b, a]) => b < 0 || a < 0);
  const cropped = needsCrop ? slice(x, begin, size, backend) : x;
  const positive = paddings.map(([b, a]) => [Math.max(0, b), Math.max(0, a)] as [number, number]);
  if (positive.every(([b, a]) => b === 0 && a === 0)) {
    return cropped === x ? reshape(x, x.shape, backend) : cropped;
  }
  const out = pad(cropped, positive, backend);
  if (cropped !== x) free(backend, cropped);
  return out;
}

/** The convolution geometry `padToReadExtent` needs (both Conv2DInfo and depthwise infos have it). */
export interface ReadExtent {
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  outHeight: number;
  outWidth: number;
  padInfo: { top: number; left: number };
}

/** Rows and columns a convolution with this geometry reads: `(out - 1) * stride + (k - 1) * dilation + 1` each. */
export function readExtent(info: ReadExtent): [number, number] {
  return [
    (info.outHeight - 1) * info.strideHeight + (info.filterHeight - 1) * info.dilationHeight + 1,
    (info.outWidth - 1) * info.strideWidth + (info.filterWidth - 1) * info.dilationWidth + 1,
  ];
}

/**
 * Pads (or crops) NHWC `x` to exactly the rows and columns a convolution with this geometry reads:
 * `(out - 1) * stride + (k - 1) * dilation + 1` each way, after the leading `top`/`left` padding.
 */
export function padToReadExtent(x: TensorInfo, info: ReadExtent, backend: object): TensorInfo {
  const [, h, w] = x.shape as [number, number, number, number];
  const [needH, needW] = readExtent(info);
  const { top, left } = info.padInfo;
  return padOrCrop(
    x,
    [
      [0, 0],
      [top, needH - h - top],
      [left, needW - w - left],
      [0, 0],
    ],
    backend,
  );
}

/**
 * Inserts `stride - 1` zeros after every row/column of an NHWC tensor (the strided-convolution
 * "dilation" of an output gradient); output is [n, h*sh, w*sw, c] (trailing zeros included).
 */
export function zeroInterleave(x: TensorInfo, sh: number, sw: number, backend: object): TensorInfo {
  if (sh === 1 && sw === 1) return reshape(x, x.shape, backend);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const r6 = reshape(x, [n, h, 1, w, 1, c], backend);
  const p6 = pad(
    r6,
    [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ],
    backend,
  );
  const out = reshape(p6, [n, h * sh, w * sw, c], backend);
  free(backend, r6, p6);
  return out;
}

/**
 * Throws when `dy` does not have the forward convolution's output shape.
 * @throws Error `KERNEL (wasm): dy has shape [..], expected [..] (input [..], filter [..])`.
 */
export function checkDyShape(
  kernel: string,
  dy: TensorInfo,
  expected: number[],
  inShape: number[],
  filterShape: number[],
): void {
  if (dy.shape.length !== expected.length || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `${kernel} (wasm): dy has shape [${dy.shape.join(', ')}], expected [${expected.join(', ')}] ` +
        `(input [${inShape.join(', ')}], filter [${filterShape.join(', ')}])`,
    );
  }
}

/**
 * NHWC `x` [n, h, w, c] to [c, outH, outW, n] with `x` placed at rows `top..`, columns `left..`
 * (zeros around it; negative values crop): the transposed, padded input of the swapped filter
 * gradient in one pass over the heap, instead of a pad and a 4-D transpose (which the backend
 * runs single-threaded and cache-unfriendly).
 */
export function padTransposeToCHWN(
  x: TensorInfo,
  top: number,
  left: number,
  outH: number,
  outW: number,
  backend: object,
): TensorInfo {
  const b = backend as HeapBackend;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = b.makeOutput([c, outH, outW, n], 'float32');
  const src = heapView(b, x);
  const dst = heapView(b, out);
  dst.fill(0);
  const plane = outH * outW * n;
  for (let i = 0; i < outH; i++) {
    const si = i - top;
    if (si < 0 || si >= h) continue;
    for (let j = 0; j < outW; j++) {
      const sj = j - left;
      if (sj < 0 || sj >= w) continue;
      const at = (i * outW + j) * n;
      const from = (si * w + sj) * c;
      const stride = h * w * c;
      for (let k = 0; k < c; k++) {
        const o = k * plane + at;
        let s = from + k;
        for (let p = 0; p < n; p++, s += stride) dst[o + p] = src[s]!;
      }
    }
  }
  return out;
}

/** NHWC `dy` [n, h, w, c] to [h, w, n, c] (the swapped filter gradient's filter) by row copies. */
export function transposeToHWNC(dy: TensorInfo, backend: object): TensorInfo {
  const b = backend as HeapBackend;
  const [n, h, w, c] = dy.shape as [number, number, number, number];
  const out = b.makeOutput([h, w, n, c], 'float32');
  const src = heapView(b, dy);
  const dst = heapView(b, out);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const s = ((p * h + i) * w + j) * c;
        dst.set(src.subarray(s, s + c), ((i * w + j) * n + p) * c);
      }
    }
  }
  return out;
}

/**
 * The im2col matrix of NHWC `x` for a convolution, laid out `[1, 1, outH·outW·n, kh·kw·inC]` with
 * rows in (oy, ox, n) order (zeros where a tap reads padding). Built in one pass over the heap;
 * meant for few input channels, where it is small.
 */
export function im2colRowsHWN(x: TensorInfo, info: ReadExtent, backend: object): TensorInfo {
  const b = backend as HeapBackend;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
  } = info;
  const { outHeight: oh, outWidth: ow } = info;
  const taps = kh * kw * c;
  const out = b.makeOutput([1, 1, oh * ow * n, taps], 'float32');
  const src = heapView(b, x);
  const dst = heapView(b, out);
  dst.fill(0);
  let row = 0;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let p = 0; p < n; p++, row++) {
        const base = row * taps;
        for (let i = 0; i < kh; i++) {
          const y = oy * sh + i * dh - info.padInfo.top;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < kw; j++) {
            const xx = ox * sw + j * dw - info.padInfo.left;
            if (xx < 0 || xx >= w) continue;
            const s = ((p * h + y) * w + xx) * c;
            const d = base + (i * kw + j) * c;
            for (let k = 0; k < c; k++) dst[d + k] = src[s + k]!;
          }
        }
      }
    }
  }
  return out;
}
