/**
 * Random transforms as AugmentationParts: each `apply(images, rng)` draws every per-image
 * parameter in JS from `rng` (in image order, so the same generator state gives the same
 * output) and applies them batched. Inputs are never disposed; the result is a new tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { AugmentationPart, Rng } from '@supcon/core';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  checkImages,
  gaussianBlur,
  grayscale,
  horizontalFlip,
  normalize,
  resizedCrop,
} from './ops';

/** Pixel rectangle of a crop. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * torchvision `RandomResizedCrop.get_params`: up to 10 tries of an area fraction uniform in
 * `scale` and a log-uniform aspect ratio (w/h) in `ratio`, then a uniform position; falls back
 * to the largest central crop with the ratio clamped to `ratio`.
 */
export function sampleCropBox(rng: Rng, height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number]): CropBox {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

function checkRange(name: string, range: readonly [number, number], min: number, max = Infinity): void {
  if (!(range[0] >= min && range[0] <= range[1] && range[1] <= max)) {
    throw new Error(`${name}: expected ${min} <= low <= high <= ${max}, got [${range[0]}, ${range[1]}]`);
  }
}

function checkProbability(name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`${name}: expected a probability in [0, 1], got ${p}`);
}

export interface RandomResizedCropOptions {
  /** Area fraction range; default [0.08, 1] (torchvision). The SupCon CIFAR recipe uses [0.2, 1]. */
  scale?: readonly [number, number];
  /** Aspect ratio (w/h) range; default [3/4, 4/3]. */
  ratio?: readonly [number, number];
  /** Probability of a horizontal flip, fused into the crop (box x ends swapped); default 0. */
  flipProbability?: number;
  /** Output `[h, w]`; default the input's. */
  size?: readonly [number, number];
}

/**
 * RandomResizedCrop (+ optional horizontal flip) as one batched `cropAndResize` with per-image
 * boxes; bilinear at half-pixel centres. Draws per image: the box, then the flip.
 */
export function randomResizedCrop(options: RandomResizedCropOptions = {}): AugmentationPart {
  const scale = options.scale ?? [0.08, 1];
  const ratio = options.ratio ?? [3 / 4, 4 / 3];
  const pFlip = options.flipProbability ?? 0;
  checkRange('randomResizedCrop: scale', scale, 0, 1);
  if (!(scale[1] > 0)) throw new Error(`randomResizedCrop: scale must allow a positive area, got [${scale[0]}, ${scale[1]}]`);
  checkRange('randomResizedCrop: ratio', ratio, Number.MIN_VALUE);
  checkProbability('randomResizedCrop: flipProbability', pFlip);
  return {
    apply(images: Tensor4D, rng: Rng): Tensor4D {
      checkImages(images, 'randomResizedCrop');
      const [b, h, w] = images.shape;
      const boxes: CropBox[] = [];
      const flips: boolean[] = [];
      for (let i = 0; i < b; i++) {
        boxes.push(sampleCropBox(rng, h, w, scale, ratio));
        flips.push(rng.bernoulli(pFlip));
      }
      const size: [number, number] = options.size ? [options.size[0], options.size[1]] : [h, w];
      return resizedCrop(images, boxes, flips, size);
    },
  };
}

/** RandomHorizontalFlip with probability `p` (default 0.5) per image. */
export function randomHorizontalFlip(p = 0.5): AugmentationPart {
  checkProbability('randomHorizontalFlip: p', p);
  return {
    apply(images: Tensor4D, rng: Rng): Tensor4D {
      checkImages(images, 'randomHorizontalFlip');
      const flips: boolean[] = [];
      for (let i = 0; i < images.shape[0]; i++) flips.push(rng.bernoulli(p));
      return horizontalFlip(images, flips);
    },
  };
}

/**
 * Applies op `choice[i]` to image i (`-1` leaves it unchanged): each op runs once on the
 * sub-batch of the images that chose it, and one concat + gather puts everything back.
 * `run(op, indices)` must return the transformed images `indices` (in that order).
 */
