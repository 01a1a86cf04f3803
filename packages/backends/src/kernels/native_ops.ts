/**
 * Internal helpers that call supcon's own SIMD kernels (native/train_kernels.c) on wasm tensors,
 * split over the kernel threads. Callers first get the kernel instance with
 * `trainKernels(backend)` and keep their composed path when it is null.
 */
import { util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { runSplit, splitParts } from '../native/train_kernels';
import type { Instance } from '../native/train_kernels';
import { free, heapOffset, heapView, makeOutput } from './heap';
import type { HeapBackend } from './heap';

let winograd = typeof process === 'undefined' || process.env?.SUPCON_WINOGRAD !== 'off';

/**
 * Turns the Winograd F(2x2, 3x3) path of 3x3 stride-1 convolutions and their filter gradients off
 * (`false`) or on; returns the previous setting. `SUPCON_WINOGRAD=off` starts with it off.
 */
export function setWinogradEnabled(enabled: boolean): boolean {
  const previous = winograd;
  winograd = enabled;
  return previous;
}

/** Whether a convolution with this geometry takes the Winograd path. */
export function usesWinograd(
  kh: number,
  kw: number,
  strides: [number, number],
  dilations: [number, number],
  cin: number,
  cout: number,
): boolean {
  return (
    winograd &&
    kh === 3 &&
    kw === 3 &&
    strides[0] === 1 &&
    strides[1] === 1 &&
    dilations[0] === 1 &&
    dilations[1] === 1 &&
    cin % 4 === 0 &&
    cout % 4 === 0
  );
}

/** Rows below this many floats a part are not worth a thread hand-off. */
const GRAIN_FLOATS = 1 << 15;

/** `[rows, channels]`: the product of every axis but the last, and the last. */
export function rowsAndChannels(x: TensorInfo): [number, number] {
  const c = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1]!;
  return [c === 0 ? 0 : util.sizeFromShape(x.shape) / c, c];
}

function rowGrain(c: number): number {
  return Math.max(1, Math.ceil(GRAIN_FLOATS / Math.max(1, c)));
}

/**
 * Most groups a reduction is cut into (the most threads `initBackend` starts): enough for every
 * thread to have work, few enough that adding the groups' partial sums stays cheap.
 */
export const REDUCTION_GROUPS = 8;

/**
 * How many groups a reduction over `items` work items is cut into: at most
 * {@link REDUCTION_GROUPS}, each of at least `grain` items where there are enough. It depends on the
 * shape only, never on the thread count, so a sum's grouping (and its bits) does not either.
 */
export function reductionGroups(items: number, grain: number): number {
  return Math.max(1, Math.min(REDUCTION_GROUPS, Math.floor(items / Math.max(1, grain))));
}

/** Scratch of `doubles` float64 slots in the heap: the tensor holding it and its 8-aligned offset. */
function scratchDoubles(backend: object, doubles: number): [TensorInfo, number] {
  const t = makeOutput(backend, [2 * doubles + 2]);
  const offset = heapOffset(backend, t);
  return [t, offset + (offset % 8 === 0 ? 0 : 8 - (offset % 8))];
}

/**
 * Per-channel sums of `[rows, c]` tensors in float64 (see `channel_sums`): mode 0 gives Σa;
 * mode 1 gives Σa then Σa·(b − shift) (2c values); mode 2 gives Σ(a − shift)².
 */
export function channelSums(
  k: Instance,
  backend: object,
  mode: 0 | 1 | 2,
  a: TensorInfo,
  b?: TensorInfo,
  shift?: TensorInfo,
): Float64Array {
  const [rows, c] = rowsAndChannels(a);
  const width = mode === 1 ? 2 * c : c;
  const out = new Float64Array(width);
  if (rows === 0 || c === 0) return out;
  // Row groups fixed by the shape, not by the threads: each group sums its own rows and the groups
  // are added in order, so the totals are the same bits on any number of threads.
  const groups = reductionGroups(rows, rowGrain(c));
  const [scratch, base] = scratchDoubles(backend, groups * width);
  const pa = heapOffset(backend, a);
  const pb = b === undefined ? 0 : heapOffset(backend, b);
  const ps = shift === undefined ? 0 : heapOffset(backend, shift);
  runSplit(k, 'channel_sums', groups, (g0, g1) => [pa, pb, ps, base, rows, c, g0, g1, groups, mode]);
  const view = new Float64Array((backend as HeapBackend).wasm.HEAPU8.buffer, base, groups * width);
  for (let g = 0; g < groups; g++) for (let i = 0; i < width; i++) out[i]! += view[g * width + i]!;
  free(backend, scratch);
  return out;
}

/** Writes `values` into a new float32 heap tensor `[values.length]`. */
export function heapVector(backend: object, values: ArrayLike<number>): TensorInfo {
  const t = makeOutput(backend, [values.length]);
  heapView(backend as HeapBackend, t).set(values);
  return t;
}

