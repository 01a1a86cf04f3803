/**
 * Exporting a trained encoder as a standard tfjs-layers model, and loading it back; the parts
 * every platform shares (export-node.ts and export-browser.ts add the files on disk, URLs).
 *
 * An export is a folder of three kinds of file:
 *
 *   model.json                   tfjs-layers model artifacts (topology, weightsManifest -> the shards)
 *   group1-shard1of1.bin, ...    float32 weights, in 4 MiB shards as the tfjs converter writes them
 *   supcon.json                  { format: 'supcon-encoder', version: 1, inputShape, featureDim, normalization, classes, ... }
 *
 * model.json holds only layers tfjs-layers itself knows, so `tf.loadLayersModel(url)` loads it in
 * any app with plain tfjs: supcon's own layers are rewritten as standard ones computing the same
 * function (`SupconBatchNorm` -> `BatchNormalization`; `SupconL2Normalize` -> a `Dot` layer with
 * `normalize: true` against a constant identity). The export checks this: the standard model's
 * features of a few test images must equal the run's own.
 *
 * The models are rebuilt as `evaluate()` does: the run's config through the runner's parts and
 * the training procedure's `setup`, then the checkpoint's weights loaded into them.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { RUN_FILE, createRegistry, createRunner, latestCheckpointIn, readText, resolveConfig, serializableConfig } from '@supcon/core';
import type { Logger, Plugin, ResolvedConfig, RunParts, RunStorage, RunnerTask } from '@supcon/core';
import { initBackend } from '@supcon/backends';
import { batchToTensor } from '@supcon/data';
import { builtinDefaults, builtinPlugins } from './builtins';
import { createProcedure } from './procedure';
import type { Stage } from './procedure';
import type { ConfigSource, TrainOptions } from './run';

/** The `format` of supcon.json. */
export const ENCODER_FORMAT = 'supcon-encoder';
/** The `version` of supcon.json this package writes; it reads versions up to this one. */
export const ENCODER_FORMAT_VERSION = 1;
/** What the exported model expects of its input: the training procedure's preprocessing (batchToTensor of @supcon/data). */
export const ENCODER_NORMALIZATION = 'uint8 / 255 → [0, 1]';
/** The metadata file of an export. */
export const ENCODER_METADATA_FILE = 'supcon.json';
/** The model file of an export. */
export const ENCODER_MODEL_FILE = 'model.json';

const SHARD = /^group\d+-shard\d+of\d+\.bin$/;
/** Whether `name` is a file an export writes (model.json, supcon.json, the weight shards). */
export function isEncoderExportFile(name: string): boolean {
  return name === ENCODER_MODEL_FILE || name === ENCODER_METADATA_FILE || SHARD.test(name);
}

/** supcon.json. */
export interface EncoderMetadata {
  format: typeof ENCODER_FORMAT;
  version: number;
  /** One image, `[height, width, channels]`; the model takes `[n, ...inputShape]`. */
  inputShape: number[];
  /** The width of the model's output `[n, featureDim]`. */
  featureDim: number;
  /** How pixels become the model's input: `uint8 / 255 → [0, 1]` (float32). */
  normalization: typeof ENCODER_NORMALIZATION;
  /** Class names of the training data, by label. */
  classes: string[];
  /** The training procedure: 'supcon', 'simclr' or 'ce'. */
  stage: Stage;
  /** true: encoder + projection head (or, for 'ce', + the classifier); false: the encoder alone. */
  withHead: boolean;
  /** What the output is: encoder `features`, the head's `projection` (L2-normalised for the built-in heads), or the classifier's `logits`. */
  output: 'features' | 'projection' | 'logits';
  /** The run's resolved config (its config.json). */
  config: Record<string, unknown>;
  /** The checkpoint the weights come from, as a path in the run (`checkpoints/epoch-0010`). */
  checkpoint: string;
  /** Epochs the checkpoint had completed. */
  epochs?: number;
  /** The export's self-check: test images run through the run's model and the exported one, and the largest |difference| of their outputs. */
  verified: { images: number; maxAbsDifference: number };
  /** ISO time of the export. */
  createdAt: string;
}

