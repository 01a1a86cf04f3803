/**
 * Batched image operations with per-image parameters. Every function takes float32 images
 * `[b, h, w, c]` in [0, 1] and per-image parameters as plain JS arrays (drawn by the caller from
 * the seeded generator), and returns a new tensor of the same shape; inputs are not disposed.
 * Semantics follow torchvision's tensor functional ops (`torchvision.transforms.functional`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';

/** ITU-R 601-2 luma weights, as torchvision's `rgb_to_grayscale`. */
export const LUMA = [0.2989, 0.587, 0.114] as const;

/** Throws unless `images` is a float32 rank-4 tensor; `where` names the caller. */
export function checkImages(images: Tensor4D, where: string): void {
  if (images.rank !== 4) throw new Error(`${where}: images must be rank 4 [b, h, w, c], got shape [${images.shape.join(', ')}]`);
  if (images.dtype !== 'float32') throw new Error(`${where}: images must be float32 in [0, 1], got dtype ${images.dtype}`);
}

function checkLength(values: { readonly length: number }, batch: number, where: string, name: string): void {
  if (values.length !== batch) throw new Error(`${where}: ${name} has ${values.length} entries, images has batch ${batch}`);
}

/** A `[b, 1, 1, 1]` float32 tensor of per-image values. */
export function perImage(values: ArrayLike<number>): Tensor4D {
  return tf.tensor4d(Float32Array.from(values), [values.length, 1, 1, 1]);
}

/**
 * Replaces rows `indices` of `images` by `rows` (`[indices.length, h, w, c]`) in one gather.
 * Returns a new tensor; disposes nothing.
 */
export function replaceRows(images: Tensor4D, indices: ArrayLike<number>, rows: Tensor4D): Tensor4D {
  const b = images.shape[0];
  const order = new Int32Array(b);
  for (let i = 0; i < b; i++) order[i] = i;
  for (let k = 0; k < indices.length; k++) order[indices[k]] = b + k;
  return tf.tidy(() => tf.gather(tf.concat([images, rows], 0), tf.tensor1d(order, 'int32')) as Tensor4D);
}

/**
 * Applies `fn` only to the images listed in `indices` (gathered into a smaller batch) and puts
 * the results back in place; the other images pass through unchanged. `fn` receives the sub-batch
 * and the positions (in `indices`) of its rows.
 */
export function applyToSubset(images: Tensor4D, indices: number[], fn: (subset: Tensor4D) => Tensor4D): Tensor4D {
  if (indices.length === 0) return images.clone();
  if (indices.length === images.shape[0] && indices.every((v, i) => v === i)) return tf.tidy(() => fn(images));
  return tf.tidy(() => {
    const subset = tf.gather(images, tf.tensor1d(indices, 'int32')) as Tensor4D;
    return replaceRows(images, indices, fn(subset));
  });
}

/**
 * Grayscale with torchvision's weights: `[b, h, w, 3] -> [b, h, w, outChannels]` (channels
 * repeated). A 1-channel input is returned as is (copied, or tiled to `outChannels`).
 */
export function rgbToGrayscale(images: Tensor4D, outChannels = 1): Tensor4D {
  checkImages(images, 'rgbToGrayscale');
  return tf.tidy(() => {
    const c = images.shape[3];
    let gray: Tensor4D;
    if (c === 1) gray = images.clone();
    else if (c === 3) gray = tf.sum(tf.mul(images, tf.tensor1d(LUMA as unknown as number[])), 3, true) as Tensor4D;
    else throw new Error(`rgbToGrayscale: images must have 1 or 3 channels, got ${c}`);
    return outChannels === 1 ? gray : (tf.tile(gray, [1, 1, 1, outChannels]) as Tensor4D);
  });
}

function blend(a: Tensor4D, b: tf.Tensor, factors: Tensor4D): Tensor4D {
  // torchvision _blend: clamp(f * a + (1 - f) * b, 0, 1)
  return tf.clipByValue(tf.add(tf.mul(factors, a), tf.mul(tf.sub(1, factors), b)), 0, 1) as Tensor4D;
}

/** torchvision `adjust_brightness`: `clamp(f * x, 0, 1)` with one factor per image (f >= 0). */
export function adjustBrightness(images: Tensor4D, factors: ArrayLike<number>): Tensor4D {
  checkImages(images, 'adjustBrightness');
  checkLength(factors, images.shape[0], 'adjustBrightness', 'factors');
  return tf.tidy(() => tf.clipByValue(tf.mul(images, perImage(factors)), 0, 1) as Tensor4D);
}

