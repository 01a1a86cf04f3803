/**
 * The one reader of convolution attributes for supcon's kernels (`Conv2D`, `FusedConv2D`,
 * `Conv2DBackpropFilter`, `Conv2DBackpropInput`, `DepthwiseConv2dNativeBackpropFilter`,
 * `DepthwiseConv2dNativeBackpropInput`): strides, pad, dilations, dataFormat and dimRoundingMode
 * as tfjs's ops pass them, and the `Conv2DInfo` they give.
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { NamedAttrMap } from '@tensorflow/tfjs-core';

type Shape4 = [number, number, number, number];

/** A convolution's attributes, defaults filled in. */
export interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  /** Default 'NHWC'. */
  dataFormat: 'NHWC' | 'NCHW';
  /** Default 1. */
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Reads the convolution attributes of a kernel call. `dilated: false` for `Conv2DBackpropFilter`
 * and `Conv2DBackpropInput`, which have no dilations (tfjs's own kernels take 1).
 * @throws Error when `strides` or `pad` is missing.
 */
export function readConvAttrs(attrs: NamedAttrMap | undefined, { dilated = true } = {}): ConvAttrs {
  const a = (attrs ?? {}) as Partial<ConvAttrs>;
  if (a.strides === undefined || a.pad === undefined)
    throw new Error('a convolution kernel was called without strides or pad');
  return {
    strides: a.strides,
    pad: a.pad,
    dataFormat: a.dataFormat ?? 'NHWC',
    dilations: dilated ? (a.dilations ?? 1) : 1,
    dimRoundingMode: a.dimRoundingMode,
  };
}

/** @throws Error naming the kernel when `attrs` are not channels-last. */
export function requireNhwc(kernel: string, attrs: ConvAttrs): void {
  if (attrs.dataFormat === 'NCHW') {
    throw new Error(`${kernel} (wasm): dataFormat 'NCHW' is not supported; expected 'NHWC'`);
  }
}

/**
 * The geometry of an NHWC convolution of `inputShape` [n, h, w, inC] by `filterShape`
 * ([kh, kw, inC, outC]; depthwise: [kh, kw, inC, multiplier]) under `attrs`.
 */
export function convInfoOf(
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
  depthwise = false,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    inputShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
}
