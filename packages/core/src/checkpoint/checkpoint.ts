/**
 * Checkpoints in a `RunStorage`: a `tf.LayersModel` (topology + weights), further named models,
 * an optimizer's state and a JSON state, written as one unit.
 *
 * Layout of a checkpoint folder (format version 1):
 *
 *   checkpoint.json           { format: 'supcon-checkpoint', version: 1, createdAt, models, optimizer, state }
 *   model.json                tfjs model artifacts (topology, weightsManifest -> model.weights.bin)
 *   model.weights.bin         float32/int32 weights, in the order of model.weights
 *   <name>.json / <name>.weights.bin   one pair per extra named model (`models: { encoder, head }`)
 *   optimizer.json            { className, weights: [{ name, shape, dtype }] }
 *   optimizer.bin             the optimizer's variables (iteration count first), in order
 *
 * `checkpoint.json` is written last, and the folder is written with the storage's `writeFolder`:
 * a reader sees either the previous checkpoint or the complete new one.
 */
import type { Optimizer } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { RunStorage, StorageFile } from '../storage/types';
import { baseName, joinPath, parentPath, readText } from '../storage/types';
import { RUN_FILE, parseCheckpointName } from '../run-layout';
import { buildSavedModel, modelFiles, readSavedModel, setSavedWeights } from './model-files';
import { OPTIMIZER_FILE, optimizerFiles, readOptimizerState, restoreOptimizer } from './optimizer-state';
import type { NamedTensor } from './optimizer-state';

export type { NamedTensor } from './optimizer-state';

/** Current checkpoint format version; `loadCheckpoint` reads this and every older one. */
export const CHECKPOINT_FORMAT_VERSION = 1;
const FORMAT = 'supcon-checkpoint';
const MAIN_MODEL = 'model';
const META = 'checkpoint.json';

/** JSON-serialisable values (the `state` of a checkpoint). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface CheckpointContents {
  /** The main model, saved as model.json + model.weights.bin. */
  model?: LayersModel;
  /** Further models by name (letters, digits, '-', '_'), e.g. `{ encoder, head }`. */
  models?: Record<string, LayersModel>;
  /** Its variables (`getWeights()`: iteration count, moments, ...) are saved. */
  optimizer?: Optimizer;
  /** Any JSON: epoch, step, RNG states, ... */
  state?: JsonValue;
}

export interface SaveCheckpointOptions {
  /**
   * Called after each file is written, before the checkpoint is in place (names as in the layout).
   * A throw aborts the save, leaving any previous checkpoint in place; used to test atomicity.
   */
  onFileWritten?: (file: string) => void | Promise<void>;
}

export interface LoadCheckpointOptions {
  /** Load the main model's weights into this model (same architecture) instead of building a new one. */
  model?: LayersModel;
  /** Likewise for named models. */
  models?: Record<string, LayersModel>;
  /** Restore the saved optimizer state into this optimizer (same class, same variables in the same order). */
  optimizer?: Optimizer;
}

export interface LoadedCheckpoint {
  /** Folder read (the previous one if the checkpoint was caught between two renames), as the storage describes it. */
  dir: string;
  version: number;
  createdAt: string;
  /** The main model: `options.model` (weights loaded into it) or a new model. */
  model?: LayersModel;
  /** Named models, likewise. */
  models: Record<string, LayersModel>;
  /** Saved optimizer class name, if any. */
  optimizerClass?: string;
  /**
   * Saved optimizer variables, when no `options.optimizer` took them: new tensors the caller owns
   * (pass to `optimizer.setWeights()` then dispose).
   */
  optimizerWeights?: NamedTensor[];
  state?: JsonValue;
}

interface CheckpointJson {
  format: typeof FORMAT;
  version: number;
  createdAt: string;
  models: string[];
  optimizer: { className: string; file: string } | null;
  state?: JsonValue;
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(name) || name === 'optimizer' || name === 'checkpoint') {
    throw new Error(`saveCheckpoint: models.${name}: a model name must be letters, digits, '-' or '_' and not 'optimizer' or 'checkpoint'`);
  }
}

/**
 * Writes the checkpoint folder `dir` of `storage` as one unit (`writeFolder`): a save that fails
 * part-way leaves the previous checkpoint (if any) readable at `dir`. Returns `storage.describe(dir)`.
 *
 * Model weights are read, not copied to new tensors; the optimizer's iteration scalar that
 * `getWeights()` creates is disposed, so no tensors are left behind.
 * @throws when the write fails or a model name is invalid.
 */
export async function saveCheckpointTo(storage: RunStorage, dir: string, contents: CheckpointContents, options: SaveCheckpointOptions = {}): Promise<string> {
  const named: [string, LayersModel][] = [];
  if (contents.model) named.push([MAIN_MODEL, contents.model]);
  for (const [name, model] of Object.entries(contents.models ?? {})) {
    checkName(name);
    if (name === MAIN_MODEL && contents.model) throw new Error("saveCheckpoint: models.model clashes with the main `model`");
    named.push([name, model]);
  }
  const files: StorageFile[] = [];
  for (const [name, model] of named) files.push(...(await modelFiles(model, name)));
  if (contents.optimizer) files.push(...(await optimizerFiles(contents.optimizer)));
  const meta: CheckpointJson = {
    format: FORMAT,
    version: CHECKPOINT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    models: named.map(([name]) => name),
    optimizer: contents.optimizer ? { className: contents.optimizer.getClassName(), file: OPTIMIZER_FILE } : null,
    ...(contents.state !== undefined ? { state: contents.state } : {}),
  };
  files.push({ name: META, data: JSON.stringify(meta, null, 2) });
  await storage.writeFolder(dir, files, options.onFileWritten ? { onFileWritten: options.onFileWritten } : {});
  return storage.describe(dir);
}