export interface ExportEncoderOptions extends Pick<TrainOptions, 'plugins' | 'defaults' | 'startBackend' | 'backendOptions' | 'logger'> {
  /** Export encoder + projection head (for cross-entropy runs: + the classifier, whose output is logits). Default: the encoder alone. */
  withHead?: boolean;
  /** The checkpoint: a name (`epoch-0003`) or a path in the run (`checkpoints/epoch-0003`); default the run's latest. */
  checkpoint?: string;
  /** The run's config, when the models must be built from another one (e.g. one with the plugins it used); default the run's own. */
  config?: ConfigSource;
  /** Replace an earlier export in the out folder, removing only the files an export writes; default `false` (the folder must be missing or empty). */
  overwrite?: boolean;
  /** Largest weight shard in bytes (default 4 MiB, as the tfjs converter writes). */
  shardBytes?: number;
}

/** What an export wrote. */
export interface ExportEncoderResult {
  /** Where: the folder (Node, absolute) or the storage's location of it. */
  out: string;
  /** The file names, in the order written (supcon.json last). */
  files: string[];
  metadata: EncoderMetadata;
}

/** One file of an export. */
export interface EncoderFile {
  name: string;
  data: Uint8Array | string;
}

/** How a platform reads config files (Node) or refuses them (browsers). */
export interface ExportPlatform {
  loadConfig(config: ConfigSource): Promise<{ raw: Record<string, unknown>; source?: string }>;
}

const quiet: Logger = { info: () => undefined, warn: () => undefined };

/**
 * A view of `storage` that reads through and writes nowhere: the export must leave the run as it
 * was. Checkpoints read through it hide their optimizer state: only the models are wanted, and
 * the runner's `evaluate` would read the optimizer's variables into tensors that nobody disposes.
 */
function readOnly(storage: RunStorage): RunStorage {
  return {
    location: storage.location,
    describe: (p) => storage.describe(p),
    kind: (p) => storage.kind(p),
    list: (p) => storage.list(p),
    async read(p) {
      const bytes = await storage.read(p);
      if (bytes === undefined || !/(^|\/)checkpoint\.json$/.test(p)) return bytes;
      const meta = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      return new TextEncoder().encode(JSON.stringify({ ...meta, optimizer: null }));
    },
    size: (p) => storage.size(p),
    write: async () => undefined,
    append: async () => undefined,
    truncate: async () => undefined,
    writeFolder: async () => undefined,
    makeFolder: async () => undefined,
    remove: async () => undefined,
  };
}

/** The config a run was trained with, as `evaluate()` finds it: its file (source.json) while it exists, else config.json (built-in plugins only). */
async function runConfig(platform: ExportPlatform, storage: RunStorage, plugins: readonly Plugin[]): Promise<{ raw: Record<string, unknown>; source?: string }> {
  const sourceText = await readText(storage, RUN_FILE.source);
  const configFile = sourceText ? (JSON.parse(sourceText) as { configFile?: string }).configFile : undefined;
  if (configFile) {
    try {
      return await platform.loadConfig(configFile);
    } catch {
      // Gone or unreadable: fall back to config.json.
    }
  }
  const text = await readText(storage, RUN_FILE.config);
  if (text === undefined) throw new Error(`exportEncoder: ${storage.describe(RUN_FILE.config)} is missing: ${storage.location} is not a run folder`);
  const raw = JSON.parse(text) as Record<string, unknown>;
  const known = new Set(plugins.map((p) => p.name));
  const missing = ((raw.plugins ?? []) as { name: string }[]).filter((p) => !known.has(p.name));
  if (missing.length) throw new Error(`exportEncoder: ${storage.location}: its config used plugins ${missing.map((p) => p.name).join(', ')}, and the config file is gone: pass the config (options.config) and its plugins`);
  delete raw.plugins;
  return { raw };
}

/** `epoch-0003` -> `checkpoints/epoch-0003`; a path is kept. */
function checkpointPath(checkpoint: string): string {
  const trimmed = checkpoint.replace(/\/+$/, '');
  return trimmed.includes('/') ? trimmed : `${RUN_FILE.checkpoints}/${trimmed}`;
}

async function startBackend(config: ResolvedConfig, options: ExportEncoderOptions): Promise<void> {
  if (options.startBackend === false) return;
  if (options.startBackend) {
    await options.startBackend(config.backend, config.threads);
    return;
  }
  // The thread count changes no bit of the features; whatever the backend runs is fine.
  await initBackend(config.backend, { ...(options.backendOptions ?? {}) });
}

