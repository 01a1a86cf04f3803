/**
 * @supcon/core for browsers (the `browser` export condition): everything in the main entry that
 * does not need Node — plugin and registry, typed configs and their validation, seeded
 * randomness, the runner, checkpoints and the run-folder checks over a `RunStorage` (memory or
 * IndexedDB). Config files and the folder-on-disk storage (`nodeStorage`, path-based
 * `saveCheckpoint`, ...) are Node-only and in the main entry alone.
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
export { createRegistry, SupconRegistryError, SPECIFICATION_VERSIONS } from './registry';
export type { Registry, RegistryEntry, UseOptions, PartConfig } from './registry';
export { SupconConfigError, formatIssues } from './errors';
export type { ConfigIssue } from './errors';
export { createRng } from './rng';
export type { Rng, RngState } from './rng';
export { asWasmHeapBackend, findHeapOffset, heapOffset, heapFloat32, heapFloat64, heapInt32, tensorHeapView, tryTensorHeapView, heapMalloc, heapFree, type WasmHeapBackend, type WasmHeapModule, type HeapTensor } from './wasm-heap';
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
export type { CheckpointContents, SaveCheckpointOptions, LoadCheckpointOptions, LoadedCheckpoint, NamedTensor, JsonValue } from './checkpoint/checkpoint';
export {
  saveCheckpointTo,
  loadCheckpointFrom,
  readCheckpointStateFrom,
  latestCheckpointIn,
  readableCheckpoint,
  disposeLoadedTensors,
  CHECKPOINT_FORMAT_VERSION,
} from './checkpoint/checkpoint';
export { RUN_FILE, RUN_FILES, isRunFile, checkpointName, parseCheckpointName } from './run-layout';
export { RESUME_MAY_CHANGE, planRunFolderIn, prepareRunFolder, configChanges, serializableConfig, SupconRunFolderError } from './run-folder';
export type { ConfigChange, RunFolderOptions, RunFolderPlan, RunFolderProblem } from './run-folder';
export { SupconFileError, runFileError } from './file-errors';
export { SupconRunStoppedError } from './stopped';
export { createRunner } from './runner';
export type { Runner, RunnerOptions } from './runner';
export type { RunParts, RunnerTask, RunnerContext, RunSummary, TaskStepInfo, StepResult } from './runner-contracts';
export type { RunStorage, StorageEntryKind, StorageFile, WriteFolderOptions } from './storage/types';
export { readText } from './storage/types';
export { memoryStorage } from './storage/memory';
export type { MemoryStorage } from './storage/memory';
export { indexedDbStorage } from './storage/indexeddb';
export type { IndexedDbStorage, IndexedDbStorageOptions } from './storage/indexeddb';