/**
 * `out = a·k1 + b·k2 + k3` per channel over `[rows, c]` tensors (`b` optional), into a new
 * float32 tensor of `a`'s shape. `coefficients` holds k1, k2, k3 one after the other (3c values).
 */
export function channelAffine(
  k: Instance,
  backend: object,
  a: TensorInfo,
  b: TensorInfo | undefined,
  coefficients: Float32Array,
): TensorInfo {
  const [rows, c] = rowsAndChannels(a);
  const out = makeOutput(backend, [...a.shape]);
  if (rows === 0 || c === 0) return out;
  const coef = heapVector(backend, coefficients);
  const pc = heapOffset(backend, coef);
  const pa = heapOffset(backend, a);
  const pb = b === undefined ? 0 : heapOffset(backend, b);
  const po = heapOffset(backend, out);
  runSplit(
    k,
    'channel_affine',
    rows,
    (r0, r1) => [pa, pb, po, pc, pc + 4 * c, pc + 8 * c, c, r0, r1],
    rowGrain(c),
  );
  free(backend, coef);
  return out;
}

/**
 * A new float32 tensor `[outer · group · len]` (given as `shape`) in which each of the `outer`
 * rows of `src` (`len` values each) is repeated `group` times in a row.
 */
export function broadcastRows(
  k: Instance,
  backend: object,
  src: TensorInfo,
  shape: number[],
  len: number,
  group: number,
): TensorInfo {
  const out = makeOutput(backend, shape);
  const rows = len === 0 ? 0 : util.sizeFromShape(shape) / len;
  if (rows === 0) return out;
  const ps = heapOffset(backend, src);
  const po = heapOffset(backend, out);
  runSplit(k, 'broadcast_rows', rows, (r0, r1) => [ps, po, len, group, r0, r1], rowGrain(len));
  return out;
}

/**
 * NHWC `x` [n, h, w, c] placed at row `top`, column `left` of a new zero tensor [n, hp, wp, c]
 * (negative offsets crop).
 */
export function padNhwc(
  k: Instance,
  backend: object,
  x: TensorInfo,
  top: number,
  left: number,
  hp: number,
  wp: number,
): TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = makeOutput(backend, [n, hp, wp, c]);
  const items = n * hp;
  if (items === 0 || wp * c === 0) return out;
  const px = heapOffset(backend, x);
  const po = heapOffset(backend, out);
  runSplit(
    k,
    'pad_nhwc',
    items,
    (r0, r1) => [px, po, h, w, c, hp, wp, top, left, r0, r1],
    rowGrain(wp * c),
  );
  return out;
}

/** Where {@link convValid} stores its output inside a larger NHWC tensor (a phase of a strided input gradient). */
export interface ConvTarget {
  /** [n, height, width, outC], written in place. */
  out: TensorInfo;
  row0: number;
  rowStep: number;
  col0: number;
  colStep: number;
  /** Output rows and columns to compute (those that land inside `out`). */
  rows: number;
  cols: number;
}

/**
 * Valid NHWC convolution (no padding) of `x` [n, h, w, inC] with `filter` [kh, kw, inC, outC],
 * outC a multiple of 4, by supcon's SIMD kernels split over output rows: Winograd F(2x2, 3x3)
 * for 3x3 stride-1 filters (inC a multiple of 4), else the direct kernel on packed weights.
 * With `target`, output (r, c) goes to row `row0 + r·rowStep`, column `col0 + c·colStep` of
 * `target.out` (direct kernel only) and `target.out` is returned.
 */
export function convValid(
  k: Instance,
  backend: object,
  x: TensorInfo,
  filter: TensorInfo,
  strides: [number, number] = [1, 1],
  dilations: [number, number] = [1, 1],
  target?: ConvTarget,
): TensorInfo {
  const [n, h, w, cin] = x.shape as [number, number, number, number];
  const [kh, kw, , cout] = filter.shape as [number, number, number, number];
  const [sh, sw] = strides;
  const [dh, dw] = dilations;
  const oh = target?.rows ?? Math.max(0, Math.floor((h - (kh - 1) * dh - 1) / sh) + 1);
  const ow = target?.cols ?? Math.max(0, Math.floor((w - (kw - 1) * dw - 1) / sw) + 1);
  const out = target?.out ?? makeOutput(backend, [n, oh, ow, cout]);
  const items = n * oh;
  if (items === 0 || ow === 0 || cout === 0) return out;
  if (target === undefined && usesWinograd(kh, kw, strides, dilations, cin, cout)) {
    winogradConv3x3(k, backend, x, filter, out);
    return out;
  }
  // Weights packed in blocks of output channels, read sequentially by the kernel.
  const packed = makeOutput(backend, [kh * kw * cin * cout]);
  const pf = heapOffset(backend, packed);
  k.exports.pack_filter(heapOffset(backend, filter), pf, kh * kw * cin, cout);
  const px = heapOffset(backend, x);
  const po = heapOffset(backend, out);
  const [oH, oW] = target === undefined ? [oh, ow] : [out.shape[1]!, out.shape[2]!];
  const map =
    target === undefined
      ? [0, 1, 0, 1]
      : [target.row0, target.rowStep, target.col0, target.colStep];
  runSplit(k, 'conv2d_valid', items, (r0, r1) => [
    px,
    pf,
    po,
    h,
    w,
    cin,
    oh,
    ow,
    cout,
    kh,
    kw,
    sh,
    sw,
    dh,
    dw,
    r0,
    r1,
    oH,
    oW,
    ...map,
  ]);
  free(backend, packed);
  return out;
}

