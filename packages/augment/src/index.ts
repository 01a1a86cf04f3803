/**
 * @supcon/augment: batched, seeded image augmentations for TensorFlow.js (cpu and wasm
 * backends), presets (SimCLR, RandAugment, AutoAugment, Stacked RandAugment) and `multiView`.
 * Importing this module registers nothing.
 */
import { definePlugin, defineFactory } from '@supcon/core';
import type { AugmentationPart } from '@supcon/core';
import { z } from 'zod';
import { autoAugment, randAugment } from './policies';
import { CIFAR10_MEAN, CIFAR10_STD, simclr, stackedRandAugment } from './presets';
import { colorJitter, none, randomGaussianBlur, randomGrayscale, randomHorizontalFlip, randomResizedCrop } from './transforms';

export * from './ops';
export * from './transforms';
export * from './policies';
export * from './presets';

const range = (lo: number, hi: number) =>
  z
    .tuple([z.number(), z.number()])
    .refine(([a, b]) => a >= lo && a <= b && b <= hi, { message: `expected [low, high] with ${lo} <= low <= high <= ${hi}` });
const probability = z.number().min(0).max(1);
const normalizeSchema = z
  .union([z.literal(false), z.literal('cifar10'), z.object({ mean: z.array(z.number()), std: z.array(z.number().positive()) })])
  .default(false);
const toNormalize = (n: z.output<typeof normalizeSchema>) =>
  n === false ? false : n === 'cifar10' ? { mean: [...CIFAR10_MEAN], std: [...CIFAR10_STD] } : n;

const jitterSchema = z.object({
  brightness: z.number().min(0).default(0.4),
  contrast: z.number().min(0).default(0.4),
  saturation: z.number().min(0).default(0.4),
  hue: z.number().min(0).max(0.5).default(0.1),
  p: probability.default(0.8),
});
const blurSchema = z.object({ kernelSize: z.number().int().positive().optional(), sigma: range(1e-6, Infinity).default([0.1, 2]), p: probability.default(0.5) });

/** Options of `simclr` in configs. */
export const simclrSchema = z.object({
  scale: range(0, 1).default([0.2, 1]),
  ratio: range(1e-6, Infinity).default([3 / 4, 4 / 3]),
  flipProbability: probability.default(0.5),
  colorJitter: z.union([z.literal(false), jitterSchema]).default(jitterSchema.parse({})),
  grayscaleProbability: probability.default(0.2),
  blur: z.union([z.literal(false), blurSchema]).default(false),
  normalize: normalizeSchema,
});
/** Options of `rand-augment`. */
export const randAugmentSchema = z.object({
  n: z.number().int().min(0).default(2),
  m: z.number().min(0).default(9),
  numMagnitudeBins: z.number().int().min(2).default(31),
  magnitudeStd: z.number().min(0).default(0),
  fill: z.number().default(0),
});
/** Options of `auto-augment`. */
export const autoAugmentSchema = z.object({ policy: z.enum(['imagenet', 'cifar10']).default('imagenet'), fill: z.number().default(0) });
/** Options of `stacked-rand-augment`. */
export const stackedRandAugmentSchema = simclrSchema.extend({
  scale: range(0, 1).default([0.08, 1]),
  n: z.number().int().min(0).default(2),
  m: z.number().min(0).max(10).default(10),
  magnitudeStd: z.number().min(0).default(0.5),
});

/**
 * The package's plugin: place it in a config's `plugins` list or pass it to `registry.use()`.
 * Augmentations: `simclr`, `rand-augment`, `auto-augment`, `stacked-rand-augment`, `none`, and
 * the single transforms `random-resized-crop`, `horizontal-flip`, `color-jitter`,
 * `random-grayscale`, `gaussian-blur`.
 */
export const augmentPlugin = definePlugin({
  name: '@supcon/augment',
  version: '0.1.0',
  specificationVersion: 'v1',
  augmentations: {
    simclr: defineFactory({
      schema: simclrSchema,
      description: 'SupContrast CIFAR recipe: resized crop 0.2-1, flip, colour jitter 0.4/0.4/0.4/0.1 p 0.8, grayscale p 0.2',
      create: (o): AugmentationPart => simclr({ ...o, normalize: toNormalize(o.normalize) }),
    }),
    'rand-augment': defineFactory({
      schema: randAugmentSchema,
      description: 'RandAugment (n ops per image at magnitude m of numMagnitudeBins - 1), torchvision op set',
      create: (o): AugmentationPart => randAugment(o),
    }),
    'auto-augment': defineFactory({
      schema: autoAugmentSchema,
      description: "AutoAugment with the published 'imagenet' or 'cifar10' policy",
      create: (o): AugmentationPart => autoAugment(o.policy, o.fill),
    }),
    'stacked-rand-augment': defineFactory({
      schema: stackedRandAugmentSchema,
      description: 'Stacked RandAugment: the simclr pipeline then RandAugment n=2 m=10 mstd 0.5',
      create: (o): AugmentationPart => stackedRandAugment({ ...o, normalize: toNormalize(o.normalize) }),
    }),
    none: defineFactory({ schema: z.object({}), description: 'No augmentation (identity)', create: (): AugmentationPart => none() }),
    'random-resized-crop': defineFactory({
      schema: z.object({ scale: range(0, 1).default([0.08, 1]), ratio: range(1e-6, Infinity).default([3 / 4, 4 / 3]), flipProbability: probability.default(0) }),
      description: 'RandomResizedCrop (optionally with horizontal flip) back to the input size',
      create: (o): AugmentationPart => randomResizedCrop(o),
    }),
    'horizontal-flip': defineFactory({
      schema: z.object({ p: probability.default(0.5) }),
      description: 'RandomHorizontalFlip',
      create: (o): AugmentationPart => randomHorizontalFlip(o.p),
    }),
    'color-jitter': defineFactory({ schema: jitterSchema, description: 'RandomApply(ColorJitter(b, c, s, h), p)', create: (o): AugmentationPart => colorJitter(o) }),
    'random-grayscale': defineFactory({
      schema: z.object({ p: probability.default(0.2) }),
      description: 'RandomGrayscale',
      create: (o): AugmentationPart => randomGrayscale(o.p),
    }),
    'gaussian-blur': defineFactory({ schema: blurSchema, description: 'RandomApply(GaussianBlur(k, sigma), p)', create: (o): AugmentationPart => randomGaussianBlur(o) }),
  },
});