/** `dir` if it holds a complete checkpoint, else a complete `<dir>.old-*` left by an interrupted folder swap. */
export async function readableCheckpoint(storage: RunStorage, dir: string): Promise<string | undefined> {
  if ((await storage.kind(joinPath(dir, META))) === 'file') return dir;
  const parent = parentPath(dir);
  const base = baseName(dir);
  const olds = (await storage.list(parent)).filter((n) => n.startsWith(`${base}.old-`)).sort();
  for (const name of olds.reverse()) {
    const candidate = joinPath(parent, name);
    if ((await storage.kind(joinPath(candidate, META))) === 'file') return candidate;
  }
  return undefined;
}

async function readMeta(storage: RunStorage, dir: string, caller: string): Promise<{ found: string; meta: CheckpointJson }> {
  const found = await readableCheckpoint(storage, dir);
  if (!found) throw new Error(`${caller}: no complete checkpoint at ${storage.describe(dir)} (checkpoint.json is missing)`);
  const meta = JSON.parse((await readText(storage, joinPath(found, META))) ?? 'null') as CheckpointJson;
  return { found, meta };
}

/**
 * Reads a checkpoint written by `saveCheckpointTo` (any format version up to the current one).
 * Models are built from their saved topology unless a target model is passed, in which case its
 * weights are set (by position, shapes checked). With `options.optimizer`, the optimizer's state
 * is restored into it; otherwise the saved variables are returned as new tensors.
 * @throws naming the folder when it holds no complete checkpoint, or has a newer format version;
 *   naming the model and weight when counts or shapes differ from a target model.
 */
export async function loadCheckpointFrom(storage: RunStorage, dir: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const { found, meta } = await readMeta(storage, dir, 'loadCheckpoint');
  const shown = storage.describe(found);
  if (meta?.format !== FORMAT) throw new Error(`loadCheckpoint: ${shown}/checkpoint.json is not a supcon checkpoint (format ${JSON.stringify(meta?.format)})`);
  if (!Number.isInteger(meta.version) || meta.version < 1 || meta.version > CHECKPOINT_FORMAT_VERSION) {
    throw new Error(`loadCheckpoint: ${shown} has format version ${meta.version}; this @supcon/core reads versions 1 to ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const result: LoadedCheckpoint = { dir: shown, version: meta.version, createdAt: meta.createdAt, models: {}, state: meta.state };
  for (const name of meta.models) {
    const saved = await readSavedModel(storage, found, name);
    const target = name === MAIN_MODEL ? options.model : options.models?.[name];
    let model: LayersModel;
    if (target) {
      setSavedWeights(target, saved, name === MAIN_MODEL ? 'model' : `models.${name}`);
      model = target;
    } else {
      model = await buildSavedModel(saved);
    }
    if (name === MAIN_MODEL) result.model = model;
    else result.models[name] = model;
  }
  if (meta.optimizer) {
    const state = await readOptimizerState(storage, found, meta.optimizer.file);
    result.optimizerClass = state.className;
    if (options.optimizer) await restoreOptimizer(options.optimizer, state);
    else result.optimizerWeights = state.weights;
  }
  return result;
}

/**
 * The JSON `state` of a checkpoint (undefined when it has none), read from checkpoint.json alone:
 * no weights are read. Falls back to a `.old-*` twin like `loadCheckpointFrom`.
 * @throws naming the folder when it holds no complete checkpoint.
 */
export async function readCheckpointStateFrom(storage: RunStorage, dir: string): Promise<JsonValue | undefined> {
  return (await readMeta(storage, dir, 'readCheckpointState')).meta?.state;
}

/**
 * The newest complete checkpoint of the run in `storage` (a path in it): of `checkpoints/epoch-NNNN`
 * and mid-epoch `epoch-NNNN-step-SSSSSS`, the one furthest into training (by NNNN, then SSSSSS;
 * `epoch-NNNN` is step 0) that holds a checkpoint.json (or its `.old-*` twin), or undefined.
 */
export async function latestCheckpointIn(storage: RunStorage): Promise<string | undefined> {
  const found = new Map<string, { epochs: number; step: number }>();
  for (const name of await storage.list(RUN_FILE.checkpoints)) {
    const parsed = parseCheckpointName(name);
    if (parsed) found.set(name.replace(/\.old-.*$/, ''), parsed);
  }
  const newestFirst = [...found].sort(([, a], [, b]) => b.epochs - a.epochs || b.step - a.step);
  for (const [name] of newestFirst) {
    const dir = joinPath(RUN_FILE.checkpoints, name);
    if (await readableCheckpoint(storage, dir)) return dir;
  }
  return undefined;
}

/** Disposes tensors a loaded checkpoint handed over (`optimizerWeights`). Models are left alone. */
export function disposeLoadedTensors(loaded: LoadedCheckpoint): void {
  for (const w of loaded.optimizerWeights ?? []) w.tensor.dispose();
}
