/**
 * The contracts between the runner and the parts that plugins provide. A factory's
 * `create(options, context)` returns the part type of its kind (see `PartTypes`).
 *
 * Tensor conventions: images are float32 `[batch, height, width, channels]` in [0, 1] unless
 * stated; features are `[batch, views, dim]`; labels are int32 `[batch]`.
 */
import type { Scalar, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Optimizer } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Rng } from './rng';
import type { RunnerContext, RunnerHooks } from './runner-contracts';

export type { RunnerHooks, StepInfo } from './runner-contracts';

/** Every kind of part a plugin can provide. */
export const PART_KINDS = [
  'loss',
  'backbone',
  'head',
  'augmentation',
  'sampler',
  'dataset',
  'evaluator',
  'optimizer',
  'schedule',
  'hook',
] as const;
export type PartKind = (typeof PART_KINDS)[number];

/** The key of a plugin object that holds the factories of each kind. */
export const PLUGIN_KEYS = {
  loss: 'losses',
  backbone: 'backbones',
  head: 'heads',
  augmentation: 'augmentations',
  sampler: 'samplers',
  dataset: 'datasets',
  evaluator: 'evaluators',
  optimizer: 'optimizers',
  schedule: 'schedules',
  hook: 'hooks',
} as const satisfies Record<PartKind, string>;
export type PluginKey = (typeof PLUGIN_KEYS)[PartKind];

/** Minimal logger the runner hands to parts. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** What a factory's `create` receives besides its validated options. */
export interface BuildContext {
  /** A generator forked for this part: draw every random number from it (or from forks of it). */
  rng: Rng;
  /** Shape of one input: `[h, w, c]` for a backbone, `[featureDim]` for a head. */
  inputShape?: readonly number[];
  /** Number of classes of the dataset, once known. */
  numClasses?: number;
  /** Images per batch (`train.batchSize`), for samplers; set by the runner. */
  batchSize?: number;
  /** The tfjs backend in use ('wasm', 'cpu', 'tensorflow', ...). */
  backend?: string;
  logger?: Logger;
}

/** A dataset split in memory as uint8, HWC, row-major: `images.length === size * h * w * c`. */
export interface ImageDataset {
  size: number;
  shape: [number, number, number];
  images: Uint8Array;
  labels: Uint8Array | Int32Array;
  classes: string[];
}

export interface DatasetPart {
  /** Loads a split. Implementations resolve paths, download or read caches as needed. */
  load(split: 'train' | 'test'): Promise<ImageDataset>;
}

export interface LossInput {
  /** `[batch, views, dim]` projections (on the unit sphere for contrastive losses). */
  features?: Tensor3D;
  /** `[batch, classes]` logits, for classification losses. */
  logits?: Tensor2D;
  /** int32 `[batch]` (for multi-label data, each image's first label). */
  labels: Tensor1D;
  /**
   * float32 `[batch, classes]` multi-hot labels: the data's label sets (a multi-label dataset's
   * `multiLabels`), or one-hot rows of `labels` for single-label data. Given only to losses whose
   * part says `multiLabel: true`.
   */
  multiHot?: Tensor2D;
  /**
   * Extra contrast samples from earlier steps (a memory bank): `features` `[M, dim]` on the unit
   * sphere, no gradient; `labels` int32 `[M]`; `multiHot` `[M, classes]` for losses whose part
   * says `multiLabel: true`. Given only to losses whose part says `memory: true`.
   */
  memory?: { features: Tensor2D; labels: Tensor1D; multiHot?: Tensor2D };
}

export interface LossPart {
  /** 'embeddings' losses read `features`; 'logits' losses read `logits` (cross-entropy). */
  readonly input: 'embeddings' | 'logits';
  /** False for losses that ignore labels (SimCLR). */
  readonly supervised: boolean;
  /** True when `compute` uses `input.memory` (a memory bank, `train.memory`). */
  readonly memory?: boolean;
  /** True when `compute` uses `input.multiHot` (multi-hot labels, `[batch, classes]`). */
  readonly multiLabel?: boolean;
  /** A differentiable scalar. */
  compute(input: LossInput): Scalar;
}

/** An encoder from images `[h, w, c]` to pooled features `[dim]`. */
export type BackbonePart = LayersModel;

/** A projection head from features `[dim]` to embeddings (normalised for contrastive losses). */
export type HeadPart = LayersModel;

export interface AugmentationPart {
  /** Maps float32 images `[b, h, w, c]` in [0, 1] to augmented images of the same shape. */
  apply(images: Tensor4D, rng: Rng): Tensor4D;
}

export interface SamplerPart {
  /** Batches of dataset indices for one epoch; deterministic in (seed, labels, epochIndex). */
  epoch(labels: ArrayLike<number>, epochIndex: number): Iterable<Int32Array>;
  /** Number of batches `epoch` yields for these labels. */
  batchesPerEpoch(labels: ArrayLike<number>): number;
  /**
   * Problems that would stop this sampler on these training labels (too few classes for a
   * batch, say), found before training starts; paths are config paths (`sampler.m`,
   * `train.batchSize`). Optional; `supcon validate` and `train` call it.
   */
  check?(labels: ArrayLike<number>): { path: string; message: string }[];
}

export interface OptimizerPart {
  readonly optimizer: Optimizer;
  /** The learning rate the schedule scales. */
  readonly baseLearningRate: number;
  setLearningRate(learningRate: number): void;
}

/**
 * Where training stands, for a schedule. The field is `globalStep` (not `step`) so that a step
 * position with both, such as the runner's `TaskStepInfo`, can be passed as it is: a schedule
 * never sees the step within the epoch (which made cosine restart every epoch).
 */
export interface ScheduleProgress {
  /** Steps done before this one in the whole run, from 0; `totalSteps - 1` on the last step. */
  globalStep: number;
  /** Batches in every epoch. */
  stepsPerEpoch: number;
  /** `stepsPerEpoch * train.epochs`. */
  totalSteps: number;
}

export interface SchedulePart {
  /** Multiplier of the base learning rate at this point of training (a pure function of `progress`). */
  factor(progress: ScheduleProgress): number;
}

/** What an evaluator receives: the frozen encoder and the data it was trained on. */
export interface EvalInput {
  encoder: LayersModel;
  train: ImageDataset;
  test: ImageDataset;
  /** Encoder features of `train`/`test`, computed once by the training procedure for all evaluators: `[n, dim]`. */
  trainFeatures: Tensor2D;
  testFeatures: Tensor2D;
  /** Turns uint8 HWC images into the encoder's input (scaling and normalisation). */
  preprocess(images: Tensor4D): Tensor4D;
  rng: Rng;
  logger: Logger;
}

/** Numbers (or nested records of numbers) that go into summary.json under the evaluator's key. */
export type EvalResult = { [key: string]: number | number[] | number[][] | string | EvalResult };

export interface EvaluatorPart {
  /** Key under which the result is stored in summary.json ('linearProbe', 'knn', ...). */
  readonly key: string;
  evaluate(input: EvalInput): Promise<EvalResult>;
}

/** A hook built from a config's `hooks` list: it sees the runner's context (config, rng, log, ...). */
export type HookPart = RunnerHooks<RunnerContext>;

/** The part type each kind's factories create. */
export interface PartTypes {
  loss: LossPart;
  backbone: BackbonePart;
  head: HeadPart;
  augmentation: AugmentationPart;
  sampler: SamplerPart;
  dataset: DatasetPart;
  evaluator: EvaluatorPart;
  optimizer: OptimizerPart;
  schedule: SchedulePart;
  hook: HookPart;
}