/** The run's models, rebuilt and loaded as `evaluate()` does. */
interface Rebuilt {
  stage: Stage;
  encoder: tfl.LayersModel;
  /** input -> encoder -> head (or classifier). */
  model: tfl.LayersModel;
  parts: RunParts;
  checkpoint: string;
  epochs?: number;
  config: Record<string, unknown>;
  /** Tensors allocated once the backend had started, before the models were built. */
  tensorsBefore: number;
}

async function rebuild(platform: ExportPlatform, storage: RunStorage, options: ExportEncoderOptions): Promise<Rebuilt> {
  const checkpoint = options.checkpoint ? checkpointPath(options.checkpoint) : await latestCheckpointIn(storage);
  if (!checkpoint) {
    const what = (await storage.kind('')) === 'missing' ? 'does not exist' : 'holds no checkpoint';
    throw new Error(`exportEncoder: ${storage.location} ${what}: train first, then export the run`);
  }
  if ((await storage.kind(checkpoint)) !== 'folder' && (await storage.kind(`${checkpoint}/checkpoint.json`)) !== 'file') {
    const names = await storage.list(RUN_FILE.checkpoints);
    throw new Error(`exportEncoder: no checkpoint ${storage.describe(checkpoint)}${names.length ? ` (the run has ${names.join(', ')})` : ''}`);
  }
  const plugins = options.plugins ?? builtinPlugins;
  const loaded = options.config !== undefined ? await platform.loadConfig(options.config) : await runConfig(platform, storage, plugins);
  const registry = createRegistry(plugins);
  const config = resolveConfig(loaded.raw, registry, { defaults: options.defaults ?? builtinDefaults, source: loaded.source });
  const configText = await readText(storage, RUN_FILE.config);
  const recorded = configText !== undefined ? (JSON.parse(configText) as Record<string, unknown>) : serializableConfig(config);
  // Only the models matter: no evaluators, no hooks (they might write files or log).
  config.eval = [];
  config.hooks = [];
  await startBackend(config, options);
  const tensorsBefore = tf.memory().numTensors;
  const procedure = createProcedure({ monitor: false });
  let parts: RunParts | undefined;
  const task: RunnerTask = {
    setup(p, context) {
      parts = p;
      return procedure.setup(p, context);
    },
    step() {
      throw new Error('exportEncoder: nothing is trained');
    },
    checkpoint: () => procedure.checkpoint(),
    evaluate: () => ({}),
  };
  const runner = createRunner(config, { registry, task, storage: readOnly(storage), logger: options.logger ?? quiet });
  const summary = await runner.evaluate(checkpoint);
  const model = (await procedure.checkpoint()).model;
  if (!parts || !model) throw new Error('exportEncoder: the procedure built no model');
  return { stage: procedure.stage, encoder: parts.backbone!, model, parts, checkpoint, epochs: summary.epochs, config: recorded, tensorsBefore };
}

interface Artifacts {
  topology: { class_name: string; config: Record<string, unknown> };
  specs: tf.io.WeightsManifestEntry[];
  data: Uint8Array;
  generatedBy?: string;
}

async function artifactsOf(model: tfl.LayersModel): Promise<Artifacts> {
  let result: Artifacts | undefined;
  await model.save({
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const data = artifacts.weightData === undefined ? new Uint8Array(0) : new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      result = {
        topology: JSON.parse(JSON.stringify(artifacts.modelTopology)) as Artifacts['topology'],
        specs: [...(artifacts.weightSpecs ?? [])],
        data: new Uint8Array(data),
        generatedBy: artifacts.generatedBy,
      };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  });
  return result!;
}

const zeros = { class_name: 'Zeros', config: {} };
const ones = { class_name: 'Ones', config: {} };

interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[][];
}

/** Every layer of a model (nested models' layers too), by name. */
function layersByName(model: tfl.LayersModel, into = new Map<string, tfl.layers.Layer>()): Map<string, tfl.layers.Layer> {
  for (const layer of model.layers) {
    into.set(layer.name, layer);
    if (layer instanceof tfl.LayersModel) layersByName(layer, into);
  }
  return into;
}