/**
 * torchvision `adjust_contrast`: blends each image with the mean of its grayscale version,
 * `clamp(f * x + (1 - f) * mean, 0, 1)`. 1-channel images use their own mean.
 */
export function adjustContrast(images: Tensor4D, factors: ArrayLike<number>): Tensor4D {
  checkImages(images, 'adjustContrast');
  checkLength(factors, images.shape[0], 'adjustContrast', 'factors');
  return tf.tidy(() => {
    const mean = tf.mean(rgbToGrayscale(images), [1, 2, 3], true);
    return blend(images, mean, perImage(factors));
  });
}

/**
 * torchvision `adjust_saturation`: blends each image with its grayscale version. 1-channel
 * images are returned unchanged (as torchvision and PIL do).
 */
export function adjustSaturation(images: Tensor4D, factors: ArrayLike<number>): Tensor4D {
  checkImages(images, 'adjustSaturation');
  checkLength(factors, images.shape[0], 'adjustSaturation', 'factors');
  if (images.shape[3] === 1) return images.clone();
  return tf.tidy(() => blend(images, rgbToGrayscale(images), perImage(factors)));
}

/** RGB -> HSV on the last axis, all in [0, 1] (torchvision `_rgb2hsv`). Returns [h, s, v]. */
function rgbToHsv(images: Tensor4D): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const [r, g, b] = tf.split(images, 3, 3);
  const maxc = tf.maximum(tf.maximum(r, g), b);
  const minc = tf.minimum(tf.minimum(r, g), b);
  const eqc = tf.equal(maxc, minc);
  const cr = tf.sub(maxc, minc);
  const ones = tf.onesLike(maxc);
  const s = tf.div(cr, tf.where(eqc, ones, maxc));
  const crDiv = tf.where(eqc, ones, cr);
  const rc = tf.div(tf.sub(maxc, r), crDiv);
  const gc = tf.div(tf.sub(maxc, g), crDiv);
  const bc = tf.div(tf.sub(maxc, b), crDiv);
  const isR = tf.equal(maxc, r);
  const isG = tf.logicalAnd(tf.equal(maxc, g), tf.logicalNot(isR));
  const isB = tf.logicalAnd(tf.logicalNot(tf.equal(maxc, g)), tf.logicalNot(isR));
  const hr = tf.mul(tf.cast(isR, 'float32'), tf.sub(bc, gc));
  const hg = tf.mul(tf.cast(isG, 'float32'), tf.add(2, tf.sub(rc, bc)));
  const hb = tf.mul(tf.cast(isB, 'float32'), tf.add(4, tf.sub(gc, rc)));
  const h6 = tf.add(tf.add(hr, hg), hb);
  const h = tf.mod(tf.add(tf.div(h6, 6), 1), 1);
  return [h, s, maxc];
}

/** HSV -> RGB (torchvision `_hsv2rgb`). */
function hsvToRgb(h: tf.Tensor, s: tf.Tensor, v: tf.Tensor): Tensor4D {
  const h6 = tf.mul(h, 6);
  const i = tf.floor(h6);
  const f = tf.sub(h6, i);
  const sector = tf.mod(i, 6);
  const p = tf.clipByValue(tf.mul(v, tf.sub(1, s)), 0, 1);
  const q = tf.clipByValue(tf.mul(v, tf.sub(1, tf.mul(s, f))), 0, 1);
  const t = tf.clipByValue(tf.mul(v, tf.sub(1, tf.mul(s, tf.sub(1, f)))), 0, 1);
  const masks = [0, 1, 2, 3, 4, 5].map((k) => tf.cast(tf.equal(sector, k), 'float32'));
  const pick = (vals: tf.Tensor[]): tf.Tensor => tf.addN(vals.map((val, k) => tf.mul(masks[k], val)));
  const r = pick([v, q, p, p, t, v]);
  const g = pick([t, v, v, q, p, p]);
  const b = pick([p, p, t, v, v, q]);
  return tf.concat([r, g, b], 3) as Tensor4D;
}

/**
 * torchvision `adjust_hue`: shifts the hue of each image by its factor in [-0.5, 0.5] (a
 * fraction of the colour wheel) through HSV. 1-channel images are returned unchanged.
 */
export function adjustHue(images: Tensor4D, factors: ArrayLike<number>): Tensor4D {
  checkImages(images, 'adjustHue');
  checkLength(factors, images.shape[0], 'adjustHue', 'factors');
  for (let i = 0; i < factors.length; i++) {
    if (!(Math.abs(factors[i]) <= 0.5)) throw new Error(`adjustHue: factors[${i}] = ${factors[i]}, expected a value in [-0.5, 0.5]`);
  }
  if (images.shape[3] === 1) return images.clone();
  return tf.tidy(() => {
    const [h, s, v] = rgbToHsv(images);
    const shifted = tf.mod(tf.add(h, perImage(factors)), 1);
    return hsvToRgb(shifted, s, v);
  });
}

