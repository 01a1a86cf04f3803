/**
 * Checkpoints without a native addon: a `tf.LayersModel` (topology + weights, via a `tf.io`
 * handler on node:fs), its optimizer's state and a JSON state, written atomically.
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
 * `checkpoint.json` is written last; the folder is assembled under a temporary name and renamed
 * into place, so a reader sees either the previous checkpoint or the complete new one.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { io, Variable } from '@tensorflow/tfjs-core';
import type { Optimizer, Tensor } from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tagFileError, tempSuffix, writeFileSynced } from './atomic';

/** Current checkpoint format version; `loadCheckpoint` reads this and every older one. */
export const CHECKPOINT_FORMAT_VERSION = 1;
const FORMAT = 'supcon-checkpoint';
const MAIN_MODEL = 'model';

/** One optimizer variable as `optimizer.getWeights()` returns it. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

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
   * Called after each file is written into the temporary folder (names as in the layout). A throw
   * aborts the save, leaving any previous checkpoint in place; used to test atomicity.
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
  /** Folder read (the previous one if the checkpoint was caught between two renames). */
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

interface OptimizerJson {
  className: string;
  weights: io.WeightsManifestEntry[];
}

function joinWeightData(data: io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return io.CompositeArrayBuffer.join(data);
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * Writes a file and flushes it to disk, so a rename after it never exposes a truncated file.
 * Errors are tagged with `shown`: the path the file has once the checkpoint is in place.
 */
async function writeFile(file: string, data: string | Uint8Array, shown = file): Promise<void> {
  try {
    await writeFileSynced(file, data);
  } catch (error) {
    throw tagFileError(error, shown);
  }
}

/** A tf.io handler that saves model artifacts as `<name>.json` + `<name>.weights.bin` in `dir` (`shownDir` in errors). */
function fileSaveHandler(dir: string, name: string, written: (file: string) => Promise<void>, shownDir = dir): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const weightsFile = `${name}.weights.bin`;
      await writeFile(path.join(dir, weightsFile), new Uint8Array(joinWeightData(artifacts.weightData)), path.join(shownDir, weightsFile));
      await written(weightsFile);
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(path.join(dir, `${name}.json`), JSON.stringify(modelJson), path.join(shownDir, `${name}.json`));
      await written(`${name}.json`);
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

interface ModelFiles {
  json: io.ModelJSON;
  specs: io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

async function readModelFiles(dir: string, name: string): Promise<ModelFiles> {
  const json = JSON.parse(await readFile(path.join(dir, `${name}.json`), 'utf8')) as io.ModelJSON;
  const specs = json.weightsManifest.flatMap((group) => group.weights);
  const buffers = await Promise.all(json.weightsManifest.flatMap((group) => group.paths.map((p) => readFile(path.join(dir, p)))));
  return { json, specs, data: io.concatenateArrayBuffers(buffers.map(toArrayBuffer)) };
}

/** A tf.io handler that loads what `fileSaveHandler` wrote. */
function fileLoadHandler(files: ModelFiles): io.IOHandler {
  return {
    load: async () => ({
      modelTopology: files.json.modelTopology,
      format: files.json.format,
      generatedBy: files.json.generatedBy,
      convertedBy: files.json.convertedBy,
      trainingConfig: files.json.trainingConfig,
      weightSpecs: files.specs,
      weightData: files.data,
    }),
  };
}

/** Sets `model`'s weights from saved ones, by position, checking count and shapes. */
function loadWeightsInto(model: LayersModel, files: ModelFiles, label: string): void {
  const weights = model.weights;
  if (weights.length !== files.specs.length) {
    throw new Error(`loadCheckpoint: ${label} has ${files.specs.length} weights in the checkpoint, the model has ${weights.length}`);
  }
  const decoded = io.decodeWeights(files.data, files.specs);
  try {
    const values = files.specs.map((spec, i) => {
      const expected = weights[i].shape;
      if (spec.shape.length !== expected.length || spec.shape.some((d, j) => d !== expected[j])) {
        throw new Error(
          `loadCheckpoint: ${label} weight ${i} ('${spec.name}') has shape [${spec.shape.join(', ')}] in the checkpoint, the model expects [${expected.join(', ')}]`,
        );
      }
      return decoded[spec.name];
    });
    model.setWeights(values);
  } finally {
    for (const t of Object.values(decoded)) t.dispose();
  }
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(name) || name === 'optimizer' || name === 'checkpoint') {
    throw new Error(`saveCheckpoint: models.${name}: a model name must be letters, digits, '-' or '_' and not 'optimizer' or 'checkpoint'`);
  }
}

/**
 * Writes a checkpoint folder `dir` atomically: everything goes to `<dir>.tmp-*` first, then an
 * existing `dir` is moved aside, the new folder renamed into place, and the old one removed. A
 * save that fails part-way leaves the previous checkpoint (if any) readable at `dir`.
 *
 * Model weights are read, not copied to new tensors; the optimizer's iteration scalar that
 * `getWeights()` creates is disposed, so no tensors are left behind.
 * @throws when the write fails (after removing the temporary folder) or a model name is invalid.
 */
export async function saveCheckpoint(dir: string, contents: CheckpointContents, options: SaveCheckpointOptions = {}): Promise<string> {
  const target = path.resolve(dir);
  const named: [string, LayersModel][] = [];
  if (contents.model) named.push([MAIN_MODEL, contents.model]);
  for (const [name, model] of Object.entries(contents.models ?? {})) {
    checkName(name);
    if (name === MAIN_MODEL && contents.model) throw new Error("saveCheckpoint: models.model clashes with the main `model`");
    named.push([name, model]);
  }
  const tmp = `${target}.tmp-${tempSuffix()}`;
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await mkdir(tmp);
  } catch (error) {
    throw tagFileError(error, target);
  }
  const written = async (file: string) => {
    await options.onFileWritten?.(file);
  };
  try {
    for (const [name, model] of named) await model.save(fileSaveHandler(tmp, name, written, target));

    let optimizer: CheckpointJson['optimizer'] = null;
    if (contents.optimizer) {
      const className = contents.optimizer.getClassName();
      const weights = await contents.optimizer.getWeights();
      try {
        // Names are not unique across optimizers' variables: save them by position.
        const { data, specs } = await io.encodeWeights(weights.map((w, i) => ({ name: `${i}`, tensor: w.tensor })));
        const manifest: OptimizerJson = { className, weights: specs.map((s, i) => ({ ...s, name: weights[i].name })) };
        await writeFile(path.join(tmp, 'optimizer.bin'), new Uint8Array(joinWeightData(data)), path.join(target, 'optimizer.bin'));
        await written('optimizer.bin');
        await writeFile(path.join(tmp, 'optimizer.json'), JSON.stringify(manifest), path.join(target, 'optimizer.json'));
        await written('optimizer.json');
      } finally {
        for (const w of weights) if (!(w.tensor instanceof Variable)) w.tensor.dispose();
      }
      optimizer = { className, file: 'optimizer.json' };
    }

    const meta: CheckpointJson = {
      format: FORMAT,
      version: CHECKPOINT_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      models: named.map(([name]) => name),
      optimizer,
      ...(contents.state !== undefined ? { state: contents.state } : {}),
    };
    await writeFile(path.join(tmp, 'checkpoint.json'), JSON.stringify(meta, null, 2), path.join(target, 'checkpoint.json'));
    await written('checkpoint.json');

    let old: string | undefined;
    if (existsSync(target)) {
      old = `${target}.old-${tempSuffix()}`;
      await rename(target, old);
    }
    await rename(tmp, target);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    // A failed rename (or model.save) names the checkpoint folder.
    throw tagFileError(error, target);
  }
  return target;
}