function inputWidth(layer: tfl.layers.Layer | undefined, name: string): number {
  const shape = layer?.inboundNodes[0]?.inputShapes;
  const single = (Array.isArray(shape?.[0]) ? shape[0] : shape) as (number | null)[] | undefined;
  const d = single?.[single.length - 1];
  if (single?.length !== 2 || typeof d !== 'number') {
    throw new Error(`exportEncoder: layer '${name}' (SupconL2Normalize) has input shape ${JSON.stringify(single)}; only [batch, dim] inputs can be rewritten as standard layers`);
  }
  return d;
}

/**
 * Rewrites supcon's layers in a saved topology (in place, nested models included) as standard
 * tfjs-layers layers that compute the same function; returns the weights the new layers need.
 */
function standardize(topology: LayerJson, live: Map<string, tfl.layers.Layer>): { name: string; shape: number[]; values: Float32Array }[] {
  const added: { name: string; shape: number[]; values: Float32Array }[] = [];
  const visit = (model: LayerJson): void => {
    const layers = model.config.layers as LayerJson[] | undefined;
    if (!Array.isArray(layers)) return;
    const out: LayerJson[] = [];
    for (const layer of layers) {
      const name = (layer.config.name ?? layer.name) as string;
      if (Array.isArray(layer.config.layers)) visit(layer);
      if (layer.class_name === 'SupconBatchNorm') {
        // The same inference computation: tf.batchNorm(x, moving_mean, moving_variance, beta, gamma, epsilon); the same weight names.
        const c = layer.config;
        layer.class_name = 'BatchNormalization';
        layer.config = {
          axis: -1,
          momentum: c.momentum,
          epsilon: c.epsilon,
          center: c.center,
          scale: c.scale,
          beta_initializer: zeros,
          gamma_initializer: c.gamma_initializer === 'zeros' ? zeros : ones,
          moving_mean_initializer: zeros,
          moving_variance_initializer: ones,
          beta_regularizer: null,
          gamma_regularizer: null,
          beta_constraint: null,
          gamma_constraint: null,
          name,
          trainable: c.trainable ?? true,
          ...(c.batch_input_shape ? { batch_input_shape: c.batch_input_shape } : {}),
          ...(c.dtype ? { dtype: c.dtype } : {}),
        };
        out.push(layer);
      } else if (layer.class_name === 'SupconL2Normalize') {
        // x / ||x|| as standard layers: Dot(normalize: true) L2-normalises both inputs, and
        // dotting with an identity matrix returns the normalised x exactly. The identity is a
        // constant: the bias of a Dense layer fed zeros (from a zero Dense layer of x).
        if (!Array.isArray(layer.inbound_nodes)) {
          throw new Error(`exportEncoder: layer '${name}' (SupconL2Normalize) sits in a Sequential model; only functional models can be rewritten as standard layers`);
        }
        const d = inputWidth(live.get(name), name);
        const zero = `${name}_zero`;
        const eye = `${name}_eye`;
        const reshape = `${name}_eye_reshape`;
        const nodes = layer.inbound_nodes as unknown[][];
        const dense = (n: string, units: number, useBias: boolean, inbound: unknown[][]): LayerJson => ({
          name: n,
          class_name: 'Dense',
          config: {
            units,
            activation: 'linear',
            use_bias: useBias,
            kernel_initializer: zeros,
            bias_initializer: zeros,
            kernel_regularizer: null,
            bias_regularizer: null,
            activity_regularizer: null,
            kernel_constraint: null,
            bias_constraint: null,
            name: n,
            trainable: false,
          },
          inbound_nodes: inbound,
        });
        out.push(dense(zero, 1, false, nodes));
        out.push(dense(eye, d * d, true, nodes.map((_, k) => [[zero, k, 0, {}]])));
        out.push({ name: reshape, class_name: 'Reshape', config: { target_shape: [d, d], name: reshape, trainable: false }, inbound_nodes: nodes.map((_, k) => [[eye, k, 0, {}]]) });
        out.push({
          name,
          class_name: 'Dot',
          config: { axes: [1, 1], normalize: true, name, trainable: false },
          inbound_nodes: nodes.map((node, k) => [(node as unknown[])[0], [reshape, k, 0, {}]]),
        });
        const identity = new Float32Array(d * d);
        for (let i = 0; i < d; i++) identity[i * d + i] = 1;
        added.push({ name: `${zero}/kernel`, shape: [d, 1], values: new Float32Array(d) });
        added.push({ name: `${eye}/kernel`, shape: [1, d * d], values: new Float32Array(d * d) });
        added.push({ name: `${eye}/bias`, shape: [d * d], values: identity });
      } else if (/^Supcon/.test(layer.class_name)) {
        throw new Error(`exportEncoder: layer '${name}' is a ${layer.class_name}, which has no standard tfjs-layers equivalent here`);
      } else {
        out.push(layer);
      }
    }
    model.config.layers = out;
  };
  visit(topology);
  return added;
}

