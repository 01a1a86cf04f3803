/**
 * `Conv2DBackpropInput` for the wasm backend, rebuilt on the backend's XNNPACK forward `Conv2D`:
 * dx = conv2d(zero-interleaved, re-padded dy, filter rotated 180° with in/out channels swapped).
 * The stock wasm kernel is a scalar loop; this one runs at forward-convolution speed.
 *
 * Strided convolutions (equal strides, no dilation) skip the zero-interleaving, which would spend
 * (1 - 1/s²) of the work multiplying zeros: dx splits into s² phases (rows ≡ pi, columns ≡ pj
 * mod s), each a stride-1 convolution of dy with the taps of the filter that reach that phase;
 * the phases are stacked as channels and put in place by a reshape and one transpose.
 */
import { Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import type { backend_util, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  conv2dValid,
  free,
  padOrCrop,
  reshape,
  runWasm,
  slice,
  zeroInterleave,
  checkDyShape,
  stridedSlice,
  makeOutput,
  heapOffset,
} from './wasm_ops';
import { convValid, usesWinograd, winogradConv3x3 } from './native_ops';
import { trainKernels } from '../native/train_kernels';
import type { Instance } from '../native/train_kernels';
import { convInfoOf, readConvAttrs, requireNhwc } from './conv_attrs';

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
  const rotated = rotateFilter(filter, backend);
  const conv = (input: TensorInfo) => conv2dValid(input, rotated, backend, [1, 1], [dh, dw]);
  const top = ekh - 1 - convInfo.padInfo.top;
  const left = ekw - 1 - convInfo.padInfo.left;
  if (kh === 1 && kw === 1 && (sh > 1 || sw > 1)) {
    // 1x1 strided: multiply at the low resolution first, then spread (no work on zeros).
    const low = conv(dy);
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
  if (sh === sw && sh > 1 && dh === 1 && dw === 1) {
    const dx = phaseSplit(dy, rotated, inputShape, convInfo, backend);
    free(backend, rotated);
    return dx;
  }
  const [n, , , inC] = inputShape;
  const native = sh === 1 && sw === 1 ? trainKernels(backend) : null;
  if (native !== null && usesWinograd(kh, kw, [1, 1], [dh, dw], dy.shape[3]!, inC)) {
    // Stride 1 by Winograd: dy padded by (top, left) is read as zeros, never copied.
    const dx = makeOutput(backend, [n, h, w, inC]);
    winogradConv3x3(native, backend, dy, rotated, dx, top, left);
    free(backend, rotated);
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
  const dx = conv(padded);
  free(backend, padded, rotated);
  return dx;
}

/** The filter rotated by 180° with its channel axes swapped, [kh, kw, outC, inC]. */
function rotateFilter(filter: TensorInfo, backend: object): TensorInfo {
  const [kh, kw, inC, outC] = filter.shape as [number, number, number, number];
  const k = filter.dtype === 'float32' ? trainKernels(backend) : null;
  if (k === null) {
    const reversed = runWasm('Reverse', { x: filter }, { dims: [0, 1] }, backend);
    const rotated = runWasm('Transpose', { x: reversed }, { perm: [0, 1, 3, 2] }, backend);
    free(backend, reversed);
    return rotated;
  }
  const out = makeOutput(backend, [kh, kw, outC, inC]);
  k.exports.rotate_filter(heapOffset(backend, filter), heapOffset(backend, out), kh, kw, inC, outC);
  return out;
}

/** Taps of one phase along one axis: the first tap r, how many (m) and the dy offset q. */
function phaseTaps(
  phase: number,
  pad: number,
  stride: number,
  k: number,
): { r: number; m: number; q: number } {
  const r = (phase + pad) % stride;
  const q = Math.floor((phase + pad) / stride);
  return { r, m: r < k ? Math.ceil((k - r) / stride) : 0, q };
}

type Taps = ReturnType<typeof phaseTaps>;

/** The phases of a stride-`s` input gradient: each phase's row and column taps, in (pi, pj) row-major order, and the phase grid [a, b]. */
interface PhaseGeometry {
  s: number;
  a: number;
  b: number;
  list: { pi: number; pj: number; th: Taps; tw: Taps }[];
}

function phaseGeometry(
  rotated: TensorInfo,
  [, h, w]: [number, number, number, number],
  convInfo: backend_util.Conv2DInfo,
): PhaseGeometry {
  const s = convInfo.strideHeight;
  const [kh, kw] = rotated.shape as [number, number, number, number];
  const list = [...Array(s * s).keys()].map((p) => {
    const pi = Math.floor(p / s);
    const pj = p % s;
    return {
      pi,
      pj,
      th: phaseTaps(pi, convInfo.padInfo.top, s, kh),
      tw: phaseTaps(pj, convInfo.padInfo.left, s, kw),
    };
  });
  return { s, a: Math.ceil(h / s), b: Math.ceil(w / s), list };
}

/**
 * One phase's operands: the sub-filter of `rotated` with the taps that reach the phase, and dy
 * padded (or cropped) so that a valid stride-1 convolution of the two gives the phase's [a, b] grid.
 */
function phaseOperands(
  dy: TensorInfo,
  rotated: TensorInfo,
  th: Taps,
  tw: Taps,
  [a, b]: [number, number],
  s: number,
  backend: object,
): { sub: TensorInfo; input: TensorInfo } {
  const [kh, kw, kin, kout] = rotated.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const sub = stridedSlice(
    rotated,
    [kh - 1 - th.r - s * (th.m - 1), kw - 1 - tw.r - s * (tw.m - 1), 0, 0],
    [kh, kw, kin, kout],
    [s, s, 1, 1],
    backend,
  );
  const top = th.m - 1 - th.q;
  const left = tw.m - 1 - tw.q;
  const input = padOrCrop(
    dy,
    [
      [0, 0],
      [top, a + th.m - 1 - oh - top],
      [left, b + tw.m - 1 - ow - left],
      [0, 0],
    ],
    backend,
  );
  return { sub, input };
}

/**
 * The strided input gradient by phases (see the module comment). Phase (pi, pj) of dx is
 * dx[s·a + pi, s·b + pj] = Σ dy[a + q - t', ...] · W[r + s·t', ...]: a valid stride-1
 * convolution of dy, padded by m - 1 - q before, with the sub-filter of `rotated` (the filter
 * reversed with channels swapped) that starts at k - 1 - r - s·(m - 1) with step s.
 */
function phaseSplit(
  dy: TensorInfo,
  rotated: TensorInfo,
  inputShape: [number, number, number, number],
  convInfo: backend_util.Conv2DInfo,
  backend: object,
): TensorInfo {
  const [n, h, w, c] = inputShape;
  const phases = phaseGeometry(rotated, inputShape, convInfo);
  const { s, a, b } = phases;
  const native = c % 4 === 0 ? trainKernels(backend) : null;
  if (native !== null) return phasesInPlace(native, dy, rotated, inputShape, phases, backend);
  const outputs: TensorInfo[] = [];
  for (const { th, tw } of phases.list) {
    if (th.m === 0 || tw.m === 0) {
      outputs.push(
        runWasm('Fill', {}, { shape: [n, a, b, c], value: 0, dtype: 'float32' }, backend),
      );
      continue;
    }
    const { sub, input } = phaseOperands(dy, rotated, th, tw, [a, b], s, backend);
    outputs.push(conv2dValid(input, sub, backend));
    free(backend, sub, input);
  }
  // Channel block (pi·s + pj) of the stack goes to rows s·a + pi, columns s·b + pj.
  // The Concat kernel takes its inputs as an array.
  const stacked = runWasm(
    'Concat',
    outputs as unknown as Record<string, TensorInfo>,
    { axis: 3 },
    backend,
  );
  free(backend, ...outputs);
  // A depth-to-space as reshape + transpose (the wasm DepthToSpace kernel is a slow scalar loop).
  const six = reshape(stacked, [n, a, b, s, s, c], backend);
  const moved = runWasm('Transpose', { x: six }, { perm: [0, 1, 3, 2, 4, 5] }, backend);
  free(backend, stacked, six);
  const full = reshape(moved, [n, a * s, b * s, c], backend);
  free(backend, moved);
  if (full.shape[1] === h && full.shape[2] === w) return full;
  const dx = slice(full, [0, 0, 0, 0], [n, h, w, c], backend);
  free(backend, full);
  return dx;
}

/**
 * The phases of {@link phaseSplit} by supcon's kernels, each convolution storing its output
 * straight into rows s·a + pi, columns s·b + pj of dx (no stacking, transpose or crop).
 */
function phasesInPlace(
  k: Instance,
  dy: TensorInfo,
  rotated: TensorInfo,
  inputShape: [number, number, number, number],
  { s, a, b, list }: PhaseGeometry,
  backend: object,
): TensorInfo {
  const [n, h, w, c] = inputShape;
  // Phases no filter tap reaches stay zero.
  const dx = list.some((t) => t.th.m === 0 || t.tw.m === 0)
    ? runWasm('Fill', {}, { shape: [n, h, w, c], value: 0, dtype: 'float32' }, backend)
    : makeOutput(backend, [n, h, w, c]);
  for (const { pi, pj, th, tw } of list) {
    if (th.m === 0 || tw.m === 0 || pi >= h || pj >= w) continue;
    const { sub, input } = phaseOperands(dy, rotated, th, tw, [a, b], s, backend);
    convValid(k, backend, input, sub, [1, 1], [1, 1], {
      out: dx,
      row0: pi,
      rowStep: s,
      col0: pj,
      colStep: s,
      rows: Math.ceil((h - pi) / s),
      cols: Math.ceil((w - pj) / s),
    });
    free(backend, sub, input);
  }
  return dx;
}

const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { inputShape } = attrs as { inputShape: [number, number, number, number] };
  const conv = readConvAttrs(attrs, { dilated: false });
  requireNhwc('Conv2DBackpropInput', conv);
  const info = convInfoOf(inputShape, filter.shape, conv);
  checkDyShape('Conv2DBackpropInput', dy, info.outShape, inputShape, filter.shape);
  return conv2dBackpropInputWasm(dy, filter, inputShape, info, backend);
};

/** Kernel config: `Conv2DBackpropInput` on `wasm` (replaces the stock scalar kernel). */
export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc,
};