/**
 * Crops boxes and resizes them back to `[outH, outW]` with bilinear sampling at half-pixel
 * centres (torchvision `resized_crop` with `antialias=False`). Box `i` is the pixel rectangle
 * `top, left, height, width`; `flip[i]` mirrors it horizontally (by swapping the box's x ends).
 */
export function resizedCrop(
  images: Tensor4D,
  boxes: ReadonlyArray<{ top: number; left: number; height: number; width: number }>,
  flip: ReadonlyArray<boolean>,
  size: [number, number],
): Tensor4D {
  checkImages(images, 'resizedCrop');
  const [b, H, W] = images.shape;
  checkLength(boxes, b, 'resizedCrop', 'boxes');
  checkLength(flip, b, 'resizedCrop', 'flip');
  const [outH, outW] = size;
  const data = new Float32Array(b * 4);
  const norm = (v: number, n: number): number => (n > 1 ? Math.min(1, Math.max(0, v / (n - 1))) : 0.5);
  for (let i = 0; i < b; i++) {
    const { top, left, height, width } = boxes[i];
    // Output pixel u samples source x = left + (u + 0.5) * width / outW - 0.5.
    const y1 = norm(top + (0.5 * height) / outH - 0.5, H);
    const y2 = norm(top + height - (0.5 * height) / outH - 0.5, H);
    let x1 = norm(left + (0.5 * width) / outW - 0.5, W);
    let x2 = norm(left + width - (0.5 * width) / outW - 0.5, W);
    if (flip[i]) [x1, x2] = [x2, x1];
    data.set([y1, x1, y2, x2], i * 4);
  }
  return tf.tidy(() => {
    const boxT = tf.tensor2d(data, [b, 4]);
    const ind = tf.range(0, b, 1, 'int32') as tf.Tensor1D;
    return tf.image.cropAndResize(images, boxT, ind, [outH, outW], 'bilinear');
  });
}

/** Mirrors the images whose `flip` entry is true, left to right. */
export function horizontalFlip(images: Tensor4D, flip: ReadonlyArray<boolean>): Tensor4D {
  checkImages(images, 'horizontalFlip');
  checkLength(flip, images.shape[0], 'horizontalFlip', 'flip');
  const idx = flip.flatMap((f, i) => (f ? [i] : []));
  return applyToSubset(images, idx, (x) => tf.reverse(x, 2) as Tensor4D);
}

/** Replicates the grayscale of the images whose entry is true to all channels (1-channel: unchanged). */
export function grayscale(images: Tensor4D, apply: ReadonlyArray<boolean>): Tensor4D {
  checkImages(images, 'grayscale');
  checkLength(apply, images.shape[0], 'grayscale', 'apply');
  const c = images.shape[3];
  if (c === 1) return images.clone();
  const idx = apply.flatMap((f, i) => (f ? [i] : []));
  return applyToSubset(images, idx, (x) => rgbToGrayscale(x, c));
}

