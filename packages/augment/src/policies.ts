/**
 * RandAugment (Cubuk et al. 2020) and AutoAugment (Cubuk et al. 2019) with torchvision's op
 * set and magnitude scales, and the presets built from them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { AugmentationPart, Rng } from '@supcon/core';
import {
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  adjustSharpness,
  affine,
  autoContrast,
  checkImages,
  equalize,
  invert,
  posterize,
  solarize,
} from './ops';
import { applyGrouped } from './transforms';

/** Names of the single image ops used by the policies. */
export const POLICY_OPS = [
  'Identity',
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Rotate',
  'Brightness',
  'Color',
  'Contrast',
  'Sharpness',
  'Posterize',
  'Solarize',
  'AutoContrast',
  'Equalize',
  'Invert',
] as const;
export type PolicyOp = (typeof POLICY_OPS)[number];

/** Ops whose magnitude gets a random sign. */
const SIGNED = new Set<PolicyOp>(['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness', 'Color', 'Contrast', 'Sharpness']);

/**
 * The magnitude of `op` at fraction `t` in [0, 1] of its range (torchvision's
 * `_augmentation_space`): shear 0.3 t, translate 150/331 of the side times t (pixels),
 * rotate 30 t degrees, enhance factors 1 +- 0.9 t, posterize 8 - round(4 t) bits,
 * solarize threshold 1 - t.
 */
export function opMagnitude(op: PolicyOp, t: number, height: number, width: number): number {
  switch (op) {
    case 'ShearX':
    case 'ShearY':
      return 0.3 * t;
    case 'TranslateX':
      return (150 / 331) * width * t;
    case 'TranslateY':
      return (150 / 331) * height * t;
    case 'Rotate':
      return 30 * t;
    case 'Brightness':
    case 'Color':
    case 'Contrast':
    case 'Sharpness':
      return 0.9 * t;
    case 'Posterize':
      return 8 - Math.round(4 * t);
    case 'Solarize':
      return 1 - t;
    default:
      return 0;
  }
}

/**
 * Applies `op` to every image of `images` with its own (signed) magnitude. Geometric ops warp
 * with nearest sampling and fill 0 about the image centre (rotate) or the top-left corner
 * (shear, translate), as torchvision's RandAugment. Colour ops that need 3 channels (Color)
 * are the identity on 1-channel images.
 */
export function applyOp(op: PolicyOp, images: Tensor4D, magnitudes: readonly number[], fill = 0): Tensor4D {
  checkImages(images, `applyOp(${op})`);
  const [, h, w] = images.shape;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  switch (op) {
    case 'Identity':
      return images.clone();
    case 'ShearX':
      return affine(images, magnitudes.map((m) => [1, m, 0, 0, 1, 0]), fill);
    case 'ShearY':
      return affine(images, magnitudes.map((m) => [1, 0, 0, m, 1, 0]), fill);
    case 'TranslateX':
      return affine(images, magnitudes.map((m) => [1, 0, -Math.round(m), 0, 1, 0]), fill);
    case 'TranslateY':
      return affine(images, magnitudes.map((m) => [1, 0, 0, 0, 1, -Math.round(m)]), fill);
    case 'Rotate':
      // Counter-clockwise by m degrees: output (x, y) samples the input at R(m) (x - c) + c.
      return affine(
        images,
        magnitudes.map((m) => {
          const a = (m * Math.PI) / 180;
          const cos = Math.cos(a);
          const sin = Math.sin(a);
          return [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy];
        }),
        fill,
      );
    case 'Brightness':
      return adjustBrightness(images, magnitudes.map((m) => 1 + m));
    case 'Color':
      return adjustSaturation(images, magnitudes.map((m) => 1 + m));
    case 'Contrast':
      return adjustContrast(images, magnitudes.map((m) => 1 + m));
    case 'Sharpness':
      return adjustSharpness(images, magnitudes.map((m) => 1 + m));
    case 'Posterize':
      return posterize(images, magnitudes.map((m) => Math.round(m)));
    case 'Solarize':
      return solarize(images, magnitudes);
    case 'AutoContrast':
      return autoContrast(images);
    case 'Equalize':
      return equalize(images);
    case 'Invert':
      return invert(images);
  }
}

function applySlot(images: Tensor4D, ops: readonly PolicyOp[], choice: number[], magnitudes: number[], fill: number): Tensor4D {
  return applyGrouped(images, choice, (k, idx) =>
    tf.tidy(() => {
      const sub = tf.gather(images, tf.tensor1d(idx, 'int32')) as Tensor4D;
      return applyOp(ops[k], sub, idx.map((i) => magnitudes[i]), fill);
    }),
  );
}