/** `dir` if it holds a complete checkpoint, else a complete `<dir>.old-*` left by an interrupted swap. */
async function readableDir(dir: string): Promise<string | undefined> {
  if (existsSync(path.join(dir, 'checkpoint.json'))) return dir;
  const parent = path.dirname(dir);
  if (!existsSync(parent)) return undefined;
  const base = path.basename(dir);
  const olds = (await readdir(parent)).filter((n) => n.startsWith(`${base}.old-`)).sort();
  for (const name of olds.reverse()) {
    if (existsSync(path.join(parent, name, 'checkpoint.json'))) return path.join(parent, name);
  }
  return undefined;
}

/**
 * Reads a checkpoint written by `saveCheckpoint` (any format version up to the current one).
 * Models are built from their saved topology unless a target model is passed, in which case its
 * weights are set (by position, shapes checked). With `options.optimizer`, the optimizer's state
 * is restored into it; otherwise the saved variables are returned as new tensors.
 * @throws naming the folder when it holds no complete checkpoint, or has a newer format version;
 *   naming the model and weight when counts or shapes differ from a target model.
 */
export async function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const requested = path.resolve(dir);
  const found = await readableDir(requested);
  if (!found) throw new Error(`loadCheckpoint: no complete checkpoint at ${requested} (checkpoint.json is missing)`);
  const meta = JSON.parse(await readFile(path.join(found, 'checkpoint.json'), 'utf8')) as CheckpointJson;
  if (meta.format !== FORMAT) throw new Error(`loadCheckpoint: ${found}/checkpoint.json is not a supcon checkpoint (format ${JSON.stringify(meta.format)})`);
  if (!Number.isInteger(meta.version) || meta.version < 1 || meta.version > CHECKPOINT_FORMAT_VERSION) {
    throw new Error(`loadCheckpoint: ${found} has format version ${meta.version}; this @supcon/core reads versions 1 to ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const result: LoadedCheckpoint = { dir: found, version: meta.version, createdAt: meta.createdAt, models: {}, state: meta.state };
  for (const name of meta.models) {
    const files = await readModelFiles(found, name);
    const target = name === MAIN_MODEL ? options.model : options.models?.[name];
    let model: LayersModel;
    if (target) {
      loadWeightsInto(target, files, name === MAIN_MODEL ? 'model' : `models.${name}`);
      model = target;
    } else {
      model = await loadLayersModel(fileLoadHandler(files));
    }
    if (name === MAIN_MODEL) result.model = model;
    else result.models[name] = model;
  }
  if (meta.optimizer) {
    const manifest = JSON.parse(await readFile(path.join(found, meta.optimizer.file), 'utf8')) as OptimizerJson;
    const data = toArrayBuffer(await readFile(path.join(found, 'optimizer.bin')));
    const byIndex = io.decodeWeights(data, manifest.weights.map((s, i) => ({ ...s, name: `${i}` })));
    const weights: NamedTensor[] = manifest.weights.map((s, i) => ({ name: s.name, tensor: byIndex[`${i}`] }));
    result.optimizerClass = manifest.className;
    if (options.optimizer) {
      const actual = options.optimizer.getClassName();
      if (actual !== manifest.className) {
        for (const w of weights) w.tensor.dispose();
        throw new Error(`loadCheckpoint: the checkpoint's optimizer is ${manifest.className}, the optimizer passed is ${actual}`);
      }
      // tfjs optimizers' setWeights makes new variables and drops the old ones without disposing
      // them: dispose those it no longer holds, so loading into a used optimizer does not leak.
      const previous = await options.optimizer.getWeights();
      try {
        await options.optimizer.setWeights(weights);
        const current = await options.optimizer.getWeights();
        const kept = new Set(current.map((w) => w.tensor));
        for (const w of current) if (!(w.tensor instanceof Variable)) w.tensor.dispose();
        for (const w of previous) if (w.tensor instanceof Variable && !kept.has(w.tensor) && !w.tensor.isDisposed) w.tensor.dispose();
      } finally {
        for (const w of previous) if (!(w.tensor instanceof Variable)) w.tensor.dispose();
        for (const w of weights) w.tensor.dispose();
      }
    } else {
      result.optimizerWeights = weights;
    }
  }
  return result;
}