/** Normalised 1-D Gaussian kernel of odd `size` (torchvision `_get_gaussian_kernel1d`). */
export function gaussianKernel1d(size: number, sigma: number): Float32Array {
  const half = (size - 1) / 2;
  const k = new Float32Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = -half + i;
    k[i] = Math.exp(-0.5 * (x / sigma) ** 2);
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/**
 * torchvision `gaussian_blur`: separable Gaussian of odd `kernelSize` with one sigma per image,
 * reflect padding. Runs as two depthwise convolutions with the batch folded into channels.
 * Throws if `kernelSize` is even or larger than an image side allows for reflect padding.
 */
export function gaussianBlur(images: Tensor4D, kernelSize: number, sigmas: ArrayLike<number>): Tensor4D {
  checkImages(images, 'gaussianBlur');
  const [b, h, w, c] = images.shape;
  checkLength(sigmas, b, 'gaussianBlur', 'sigmas');
  if (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0) {
    throw new Error(`gaussianBlur: kernelSize must be a positive odd integer, got ${kernelSize}`);
  }
  const pad = (kernelSize - 1) / 2;
  if (pad >= h || pad >= w) throw new Error(`gaussianBlur: kernelSize ${kernelSize} needs images larger than ${pad} pixels, got ${h}x${w}`);
  if (pad === 0) return images.clone();
  const kernels = new Float32Array(kernelSize * b * c);
  for (let i = 0; i < b; i++) {
    const k = gaussianKernel1d(kernelSize, sigmas[i]);
    for (let t = 0; t < kernelSize; t++) for (let ch = 0; ch < c; ch++) kernels[t * b * c + i * c + ch] = k[t];
  }
  return tf.tidy(() => {
    // [b, h, w, c] -> [1, h, w, b * c]: each image-channel is its own depthwise channel.
    const folded = tf.reshape(tf.transpose(images, [1, 2, 0, 3]), [1, h, w, b * c]) as Tensor4D;
    const padded = tf.mirrorPad(folded, [[0, 0], [pad, pad], [pad, pad], [0, 0]], 'reflect');
    const kv = tf.tensor4d(kernels, [kernelSize, 1, b * c, 1]);
    const kh = tf.tensor4d(kernels, [1, kernelSize, b * c, 1]);
    const blurred = tf.depthwiseConv2d(tf.depthwiseConv2d(padded, kv, 1, 'valid'), kh, 1, 'valid');
    return tf.transpose(tf.reshape(blurred, [h, w, b, c]), [2, 0, 1, 3]) as Tensor4D;
  });
}

/** `(x - mean[c]) / std[c]` per channel (torchvision `normalize`); lengths must match the channels. */
export function normalize(images: Tensor4D, mean: readonly number[], std: readonly number[]): Tensor4D {
  checkImages(images, 'normalize');
  const c = images.shape[3];
  if (mean.length !== c) throw new Error(`normalize: mean has ${mean.length} entries, images have ${c} channels`);
  if (std.length !== c) throw new Error(`normalize: std has ${std.length} entries, images have ${c} channels`);
  if (std.some((s) => !(s > 0))) throw new Error(`normalize: std must be positive, got [${std.join(', ')}]`);
  return tf.tidy(() => tf.div(tf.sub(images, tf.tensor1d([...mean])), tf.tensor1d([...std])) as Tensor4D);
}

/**
 * Per-image affine warp with nearest sampling and constant fill (torchvision `affine` with
 * `InterpolationMode.NEAREST`). `inverse[i]` is the 2x3 matrix `[a0, a1, a2, b0, b1, b2]` that
 * maps an output pixel `(x, y)` to the input point `(a0 x + a1 y + a2, b0 x + b1 y + b2)`, which
 * is rounded to the nearest pixel; points outside the image get `fill`.
 *
 * Built from one `gather` with source indices computed in JS, not from `tf.image.transform`:
 * tfjs-backend-cpu 4.22's Transform kernel returns after the first image of a batch (the other
 * images come back as the fill value), and this way cpu and wasm agree exactly.
 */
export function affine(images: Tensor4D, inverse: ReadonlyArray<readonly number[]>, fill = 0): Tensor4D {
  checkImages(images, 'affine');
  const [b, h, w, c] = images.shape;
  checkLength(inverse, b, 'affine', 'inverse');
  const n = h * w;
  const index = new Int32Array(b * n);
  const fillIndex = b * n;
  for (let i = 0; i < b; i++) {
    const m = inverse[i];
    if (m.length !== 6) throw new Error(`affine: inverse[${i}] has ${m.length} entries, expected 6`);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const sx = Math.round(m[0] * x + m[1] * y + m[2]);
        const sy = Math.round(m[3] * x + m[4] * y + m[5]);
        index[i * n + y * w + x] = sx >= 0 && sx < w && sy >= 0 && sy < h ? i * n + sy * w + sx : fillIndex;
      }
    }
  }
  return tf.tidy(() => {
    const flat = tf.concat([tf.reshape(images, [b * n, c]), tf.fill([1, c], fill)], 0);
    return tf.reshape(tf.gather(flat, tf.tensor1d(index, 'int32')), [b, h, w, c]) as Tensor4D;
  });
}

/** Quantises [0, 1] floats to 0..255 like torchvision's float -> uint8 conversion. */
function toLevels(images: tf.Tensor): tf.Tensor {
  return tf.floor(tf.mul(tf.clipByValue(images, 0, 1), 255.999));
}

/** torchvision `posterize` on the uint8 levels of the images: keeps `bits[i]` (1..8) high bits. */
export function posterize(images: Tensor4D, bits: ArrayLike<number>): Tensor4D {
  checkImages(images, 'posterize');
  checkLength(bits, images.shape[0], 'posterize', 'bits');
  const steps = Array.from(bits, (v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 8) throw new Error(`posterize: bits[${i}] = ${v}, expected an integer in [0, 8]`);
    return 2 ** (8 - v);
  });
  return tf.tidy(() => {
    const step = perImage(steps);
    return tf.div(tf.mul(tf.floor(tf.div(toLevels(images), step)), step), 255) as Tensor4D;
  });
}