export interface RandAugmentOptions {
  /** Ops per image; default 2. */
  n?: number;
  /** Magnitude index in [0, numMagnitudeBins - 1]; default 9. */
  m?: number;
  /** Number of magnitude steps; default 31 (torchvision). */
  numMagnitudeBins?: number;
  /** Std of Gaussian noise on the magnitude index per op (timm's `mstd`); default 0. */
  magnitudeStd?: number;
  /** Fill value of pixels warped in from outside; default 0. */
  fill?: number;
}

/** The 14 RandAugment ops (torchvision). */
export const RAND_AUGMENT_OPS: readonly PolicyOp[] = POLICY_OPS.filter((op) => op !== 'Invert');

/**
 * RandAugment: for each image, `n` ops drawn uniformly (with replacement) from the 14
 * torchvision ops, each at magnitude `m / (bins - 1)` of its range with a random sign for signed
 * ops, applied with probability 1. Draws per image and op: op index, magnitude noise (when
 * `magnitudeStd > 0`), sign.
 */
export function randAugment(options: RandAugmentOptions = {}): AugmentationPart {
  const n = options.n ?? 2;
  const m = options.m ?? 9;
  const bins = options.numMagnitudeBins ?? 31;
  const std = options.magnitudeStd ?? 0;
  const fill = options.fill ?? 0;
  if (!Number.isInteger(n) || n < 0) throw new Error(`randAugment: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(bins) || bins < 2) throw new Error(`randAugment: numMagnitudeBins must be an integer >= 2, got ${bins}`);
  if (!(m >= 0 && m <= bins - 1)) throw new Error(`randAugment: m must be in [0, ${bins - 1}] (numMagnitudeBins - 1), got ${m}`);
  if (!(std >= 0)) throw new Error(`randAugment: magnitudeStd must be >= 0, got ${std}`);
  return {
    apply(images: Tensor4D, rng: Rng): Tensor4D {
      checkImages(images, 'randAugment');
      const [b, h, w] = images.shape;
      const choices: number[][] = Array.from({ length: n }, () => new Array<number>(b));
      const mags: number[][] = Array.from({ length: n }, () => new Array<number>(b));
      for (let i = 0; i < b; i++) {
        for (let s = 0; s < n; s++) {
          const k = rng.int(RAND_AUGMENT_OPS.length);
          const op = RAND_AUGMENT_OPS[k];
          let level = m;
          if (std > 0) level = Math.min(bins - 1, Math.max(0, rng.normal(m, std)));
          let mag = opMagnitude(op, level / (bins - 1), h, w);
          if (SIGNED.has(op) && rng.bernoulli(0.5)) mag = -mag;
          choices[s][i] = k;
          mags[s][i] = mag;
        }
      }
      let x = images;
      for (let s = 0; s < n; s++) {
        const next = applySlot(x, RAND_AUGMENT_OPS, choices[s], mags[s], fill);
        if (x !== images) x.dispose();
        x = next;
      }
      return x === images ? images.clone() : x;
    },
  };
}

/** One AutoAugment sub-policy step: op, probability, magnitude index in 0..9 (null: none). */
export type PolicyStep = readonly [PolicyOp, number, number | null];

/** AutoAugment's ImageNet policy (Cubuk et al. 2019, Table 9; the 25 sub-policies as torchvision lists them). */
export const IMAGENET_POLICY: ReadonlyArray<readonly [PolicyStep, PolicyStep]> = [
  [['Posterize', 0.4, 8], ['Rotate', 0.6, 9]],
  [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
  [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
  [['Posterize', 0.6, 7], ['Posterize', 0.6, 6]],
  [['Equalize', 0.4, null], ['Solarize', 0.2, 4]],
  [['Equalize', 0.4, null], ['Rotate', 0.8, 8]],
  [['Solarize', 0.6, 3], ['Equalize', 0.6, null]],
  [['Posterize', 0.8, 5], ['Equalize', 1.0, null]],
  [['Rotate', 0.2, 3], ['Solarize', 0.6, 8]],
  [['Equalize', 0.6, null], ['Posterize', 0.4, 6]],
  [['Rotate', 0.8, 8], ['Color', 0.4, 0]],
  [['Rotate', 0.4, 9], ['Equalize', 0.6, null]],
  [['Equalize', 0.0, null], ['Equalize', 0.8, null]],
  [['Invert', 0.6, null], ['Equalize', 1.0, null]],
  [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
  [['Rotate', 0.8, 8], ['Color', 1.0, 2]],
  [['Color', 0.8, 8], ['Solarize', 0.8, 7]],
  [['Sharpness', 0.4, 7], ['Invert', 0.6, null]],
  [['ShearX', 0.6, 5], ['Equalize', 1.0, null]],
  [['Color', 0.4, 0], ['Equalize', 0.6, null]],
  [['Equalize', 0.4, null], ['Solarize', 0.2, 4]],
  [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
  [['Invert', 0.6, null], ['Equalize', 1.0, null]],
  [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
  [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
];

/** AutoAugment's CIFAR-10 policy (Cubuk et al. 2019, Table 7; 25 sub-policies). */
export const CIFAR10_POLICY: ReadonlyArray<readonly [PolicyStep, PolicyStep]> = [
  [['Invert', 0.1, null], ['Contrast', 0.2, 6]],
  [['Rotate', 0.7, 2], ['TranslateX', 0.3, 9]],
  [['Sharpness', 0.8, 1], ['Sharpness', 0.9, 3]],
  [['ShearY', 0.5, 8], ['TranslateY', 0.7, 9]],
  [['AutoContrast', 0.5, null], ['Equalize', 0.9, null]],
  [['ShearY', 0.2, 7], ['Posterize', 0.3, 7]],
  [['Color', 0.4, 3], ['Brightness', 0.6, 7]],
  [['Sharpness', 0.3, 9], ['Brightness', 0.7, 9]],
  [['Equalize', 0.6, null], ['Equalize', 0.5, null]],
  [['Contrast', 0.6, 7], ['Sharpness', 0.6, 5]],
  [['Color', 0.7, 7], ['TranslateX', 0.5, 8]],
  [['Equalize', 0.3, null], ['AutoContrast', 0.4, null]],
  [['TranslateY', 0.4, 3], ['Sharpness', 0.2, 6]],
  [['Brightness', 0.9, 6], ['Color', 0.2, 8]],
  [['Solarize', 0.5, 2], ['Invert', 0.0, null]],
  [['Equalize', 0.2, null], ['AutoContrast', 0.6, null]],
  [['Equalize', 0.2, null], ['Equalize', 0.6, null]],
  [['Color', 0.9, 9], ['Equalize', 0.6, null]],
  [['AutoContrast', 0.8, null], ['Solarize', 0.2, 8]],
  [['Brightness', 0.1, 3], ['Color', 0.7, 0]],
  [['Solarize', 0.4, 5], ['AutoContrast', 0.9, null]],
  [['TranslateY', 0.9, 9], ['TranslateY', 0.7, 9]],
  [['AutoContrast', 0.9, null], ['Solarize', 0.2, 3]],
  [['Equalize', 0.8, null], ['Invert', 0.1, null]],
  [['TranslateY', 0.7, 9], ['AutoContrast', 0.9, null]],
];

/**
 * AutoAugment with the published `'imagenet'` or `'cifar10'` policy: per image, one of the 25
 * sub-policies uniformly, then each of its two steps with its probability at magnitude
 * `index / 9` of the op's range (10 bins), random sign for signed ops. Draws per image: the
 * sub-policy, then per step: apply, sign.
 */
export function autoAugment(policy: 'imagenet' | 'cifar10' = 'imagenet', fill = 0): AugmentationPart {
  const table = policy === 'imagenet' ? IMAGENET_POLICY : policy === 'cifar10' ? CIFAR10_POLICY : null;
  if (!table) throw new Error(`autoAugment: policy must be 'imagenet' or 'cifar10', got '${String(policy)}'`);
  return {
    apply(images: Tensor4D, rng: Rng): Tensor4D {
      checkImages(images, 'autoAugment');
      const [b, h, w] = images.shape;
      const choices = [new Array<number>(b), new Array<number>(b)];
      const mags = [new Array<number>(b), new Array<number>(b)];
      for (let i = 0; i < b; i++) {
        const sub = table[rng.int(table.length)];
        for (let s = 0; s < 2; s++) {
          const [op, p, level] = sub[s];
          const on = rng.bernoulli(p);
          const negative = rng.bernoulli(0.5);
          let mag = level === null ? 0 : opMagnitude(op, level / 9, h, w);
          if (SIGNED.has(op) && negative) mag = -mag;
          choices[s][i] = on ? POLICY_OPS.indexOf(op) : -1;
          mags[s][i] = mag;
        }
      }
      let x = images;
      for (let s = 0; s < 2; s++) {
        const next = applySlot(x, POLICY_OPS, choices[s], mags[s], fill);
        if (x !== images) x.dispose();
        x = next;
      }
      return x === images ? images.clone() : x;
    },
  };
}