/** A model from artifacts in memory. */
function fromArtifacts(topology: unknown, specs: tf.io.WeightsManifestEntry[], data: Uint8Array): Promise<tfl.LayersModel> {
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel({ load: async () => ({ modelTopology: topology as tf.io.ModelJSON['modelTopology'], weightSpecs: specs, weightData, format: 'layers-model' }) });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * The files of an export of the run in `storage` (model.json, the weight shards, supcon.json, in
 * the order to write them), built as the module comment says; writes nothing.
 */
export async function encoderExportFiles(platform: ExportPlatform, storage: RunStorage, options: ExportEncoderOptions = {}): Promise<{ files: EncoderFile[]; metadata: EncoderMetadata }> {
  const rebuilt = await rebuild(platform, storage, options);
  const { stage, parts } = rebuilt;
  const withHead = options.withHead === true;
  const exported = withHead ? rebuilt.model : rebuilt.encoder;
  let standard: tfl.LayersModel | undefined;
  try {
    const artifacts = await artifactsOf(exported);
    const added = standardize(artifacts.topology as LayerJson, layersByName(exported));
    const specs: tf.io.WeightsManifestEntry[] = [...artifacts.specs, ...added.map(({ name, shape }) => ({ name, shape, dtype: 'float32' as const }))];
    const data = concat([artifacts.data, ...added.map(({ values }) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength))]);

    // The self-check: the standard model gives the run's outputs on a few test images.
    standard = await fromArtifacts(artifacts.topology, specs, data);
    const probe = Int32Array.from({ length: Math.min(8, parts.test.size) }, (_, i) => i);
    const [maxAbsDifference, scale] =
      probe.length === 0
        ? [0, 1]
        : tf.tidy(() => {
            const { images, labels } = batchToTensor(parts.test, probe);
            labels.dispose();
            const a = exported.apply(images, { training: false }) as tf.Tensor;
            const b = standard!.apply(images, { training: false }) as tf.Tensor;
            const read = tf.stack([tf.max(tf.abs(tf.sub(a, b))), tf.max(tf.abs(a))]).dataSync();
            return [read[0], Math.max(1, read[1])];
          });
    if (!(maxAbsDifference <= 1e-5 * scale)) {
      throw new Error(`exportEncoder: the exported model's outputs differ from the run's by up to ${maxAbsDifference} on ${probe.length} test images; not exporting`);
    }

    const outShape = exported.outputs[0].shape;
    const featureDim = outShape[outShape.length - 1];
    const metadata: EncoderMetadata = {
      format: ENCODER_FORMAT,
      version: ENCODER_FORMAT_VERSION,
      inputShape: [...parts.train.shape],
      featureDim: featureDim as number,
      normalization: ENCODER_NORMALIZATION,
      classes: [...parts.train.classes],
      stage,
      withHead,
      output: !withHead ? 'features' : stage === 'ce' ? 'logits' : 'projection',
      config: rebuilt.config,
      checkpoint: rebuilt.checkpoint,
      ...(rebuilt.epochs !== undefined ? { epochs: rebuilt.epochs } : {}),
      verified: { images: probe.length, maxAbsDifference },
      createdAt: new Date().toISOString(),
    };

    const shardBytes = options.shardBytes ?? 4 * 1024 * 1024;
    if (!(Number.isInteger(shardBytes) && shardBytes > 0)) throw new RangeError(`exportEncoder: shardBytes must be a positive integer, got ${shardBytes}`);
    const count = Math.max(1, Math.ceil(data.byteLength / shardBytes));
    const shards: EncoderFile[] = Array.from({ length: count }, (_, i) => ({ name: `group1-shard${i + 1}of${count}.bin`, data: data.slice(i * shardBytes, Math.min(data.byteLength, (i + 1) * shardBytes)) }));
    const modelJson = {
      format: 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
      convertedBy: 'supcon export',
      modelTopology: artifacts.topology,
      weightsManifest: [{ paths: shards.map((s) => s.name), weights: specs }],
    };
    const files: EncoderFile[] = [...shards, { name: ENCODER_MODEL_FILE, data: JSON.stringify(modelJson) }, { name: ENCODER_METADATA_FILE, data: `${JSON.stringify(metadata, null, 2)}\n` }];
    return { files, metadata };
  } finally {
    standard?.dispose();
    disposeModels(rebuilt);
    const leaked = tf.memory().numTensors - rebuilt.tensorsBefore;
    if (leaked > 0) (options.logger ?? quiet).warn(`exportEncoder: ${leaked} tensors left allocated`);
  }
}