export function applyGrouped(images: Tensor4D, choice: readonly number[], run: (op: number, indices: number[]) => Tensor4D): Tensor4D {
  const b = images.shape[0];
  const groups = new Map<number, number[]>();
  choice.forEach((op, i) => {
    if (op < 0) return;
    const list = groups.get(op);
    if (list) list.push(i);
    else groups.set(op, [i]);
  });
  if (groups.size === 0) return images.clone();
  return tf.tidy(() => {
    const parts: Tensor4D[] = [images];
    const order = new Int32Array(b);
    for (let i = 0; i < b; i++) order[i] = i;
    let offset = b;
    for (const op of [...groups.keys()].sort((x, y) => x - y)) {
      const idx = groups.get(op) as number[];
      parts.push(run(op, idx));
      idx.forEach((imageIndex, k) => (order[imageIndex] = offset + k));
      offset += idx.length;
    }
    return tf.gather(tf.concat(parts, 0), tf.tensor1d(order, 'int32')) as Tensor4D;
  });
}

function gatherRows(images: Tensor4D, idx: number[]): Tensor4D {
  return tf.gather(images, tf.tensor1d(idx, 'int32')) as Tensor4D;
}

export interface ColorJitterOptions {
  /** Brightness factor drawn from [max(0, 1 - b), 1 + b]; default 0.4. */
  brightness?: number;
  /** Contrast factor drawn from [max(0, 1 - c), 1 + c]; default 0.4. */
  contrast?: number;
  /** Saturation factor drawn from [max(0, 1 - s), 1 + s]; default 0.4. Skipped on 1-channel images. */
  saturation?: number;
  /** Hue shift drawn from [-h, h], h <= 0.5; default 0.1. Skipped on 1-channel images. */
  hue?: number;
  /** Probability of jittering an image at all (`RandomApply`); default 0.8. */
  p?: number;
}

/**
 * `RandomApply([ColorJitter(b, c, s, h)], p)`: for each image, with probability p, the four
 * adjustments in a random order (torchvision draws a permutation per call; here per image),
 * each with its own factor. Draws per image: apply, the order, then the four factors.
 * Batched as 4 slots; in each, every adjustment runs on the sub-batch that drew it for that slot.
 */
export function colorJitter(options: ColorJitterOptions = {}): AugmentationPart {
  const b = options.brightness ?? 0.4;
  const c = options.contrast ?? 0.4;
  const s = options.saturation ?? 0.4;
  const h = options.hue ?? 0.1;
  const p = options.p ?? 0.8;
  for (const [name, v] of [['brightness', b], ['contrast', c], ['saturation', s]] as const) {
    if (!(v >= 0)) throw new Error(`colorJitter: ${name} must be >= 0, got ${v}`);
  }
  if (!(h >= 0 && h <= 0.5)) throw new Error(`colorJitter: hue must be in [0, 0.5], got ${h}`);
  checkProbability('colorJitter: p', p);
  return {
    apply(images: Tensor4D, rng: Rng): Tensor4D {
      checkImages(images, 'colorJitter');
      const n = images.shape[0];
      const channels = images.shape[3];
      // order[i][slot] = adjustment index (0 brightness, 1 contrast, 2 saturation, 3 hue), or -1.
      const order: number[][] = [];
      const factors: number[][] = [];
      for (let i = 0; i < n; i++) {
        const on = rng.bernoulli(p);
        const perm = rng.shuffle([0, 1, 2, 3]);
        const f = [
          rng.uniform(Math.max(0, 1 - b), 1 + b),
          rng.uniform(Math.max(0, 1 - c), 1 + c),
          rng.uniform(Math.max(0, 1 - s), 1 + s),
          rng.uniform(-h, h),
        ];
        const skip = (k: number): boolean => (k === 0 && b === 0) || (k === 1 && c === 0) || (k === 2 && s === 0) || (k === 3 && h === 0) || (k >= 2 && channels === 1);
        order.push(on ? perm.map((k) => (skip(k) ? -1 : k)) : [-1, -1, -1, -1]);
        factors.push(f);
      }
      let x = images;
      for (let slot = 0; slot < 4; slot++) {
        const choice = order.map((o) => o[slot]);
        const next = applyGrouped(x, choice, (k, idx) =>
          tf.tidy(() => {
            const sub = gatherRows(x, idx);
            const f = idx.map((i) => factors[i][k]);
            if (k === 0) return adjustBrightness(sub, f);
            if (k === 1) return adjustContrast(sub, f);
            if (k === 2) return adjustSaturation(sub, f);
            return adjustHue(sub, f);
          }),
        );
        if (x !== images) x.dispose();
        x = next;
      }
      return x === images ? images.clone() : x;
    },
  };
}

