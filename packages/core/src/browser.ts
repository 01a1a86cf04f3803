/**
 * @supcon/core for browsers (the `browser` export condition): everything in the main entry that
 * does not need Node — plugin and registry, typed configs and their validation, seeded randomness.
 * Config files, checkpoints and the runner read and write files and are Node-only. Parts packages
 * (losses, augment, samplers, ...) only need this subset, so they bundle for the web.
 */
export { PART_KINDS, PLUGIN_KEYS } from './parts';
export type {
  PartKind,
  PluginKey,
  PartTypes,
  BuildContext,
  Logger,
  ImageDataset,
  DatasetPart,
  LossInput,
  LossPart,
  BackbonePart,
  HeadPart,
  AugmentationPart,
  SamplerPart,
  OptimizerPart,
  ScheduleProgress,
  SchedulePart,
  EvalInput,
  EvalResult,
  EvaluatorPart,
  RunnerHooks,
  StepInfo,
  HookPart,
} from './parts';
export { applySchedule } from './schedule';
export { SupconNonFiniteError } from './non-finite';
export type { NonFiniteDetails } from './non-finite';
export { defineFactory, definePlugin } from './plugin';
export type { Factory, Plugin, KeyOf } from './plugin';
export { createRegistry, SupconRegistryError } from './registry';
export type { Registry, RegistryEntry, UseOptions, PartConfig } from './registry';
export { SupconConfigError, formatIssues } from './errors';
export type { ConfigIssue } from './errors';
export { createRng } from './rng';
export type { Rng, RngState } from './rng';
export { closestMatch, editDistance } from './closest';
export { BACKENDS, CONFIG_PART_SLOTS, CONFIG_LIST_SLOTS, defineConfig, createDefineConfig } from './config';
export type {
  BackendName,
  ConfigPartSlot,
  ConfigListSlot,
  TrainConfig,
  CheckpointConfig,
  PartConfigOf,
  SupconConfigInput,
  ResolvedPart,
  ResolvedConfig,
  DefineConfig,
} from './config';
export { validateConfig, resolveConfig, configJsonSchema } from './schema';
export type { ResolveOptions, ValidationResult } from './schema';
export type { CheckpointContents, SaveCheckpointOptions, LoadCheckpointOptions, LoadedCheckpoint, NamedTensor, JsonValue } from './checkpoint';
export type { Runner, RunnerOptions, RunnerTask, RunnerContext, RunSummary, TaskSetup, TaskStepInfo, StepResult } from './runner';