function disposeModels(rebuilt: Rebuilt): void {
  for (const m of [rebuilt.model, rebuilt.encoder, rebuilt.stage === 'ce' ? undefined : rebuilt.parts.head]) {
    try {
      m?.dispose();
    } catch {
      // Already disposed with the model that holds it.
    }
  }
}

/** The checked metadata of an export (`where` names supcon.json in errors). */
export function checkEncoderMetadata(json: unknown, where: string): EncoderMetadata {
  const m = json as Partial<EncoderMetadata> | null;
  if (!m || typeof m !== 'object' || m.format !== ENCODER_FORMAT) {
    throw new Error(`loadEncoder: ${where} is not a supcon encoder's metadata (format ${JSON.stringify(m?.format)}, expected '${ENCODER_FORMAT}')`);
  }
  if (typeof m.version !== 'number' || !Number.isInteger(m.version) || m.version < 1 || m.version > ENCODER_FORMAT_VERSION) {
    throw new Error(`loadEncoder: ${where} has version ${JSON.stringify(m.version)}; this @supcon/train reads versions 1 to ${ENCODER_FORMAT_VERSION} (a newer one needs a newer @supcon/train)`);
  }
  if (!Array.isArray(m.inputShape) || m.inputShape.length !== 3 || !m.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`loadEncoder: ${where}: inputShape must be [height, width, channels], got ${JSON.stringify(m.inputShape)}`);
  }
  if (m.normalization !== ENCODER_NORMALIZATION) {
    throw new Error(`loadEncoder: ${where}: unknown normalization ${JSON.stringify(m.normalization)} (this @supcon/train knows '${ENCODER_NORMALIZATION}')`);
  }
  return m as EncoderMetadata;
}

/** What `loadEncoder` returns. */
export interface LoadedEncoder {
  /** The tfjs-layers model: `[n, ...inputShape]` float32 in [0, 1] -> `[n, featureDim]`. */
  model: tfl.LayersModel;
  /** supcon.json. */
  metadata: EncoderMetadata;
  /**
   * Features `[n, featureDim]` of images `[n, h, w, c]` (or one `[h, w, c]`) in `metadata.inputShape`:
   * pixel values (an int32 tensor, e.g. `tf.browser.fromPixels`, or a `Uint8Array` /
   * `Uint8ClampedArray` of `n * h * w * c` bytes) are normalised as recorded (`uint8 / 255`); a
   * float32 tensor is taken as already normalised to [0, 1]. Runs the model in inference mode;
   * the caller disposes the result.
   */
  embed(images: tf.Tensor | Uint8Array | Uint8ClampedArray): tf.Tensor2D;
  /** Disposes the model's weights. */
  dispose(): void;
}

