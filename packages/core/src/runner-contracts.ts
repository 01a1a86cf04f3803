/**
 * The contracts of the runner, beside the part contracts (parts.ts): what a training procedure
 * (`RunnerTask`) implements, what it and the hooks see (`RunnerContext`), the parts the runner
 * builds for it (`RunParts`), and summary.json (`RunSummary`).
 */
import type { CheckpointContents, JsonValue, LoadedCheckpoint } from './checkpoint/checkpoint';
import type { ResolvedConfig } from './config';
import type {
  AugmentationPart,
  BackbonePart,
  BuildContext,
  EvalResult,
  EvaluatorPart,
  HeadPart,
  ImageDataset,
  Logger,
  LossPart,
  OptimizerPart,
  PartKind,
  PartTypes,
  SamplerPart,
  SchedulePart,
} from './parts';
import type { PartConfig, Registry } from './registry';
import type { Rng } from './rng';
import type { RunStorage } from './storage/types';

/** Runner hooks; every hook is optional; they run in registration order. See `createRunner`. */
export interface RunnerHooks<C = unknown> {
  beforeRun?(context: C): void | Promise<void>;
  beforeEpoch?(context: C, epoch: number): void | Promise<void>;
  beforeStep?(context: C, step: StepInfo): void | Promise<void>;
  afterStep?(context: C, step: StepInfo & { loss: number }): void | Promise<void>;
  afterEpoch?(context: C, epoch: number, metrics: Record<string, number>): void | Promise<void>;
  afterEval?(context: C, results: Record<string, EvalResult>): void | Promise<void>;
  /** After summary.json is written: `summary` is what it holds, the procedure's fields included. */
  afterRun?(context: C, summary: RunSummary): void | Promise<void>;
  onError?(context: C, error: unknown): void | Promise<void>;
}

export interface StepInfo {
  epoch: number;
  /** Step within the epoch, from 0. */
  step: number;
  /** Global step, from 0. */
  globalStep: number;
  batchSize: number;
}

/** Step position handed to a task: `StepInfo` plus the run's length, for schedules. */
export interface TaskStepInfo extends StepInfo {
  /** Batches in every epoch (`sampler.batchesPerEpoch(labels)`). */
  stepsPerEpoch: number;
  /** `stepsPerEpoch * train.epochs`. */
  totalSteps: number;
}

/** What a step returns: its loss, or the loss with further metrics (all finite numbers). */
export type StepResult = number | { loss: number; [metric: string]: number };

// docs/core.md includes the next two regions.
// #region run-parts
/**
 * Every part of the config, built by the runner (the only builder) in this order, each with its
 * own generator `context.rng(<slot>)`: `data` (both splits loaded), `sampler` (over
 * `train.labels`), `loss`, `backbone` (`inputShape` = the images' shape, `numClasses`), `head`
 * (`inputShape` = `[the backbone's output dim]`), `augment`, `optimizer`, `schedule`, `eval[i]`.
 * A slot the config leaves out is undefined here; the procedure says which it needs.
 */
export interface RunParts {
  /** The training split (the sampler draws batch indices over `train.labels`). */
  train: ImageDataset;
  test: ImageDataset;
  sampler: SamplerPart;
  loss?: LossPart;
  backbone?: BackbonePart;
  head?: HeadPart;
  augment?: AugmentationPart;
  optimizer?: OptimizerPart;
  schedule?: SchedulePart;
  evaluators: EvaluatorPart[];
}
// #endregion run-parts

// #region runner-task
/**
 * The training procedure plugged into the runner. The runner builds every part, then calls, in
 * order: `setup(parts)` once; on resume `restore` once; per epoch, `step` for each batch of
 * `sampler.epoch(train.labels, epoch)` then `epochEnd`; `checkpoint` after every epoch (and every
 * `config.checkpoint.everySteps` steps, mid-epoch); `evaluate` once at the end; `summary` for
 * the fields it adds to summary.json.
 * Examples: SupCon pre-training (step: augment views, encode, loss, update; evaluate:
 * linear probe on the frozen encoder), end-to-end cross-entropy (step: logits + CE), triplet or
 * N-pair (an m-per-class sampler, step: embeddings + metric loss).
 *
 * Randomness must come from `context.rng(label)`: the runner checkpoints and restores those
 * generators, which is what makes a resumed run end with the same weights.
 */