/** torchvision `solarize`: inverts the pixels at or above each image's threshold (in [0, 1]). */
export function solarize(images: Tensor4D, thresholds: ArrayLike<number>): Tensor4D {
  checkImages(images, 'solarize');
  checkLength(thresholds, images.shape[0], 'solarize', 'thresholds');
  return tf.tidy(() => {
    const mask = tf.greaterEqual(images, perImage(thresholds));
    return tf.where(mask, tf.sub(1, images), images) as Tensor4D;
  });
}

/** torchvision `invert`: `1 - x`. */
export function invert(images: Tensor4D): Tensor4D {
  checkImages(images, 'invert');
  return tf.tidy(() => tf.sub(1, images) as Tensor4D);
}

/** torchvision `autocontrast`: stretches each channel of each image to span [0, 1] (flat channels unchanged). */
export function autoContrast(images: Tensor4D): Tensor4D {
  checkImages(images, 'autoContrast');
  return tf.tidy(() => {
    const lo = tf.min(images, [1, 2], true);
    const hi = tf.max(images, [1, 2], true);
    const flat = tf.equal(lo, hi);
    const scale = tf.where(flat, tf.onesLike(hi), tf.div(1, tf.sub(hi, lo)));
    const offset = tf.where(flat, tf.zerosLike(lo), lo);
    return tf.clipByValue(tf.mul(tf.sub(images, offset), scale), 0, 1) as Tensor4D;
  });
}

/**
 * torchvision `adjust_sharpness`: blends each image with a 3x3-smoothed copy (kernel
 * `[[1,1,1],[1,5,1],[1,1,1]] / 13`, border pixels kept); factor 0 smooths, 1 is identity, 2 sharpens.
 */
export function adjustSharpness(images: Tensor4D, factors: ArrayLike<number>): Tensor4D {
  checkImages(images, 'adjustSharpness');
  checkLength(factors, images.shape[0], 'adjustSharpness', 'factors');
  const [, h, w, c] = images.shape;
  if (h <= 2 || w <= 2) return images.clone();
  return tf.tidy(() => {
    const k = new Float32Array(9 * c).fill(1 / 13);
    for (let ch = 0; ch < c; ch++) k[4 * c + ch] = 5 / 13;
    const smooth = tf.depthwiseConv2d(images, tf.tensor4d(k, [3, 3, c, 1]), 1, 'valid');
    const interior = tf.pad(tf.ones([1, h - 2, w - 2, 1]), [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const degenerate = tf.add(tf.mul(tf.pad(smooth, [[0, 0], [1, 1], [1, 1], [0, 0]]), interior), tf.mul(images, tf.sub(1, interior)));
    return blend(images, degenerate, perImage(factors));
  });
}

/**
 * torchvision `equalize` on the uint8 levels of each channel of each image (histogram
 * equalisation through a lookup table). Runs in JS on the read-back pixels: a forward-only
 * data op, used on a few images per batch by the policies.
 */
export function equalize(images: Tensor4D): Tensor4D {
  checkImages(images, 'equalize');
  const [b, h, w, c] = images.shape;
  const src = images.dataSync();
  const out = new Float32Array(src.length);
  const hist = new Int32Array(256);
  const lut = new Float32Array(256);
  const n = h * w;
  for (let i = 0; i < b; i++) {
    for (let ch = 0; ch < c; ch++) {
      hist.fill(0);
      const base = i * n * c + ch;
      for (let p = 0; p < n; p++) hist[Math.floor(Math.min(1, Math.max(0, src[base + p * c])) * 255.999)]++;
      let last = 255;
      while (last > 0 && hist[last] === 0) last--;
      const step = Math.floor((n - hist[last]) / 255);
      if (step === 0) {
        for (let p = 0; p < n; p++) out[base + p * c] = Math.floor(Math.min(1, Math.max(0, src[base + p * c])) * 255.999) / 255;
        continue;
      }
      let cum = 0;
      for (let v = 0; v < 256; v++) {
        lut[v] = Math.min(255, Math.floor((cum + Math.floor(step / 2)) / step)) / 255;
        cum += hist[v];
      }
      for (let p = 0; p < n; p++) out[base + p * c] = lut[Math.floor(Math.min(1, Math.max(0, src[base + p * c])) * 255.999)];
    }
  }
  return tf.tensor4d(out, [b, h, w, c]);
}