/** A `LoadedEncoder` around a loaded model and its checked metadata. */
export function wrapEncoder(model: tfl.LayersModel, metadata: EncoderMetadata, where: string): LoadedEncoder {
  const [h, w, c] = metadata.inputShape;
  const inShape = model.inputs[0].shape.slice(1);
  if (inShape.length !== 3 || inShape.some((d, i) => d !== null && d !== metadata.inputShape[i])) {
    throw new Error(`loadEncoder: ${where}: the model takes [${inShape.join(', ')}] images, its metadata says [${metadata.inputShape.join(', ')}]`);
  }
  const size = h * w * c;
  return {
    model,
    metadata,
    embed(images) {
      return tf.tidy(() => {
        let x: tf.Tensor;
        if (images instanceof Uint8Array || images instanceof Uint8ClampedArray) {
          if (images.length % size !== 0) throw new Error(`embed: ${images.length} bytes are not a whole number of ${h}x${w}x${c} images`);
          x = tf.div(tf.tensor4d(Float32Array.from(images), [images.length / size, h, w, c]), 255);
        } else {
          x = images.rank === 3 ? tf.expandDims(images, 0) : images;
          if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
            throw new Error(`embed: expected images [n, ${h}, ${w}, ${c}] (or one [${h}, ${w}, ${c}]), got [${images.shape.join(', ')}]`);
          }
          x = x.dtype === 'float32' ? x : tf.div(tf.cast(x, 'float32'), 255);
        }
        return model.apply(x, { training: false }) as tf.Tensor2D;
      });
    },
    dispose: () => model.dispose(),
  };
}

/** A tf.io handler over an export's files read by `read` (a path relative to the export -> bytes, undefined when missing). */
export function encoderModelHandler(read: (name: string) => Promise<Uint8Array | undefined>, describe: (name: string) => string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const text = await read(ENCODER_MODEL_FILE);
      if (text === undefined) throw new Error(`loadEncoder: ${describe(ENCODER_MODEL_FILE)} is missing`);
      const json = JSON.parse(new TextDecoder().decode(text)) as tf.io.ModelJSON;
      const buffers: Uint8Array[] = [];
      for (const p of json.weightsManifest.flatMap((g) => g.paths)) {
        const bytes = await read(p);
        if (bytes === undefined) throw new Error(`loadEncoder: ${describe(p)} is missing (named by ${describe(ENCODER_MODEL_FILE)})`);
        buffers.push(bytes);
      }
      const all = concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
      };
    },
  };
}

/** `loadEncoder` over files read by `read`: supcon.json checked first, then model.json and its shards. */
export async function loadEncoderFiles(read: (name: string) => Promise<Uint8Array | undefined>, describe: (name: string) => string): Promise<LoadedEncoder> {
  const where = describe(ENCODER_METADATA_FILE);
  const bytes = await read(ENCODER_METADATA_FILE);
  if (bytes === undefined) throw new Error(`loadEncoder: ${where} is missing: not a folder written by exportEncoder / supcon export`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`loadEncoder: ${where} is not valid JSON: ${(error as Error).message}`);
  }
  const metadata = checkEncoderMetadata(json, where);
  const model = await tfl.loadLayersModel(encoderModelHandler(read, describe));
  return wrapEncoder(model, metadata, describe(ENCODER_MODEL_FILE));
}

/**
 * Checks the folder an export goes to before anything is built: a folder (or missing), and
 * missing or empty unless `overwrite`. Returns the names in it.
 */
export async function checkEncoderOut(out: RunStorage, folder: string, overwrite: boolean): Promise<string[]> {
  if ((await out.kind(folder)) === 'file') throw new Error(`exportEncoder: ${out.describe(folder)} is a file; the export needs a folder`);
  const present = await out.list(folder);
  if (present.length && !overwrite) {
    throw new Error(
      `exportEncoder: ${out.describe(folder)} is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', ...' : ''}): choose an empty folder, or pass overwrite (--overwrite) to replace an earlier export there`,
    );
  }
  return present;
}

/** Writes an export into `out` (a storage), folder `folder` (default its root): it must be missing or empty unless `overwrite`. */
export async function writeEncoderFiles(out: RunStorage, folder: string, files: readonly EncoderFile[], overwrite: boolean): Promise<void> {
  const present = await checkEncoderOut(out, folder, overwrite);
  const others = present.filter((n) => !isEncoderExportFile(n));
  if (others.length === 0) {
    // Missing, empty or an earlier export: the folder is swapped in whole.
    await out.writeFolder(folder, files);
    return;
  }
  // Other files stay: each file replaced atomically (shards, then model.json, then supcon.json), then stale shards removed.
  const join = (name: string) => (folder === '' ? name : `${folder}/${name}`);
  for (const f of files) await out.write(join(f.name), f.data);
  const written = new Set(files.map((f) => f.name));
  for (const name of present) if (isEncoderExportFile(name) && !written.has(name)) await out.remove(join(name));
}