/** RandomGrayscale: with probability `p` (default 0.2) per image, the grayscale replicated to all channels. 1-channel images pass unchanged. */
export function randomGrayscale(p = 0.2): AugmentationPart {
  checkProbability('randomGrayscale: p', p);
  return {
    apply(images: Tensor4D, rng: Rng): Tensor4D {
      checkImages(images, 'randomGrayscale');
      const apply: boolean[] = [];
      for (let i = 0; i < images.shape[0]; i++) apply.push(rng.bernoulli(p));
      return grayscale(images, apply);
    },
  };
}

export interface GaussianBlurOptions {
  /** Odd kernel size; default: about 10% of the image side, made odd (SimCLR). */
  kernelSize?: number;
  /** Sigma range, drawn uniformly per image; default [0.1, 2]. */
  sigma?: readonly [number, number];
  /** Probability of blurring an image; default 0.5. */
  p?: number;
}

/** `RandomApply([GaussianBlur(k, sigma)], p)`: per image, apply with probability p and a uniform sigma. */
export function randomGaussianBlur(options: GaussianBlurOptions = {}): AugmentationPart {
  const sigma = options.sigma ?? [0.1, 2];
  const p = options.p ?? 0.5;
  checkRange('randomGaussianBlur: sigma', sigma, Number.MIN_VALUE);
  checkProbability('randomGaussianBlur: p', p);
  return {
    apply(images: Tensor4D, rng: Rng): Tensor4D {
      checkImages(images, 'randomGaussianBlur');
      const [n, h, w] = images.shape;
      const k = options.kernelSize ?? Math.max(3, 2 * Math.floor(Math.min(h, w) / 20) + 1);
      const idx: number[] = [];
      const sig: number[] = [];
      for (let i = 0; i < n; i++) {
        const on = rng.bernoulli(p);
        const sd = rng.uniform(sigma[0], sigma[1]);
        if (on) {
          idx.push(i);
          sig.push(sd);
        }
      }
      return applyGrouped(images, Array.from({ length: n }, (_, i) => (idx.includes(i) ? 0 : -1)), () =>
        tf.tidy(() => gaussianBlur(gatherRows(images, idx), k, sig)),
      );
    },
  };
}

/** Per-channel `(x - mean) / std`; no randomness. Output is no longer in [0, 1]. */
export function normalization(mean: readonly number[], std: readonly number[]): AugmentationPart {
  return { apply: (images: Tensor4D) => normalize(images, mean, std) };
}

/** Applies `parts` in order with the same generator, disposing intermediate results. */
export function compose(parts: readonly AugmentationPart[]): AugmentationPart {
  return {
    apply(images: Tensor4D, rng: Rng): Tensor4D {
      let x = images;
      for (const part of parts) {
        const next = part.apply(x, rng);
        if (x !== images) x.dispose();
        x = next;
      }
      return x === images ? images.clone() : x;
    },
  };
}

/** The identity augmentation (returns a copy). */
export function none(): AugmentationPart {
  return { apply: (images: Tensor4D) => images.clone() };
}

/**
 * Turns a batch `[b, h, w, c]` into `[b, views, h', w', c]`: `views` independent draws of
 * `augmentation`, one after another from the same generator.
 * @throws if `views` is not a positive integer.
 */
export function multiView(augmentation: AugmentationPart, views: number): { apply(images: Tensor4D, rng: Rng): tf.Tensor5D } {
  if (!Number.isInteger(views) || views < 1) throw new Error(`multiView: views must be a positive integer, got ${views}`);
  return {
    apply(images: Tensor4D, rng: Rng): tf.Tensor5D {
      checkImages(images, 'multiView');
      const out: Tensor4D[] = [];
      for (let v = 0; v < views; v++) out.push(augmentation.apply(images, rng));
      const stacked = tf.stack(out, 1) as tf.Tensor5D;
      out.forEach((t) => t.dispose());
      return stacked;
    },
  };
}