export interface RunnerTask {
  /** Assembles the models from the parts (e.g. encoder + head), checks they fit. */
  setup(parts: RunParts, context: RunnerContext): void | Promise<void>;
  /** One optimisation step on the dataset indices `batch` (int32). Must not leak tensors. */
  step(batch: Int32Array, info: TaskStepInfo, context: RunnerContext): StepResult | Promise<StepResult>;
  /** After the last step of an epoch; extra epoch metrics (e.g. learning rate, train accuracy). */
  epochEnd?(epoch: number, context: RunnerContext): Record<string, number> | void | Promise<Record<string, number> | void>;
  /** After training; results by evaluator key, stored in summary.json under `eval`. */
  evaluate?(context: RunnerContext): Record<string, EvalResult> | Promise<Record<string, EvalResult>>;
  /**
   * What to save after each epoch (and mid-epoch with `checkpoint.everySteps`): models and the
   * optimizer (their weights are saved) and any JSON `state` of the task — with mid-epoch
   * checkpoints, including whatever `epochEnd` reads that steps accumulate. On resume, the same
   * objects are restored in place.
   */
  checkpoint(): CheckpointContents | Promise<CheckpointContents>;
  /** On resume, after models and optimizer were restored: the task's saved JSON `state`. */
  restore?(state: JsonValue | undefined, loaded: LoadedCheckpoint): void | Promise<void>;
  /**
   * Fields the procedure adds to summary.json (stage, backend, images/s, ...), given the runner's
   * summary; written in the one summary.json, before `afterRun`. The runner's keys win.
   */
  summary?(summary: RunSummary): Record<string, unknown> | Promise<Record<string, unknown>>;
}
// #endregion runner-task

/** What hooks and the task see. */
export interface RunnerContext {
  readonly config: ResolvedConfig;
  readonly registry: Registry;
  /** Where the run is: its folder (absolute) in Node, `storage.location` elsewhere. */
  readonly runDir: string;
  /** The run's files (config.json, metrics.jsonl, checkpoints, ...) go through this. */
  readonly storage: RunStorage;
  readonly logger: Logger;
  /**
   * The seeded generator for a named consumer ('sampler', 'augment', 'init', ...): a fork of the
   * run's root generator (seed `config.seed`). The same label returns the same instance; every
   * one is saved in checkpoints and restored on resume.
   */
  rng(label: string): Rng;
  /** Builds a part with the registry; its `rng` is `rng(<path>)`, `batchSize` is `train.batchSize`. */
  build<K extends PartKind>(kind: K, config: PartConfig, path?: string, context?: Partial<BuildContext>): Promise<PartTypes[K]>;
  /** The parts the runner built (set before `setup` runs). */
  readonly parts: RunParts;
  /** The sampler the loop uses (`parts.sampler`). */
  readonly sampler: SamplerPart;
  /** Current epoch (from 0) and global step (from 0; the number of steps done). */
  readonly epoch: number;
  readonly globalStep: number;
  /** Checkpoint (as the storage describes it) last written or restored. */
  readonly lastCheckpoint: string | undefined;
  /** Appends one JSON line to metrics.jsonl (`kind` is added when missing: 'custom'). */
  log(record: Record<string, JsonValue>): Promise<void>;
}

/** summary.json. */
export interface RunSummary {
  [key: string]: unknown;
  name: string | null;
  seed: number;
  epochs: number;
  steps: number;
  /** Mean loss of each epoch run by this process and, after a resume, the earlier ones. */
  epochLoss: number[];
  finalLoss: number | null;
  eval: Record<string, EvalResult>;
  resumedFrom: string | null;
  startedAt: string;
  finishedAt: string;
  seconds: number;
}
