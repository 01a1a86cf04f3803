/**
 * Preset pipelines: the SupContrast CIFAR recipe (`simclr`) and Stacked RandAugment.
 */
import type { AugmentationPart } from '@supcon/core';
import {
  colorJitter,
  compose,
  normalization,
  randomGaussianBlur,
  randomGrayscale,
  randomResizedCrop,
  type ColorJitterOptions,
  type GaussianBlurOptions,
} from './transforms';
import { randAugment } from './policies';

/** CIFAR-10 channel statistics used by SupContrast's `main_supcon.py`. */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR10_STD = [0.2023, 0.1994, 0.201] as const;

export interface SimclrOptions {
  /** RandomResizedCrop area range; default [0.2, 1] (SupContrast CIFAR). */
  scale?: readonly [number, number];
  /** RandomResizedCrop aspect range; default [3/4, 4/3]. */
  ratio?: readonly [number, number];
  /** Horizontal flip probability; default 0.5. */
  flipProbability?: number;
  /** Colour jitter; default 0.4/0.4/0.4/0.1 with p 0.8. `false` turns it off. */
  colorJitter?: ColorJitterOptions | false;
  /** RandomGrayscale probability; default 0.2. */
  grayscaleProbability?: number;
  /** Gaussian blur (SimCLR's ImageNet recipe); default off (the CIFAR recipe has none). */
  blur?: GaussianBlurOptions | false;
  /** Per-channel normalisation as the last step; default off (the runner's preprocess usually normalises). */
  normalize?: { mean: readonly number[]; std: readonly number[] } | false;
}

/**
 * The SupContrast CIFAR recipe: RandomResizedCrop(scale 0.2-1) with a fused horizontal flip
 * (p 0.5), ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8, RandomGrayscale p 0.2, optional blur,
 * optional normalisation. On 1-channel images saturation, hue and grayscale are skipped.
 */
export function simclr(options: SimclrOptions = {}): AugmentationPart {
  const parts: AugmentationPart[] = [
    randomResizedCrop({ scale: options.scale ?? [0.2, 1], ratio: options.ratio, flipProbability: options.flipProbability ?? 0.5 }),
  ];
  if (options.colorJitter !== false) parts.push(colorJitter(options.colorJitter ?? {}));
  parts.push(randomGrayscale(options.grayscaleProbability ?? 0.2));
  if (options.blur) parts.push(randomGaussianBlur(options.blur));
  if (options.normalize) parts.push(normalization(options.normalize.mean, options.normalize.std));
  return compose(parts);
}

export interface StackedRandAugmentOptions extends SimclrOptions {
  /** RandAugment ops per image; default 2. */
  n?: number;
  /** RandAugment magnitude on a 0..10 scale (timm's); default 10. */
  m?: number;
  /** Gaussian noise std on the magnitude; default 0.5. */
  magnitudeStd?: number;
}

/**
 * Stacked RandAugment (Tian et al. 2020, the SupCon paper's best for ResNet-200): the SimCLR
 * pipeline (crop with scale default [0.08, 1], flip, jitter p 0.8, grayscale p 0.2) followed by
 * RandAugment n=2, m=10 of 10 with magnitude noise std 0.5 (timm's `rand-n2-m10-mstd0.5`).
 */
export function stackedRandAugment(options: StackedRandAugmentOptions = {}): AugmentationPart {
  const { n = 2, m = 10, magnitudeStd = 0.5, normalize, ...rest } = options;
  return compose([
    simclr({ scale: [0.08, 1], ...rest, normalize: false }),
    randAugment({ n, m, numMagnitudeBins: 11, magnitudeStd }),
    ...(normalize ? [normalization(normalize.mean, normalize.std)] : []),
  ]);
}