/**
 * `out` [n, oh, ow, cout] = 3x3 stride-1 convolution of `x` [n, h, w, cin] padded by `top` rows
 * and `left` columns of zeros (cin, cout multiples of 4), by Winograd F(2x2, 3x3): 2x2 output
 * tiles split over the threads, each thread transforming and multiplying its tiles in chunks that
 * stay in cache (scratch of its own). The padding is read as zeros, never materialised.
 */
export function winogradConv3x3(
  k: Instance,
  backend: object,
  x: TensorInfo,
  filter: TensorInfo,
  out: TensorInfo,
  top = 0,
  left = 0,
): void {
  const [n, h, w, cin] = x.shape as [number, number, number, number];
  const [, oh, ow, cout] = out.shape as [number, number, number, number];
  const tiles = n * Math.ceil(oh / 2) * Math.ceil(ow / 2);
  if (tiles === 0 || cout === 0) return;
  const chunk = Math.max(4, Math.min(64, Math.floor(16384 / Math.max(cin, cout)) & ~3));
  const parts = splitParts(k, tiles, chunk);
  const perPart = 16 * chunk * (cin + cout);
  const u = makeOutput(backend, [16 * cin * cout]);
  const scratch = makeOutput(backend, [parts * perPart]);
  const pu = heapOffset(backend, u);
  k.exports.winograd_filter(heapOffset(backend, filter), pu, cin, cout);
  const px = heapOffset(backend, x);
  const po = heapOffset(backend, out);
  const ps = heapOffset(backend, scratch);
  runSplit(
    k,
    'conv3x3_winograd',
    tiles,
    (t0, t1, part) => [
      px,
      pu,
      po,
      ps + part * perPart * 4,
      n,
      h,
      w,
      cin,
      cout,
      chunk,
      t0,
      t1,
      oh,
      ow,
      top,
      left,
    ],
    chunk,
  );
  free(backend, u, scratch);
}

/**
 * Filter gradient [3, 3, cin, cout] of a 3x3 stride-1 convolution by Winograd F(2x2, 3x3): `x`
 * [n, h, w, cin] with the forward padding `top`/`left` (read as zeros), dy [n, oh, ow, cout]. The
 * tiles of dy are cut into groups fixed by the shape (see {@link reductionGroups}), which the
 * threads share out, each group accumulating its own transformed gradient; one more split over
 * input channels adds the groups in order and transforms back.
 */
export function winogradFilterGrad(
  k: Instance,
  backend: object,
  x: TensorInfo,
  dy: TensorInfo,
  top: number,
  left: number,
): TensorInfo {
  const [n, h, w, cin] = x.shape as [number, number, number, number];
  const [, oh, ow, cout] = dy.shape as [number, number, number, number];
  const dw = makeOutput(backend, [3, 3, cin, cout]);
  const tiles = n * Math.ceil(oh / 2) * Math.ceil(ow / 2);
  if (tiles === 0) {
    heapView(backend as HeapBackend, dw).fill(0);
    return dw;
  }
  const chunk = Math.max(16, Math.floor(32768 / (cin + cout)) & ~3);
  // Tile groups fixed by the shape, not by the threads: each group accumulates its own dU and the
  // groups are added in order, so dW is the same bits on any number of threads.
  const groups = reductionGroups(tiles, chunk);
  const parts = splitParts(k, groups);
  const perPart = 16 * chunk * (cin + cout);
  const plane = 16 * cin * cout;
  const du = makeOutput(backend, [groups * plane]);
  const scratch = makeOutput(backend, [parts * perPart]);
  const [px, pdy, pdu, ps, pdw] = [x, dy, du, scratch, dw].map((t) => heapOffset(backend, t));
  runSplit(k, 'conv3x3_winograd_filter_grad', groups, (g0, g1, part) => [
    px!,
    pdy!,
    pdu!,
    ps! + part * perPart * 4,
    h,
    w,
    cin,
    oh,
    ow,
    cout,
    chunk,
    tiles,
    g0,
    g1,
    groups,
    top,
    left,
  ]);
  runSplit(k, 'winograd_filter_grad_out', cin, (c0, c1) => [pdu!, groups, pdw!, cin, cout, c0, c1]);
  free(backend, du, scratch);
  return dw;
}