/**
 * The JSON `state` of a checkpoint (undefined when it has none), read from checkpoint.json alone:
 * no weights are read. Falls back to a `.old-*` twin like `loadCheckpoint`.
 * @throws naming the folder when it holds no complete checkpoint.
 */
export async function readCheckpointState(dir: string): Promise<JsonValue | undefined> {
  const requested = path.resolve(dir);
  const found = await readableDir(requested);
  if (!found) throw new Error(`readCheckpointState: no complete checkpoint at ${requested} (checkpoint.json is missing)`);
  const meta = JSON.parse(await readFile(path.join(found, 'checkpoint.json'), 'utf8')) as CheckpointJson;
  return meta.state;
}

/**
 * Name of the checkpoint folder after `epochsCompleted` epochs: `epoch-0003`; with `step`, of a
 * mid-epoch checkpoint taken after `step` steps of the next epoch: `epoch-0003-step-000120`.
 */
export function checkpointName(epochsCompleted: number, step?: number): string {
  const name = `epoch-${String(epochsCompleted).padStart(4, '0')}`;
  return step === undefined ? name : `${name}-step-${String(step).padStart(6, '0')}`;
}

/**
 * Epochs completed and steps into the next epoch of a checkpoint folder name (`epoch-0003` ->
 * `{ epochs: 3, step: 0, mid: false }`, `epoch-0003-step-000120` -> `{ epochs: 3, step: 120, mid: true }`),
 * ignoring a `.old-*` suffix; undefined for any other name (`.tmp-*` folders included).
 */
export function parseCheckpointName(name: string): { epochs: number; step: number; mid: boolean } | undefined {
  const m = /^epoch-(\d+)(?:-step-(\d+))?(?:\.old-.*)?$/.exec(name);
  return m ? { epochs: Number(m[1]), step: m[2] === undefined ? 0 : Number(m[2]), mid: m[2] !== undefined } : undefined;
}

/**
 * The newest complete checkpoint of a run: of `<runDir>/checkpoints/epoch-NNNN` and mid-epoch
 * `epoch-NNNN-step-SSSSSS`, the one furthest into training (by NNNN, then SSSSSS; `epoch-NNNN` is
 * step 0) that holds a checkpoint.json (or its `.old-*` twin), or undefined when there is none.
 */
export async function latestCheckpoint(runDir: string): Promise<string | undefined> {
  const root = path.join(path.resolve(runDir), 'checkpoints');
  if (!existsSync(root)) return undefined;
  const found = new Map<string, { epochs: number; step: number }>();
  for (const name of await readdir(root)) {
    const parsed = parseCheckpointName(name);
    if (parsed) found.set(name.replace(/\.old-.*$/, ''), parsed);
  }
  const newestFirst = [...found].sort(([, a], [, b]) => b.epochs - a.epochs || b.step - a.step);
  for (const [name] of newestFirst) {
    const dir = path.join(root, name);
    if (await readableDir(dir)) return dir;
  }
  return undefined;
}

/** Disposes tensors a loaded checkpoint handed over (`optimizerWeights`). Models are left alone. */
export function disposeLoadedTensors(loaded: LoadedCheckpoint): void {
  for (const w of loaded.optimizerWeights ?? []) (w.tensor as Tensor).dispose();
}
