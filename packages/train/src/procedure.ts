/**
 * The training procedures of `train()` (and so of `supcon train`), as a `RunnerTask` for
 * @supcon/core's runner, which builds every part and hands them to `setup`:
 *
 * - `supcon` / `simclr` (any loss whose input is embeddings: supcon-out, supcon-in, simclr,
 *   triplet, npair, ...): the encoder and projection head are trained on `train.views` augmented
 *   views of each image; afterwards the head is dropped and the evaluators (linear probe, kNN, ...)
 *   run on the frozen encoder's features.
 * - `ce` (a loss whose input is logits: cross-entropy): encoder + linear classifier trained end
 *   to end on one augmented view; the same evaluators then run on the frozen encoder, so both
 *   stages are compared on equal terms.
 *
 * Every random draw comes from the runner's named generators ('augment', and the part paths used
 * to build the models), which the runner checkpoints, so a resumed run ends where an
 * uninterrupted one does. (`train.memory.momentum`'s key model is built from forks of the
 * backbone's and head's generators, which move neither, and then takes the trained model's weights.)
 */
import { RUN_FILE } from '@supcon/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SupconConfigError, applySchedule } from '@supcon/core';
import type {
  AugmentationPart,
  EvalInput,
  EvalResult,
  EvaluatorPart,
  ImageDataset,
  LossPart,
  OptimizerPart,
  RunParts,
  RunStorage,
  RunnerContext,
  RunnerTask,
  SchedulePart,
  StepResult,
  TaskStepInfo,
} from '@supcon/core';
import { batchToTensor, isMultiLabel, multiHotRows } from '@supcon/data';
import { evaluateKnn } from '@supcon/eval';
import { pca2d } from './pca';
import { assertTrainable, configIssues } from './preflight';
import type { StepProfile } from './profile';
import { MemoryBank } from './memory-bank';
import type { MemoryBankState } from './memory-bank';
import { KeyEncoder } from './key-encoder';
import type { KeyEncoderState } from './key-encoder';

export type Stage = 'supcon' | 'simclr' | 'ce';

/** Which procedure a loss calls for. */
export function stageOf(loss: Pick<LossPart, 'input' | 'supervised'>): Stage {
  if (loss.input === 'logits') return 'ce';
  return loss.supervised ? 'supcon' : 'simclr';
}

/** Encoder features `[n, dim]` of a whole split, computed in batches with the model in inference mode. */
export function encodeDataset(encoder: tfl.LayersModel, dataset: ImageDataset, batchSize = 256): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < dataset.size; start += batchSize) {
    const indices = Int32Array.from({ length: Math.min(batchSize, dataset.size - start) }, (_, i) => start + i);
    parts.push(
      tf.tidy(() => {
        const { images, labels } = batchToTensor(dataset, indices);
        labels.dispose();
        return encoder.apply(images, { training: false }) as tf.Tensor2D;
      }),
    );
  }
  const all = tf.concat(parts, 0);
  tf.dispose(parts);
  return all;
}

export interface ProcedureOptions {
  /** Name of the tfjs backend in use, for summary.json (default `tf.getBackend()`). */
  backend?: string;
  /** wasm threads in use, for summary.json. */
  threads?: number;
  /**
   * After every epoch, a cheap accuracy for the report's curve: @supcon/eval's weighted 20-NN
   * (`evaluateKnn`) of up to 500 test images against up to 2000 training images on the frozen
   * features (default on).
   */
  monitor?: boolean;
  /** Test images in the report's embedding map (default 2000). */
  mapPoints?: number;
  /**
   * Collect milliseconds per phase of the training loop into this profile (default none: no
   * timers run). Its `io` phase counts what goes through `profiledStorage(storage, profile)`.
   */
  profile?: StepProfile;
}

export interface Procedure extends RunnerTask {
  /** The stage, once `setup` has seen the loss. */
  readonly stage: Stage;
}

/** The `RunnerTask` that `train()` runs; see the module comment for the stages. */
export function createProcedure(options: ProcedureOptions = {}): Procedure {
  let stage: Stage = 'supcon';
  let train!: ImageDataset;
  let test!: ImageDataset;
  let loss!: LossPart;
  let augment!: AugmentationPart;
  let optimizer!: OptimizerPart;
  let schedule: SchedulePart | undefined;
  let encoder!: tfl.LayersModel;
  let model!: tfl.LayersModel;
  let variables: tf.Variable[] = [];
  let evaluators: EvaluatorPart[] = [];
  let views = 2;
  /** The loss takes multi-hot labels (`loss.multiLabel`): the batch's and the bank's. */
  let multiLabel = false;
  let imagesSeen = 0;
  let trainSeconds = 0;
  let learningRate = 0;
  /** `train.memory`'s bank (contrastive stages with a size > 0). */
  let bank: MemoryBank | undefined;
  /**
   * `train.memory.momentum`'s key encoder, whose projections fill the bank. Built on first use (the
   * first step, or `restore`), so that evaluating or exporting a run builds no second model, and
   * disposed by `evaluate` (training is over) or by the next `setup`.
   */
  let key: KeyEncoder | undefined;
  let buildKey: (() => Promise<KeyEncoder>) | undefined;
  const profile = options.profile;
  const ensureKey = async (): Promise<KeyEncoder | undefined> => {
    if (!key && buildKey) key = await buildKey();
    return key;
  };

  const task: Procedure = {
    get stage() {
      return stage;
    },

    setup(parts: RunParts, context: RunnerContext) {
      const { config } = context;
      key?.dispose();
      key = undefined;
      buildKey = undefined;
      const missing = configIssues(config);
      if (missing.length) throw new SupconConfigError(missing);
      const required = { backbone: parts.backbone, augment: parts.augment, optimizer: parts.optimizer } as const;
      for (const [slot, part] of Object.entries(required)) {
        if (!part) throw new SupconConfigError([{ path: slot, message: 'required (train() fills a default for every part but data and loss)' }]);
      }
      ({ train, test } = parts);
      loss = parts.loss!;
      stage = stageOf(loss);
      // Refuse a run that cannot train (no steps, no positives, too few classes) before it starts.
      assertTrainable({ config, labels: train.labels, loss, sampler: parts.sampler });
      views = stage === 'ce' ? 1 : config.train.views;
      if (stage !== 'ce' && views < 1) throw new Error(`train.views: expected at least 1 view, got ${views}`);
      const numClasses = train.classes.length;
      multiLabel = stage !== 'ce' && loss.multiLabel === true;
      const setsOfMany = isMultiLabel(train) ? countMultiLabelled(train) : 0;
      if (multiLabel && setsOfMany === 0)
        context.logger.warn('loss.multiLabel: every training image has one label, so the loss is the single-label one (one-hot rows)');
      else if (!multiLabel && setsOfMany > 0)
        context.logger.warn(
          `data: ${setsOfMany} of ${train.size} training images have several labels, but the loss uses each image's first label` +
            (stage === 'supcon' ? " (set loss.multiLabel: 'any' or 'jaccard' to use them all)" : ''),
        );
      encoder = parts.backbone!;
      const featureDim = encoder.outputs[0].shape[encoder.outputs[0].shape.length - 1];
      if (typeof featureDim !== 'number') throw new Error(`backbone: the encoder's output must be [batch, dim], got ${JSON.stringify(encoder.outputs[0].shape)}`);
      const input = tfl.input({ shape: train.shape });
      const features = encoder.apply(input) as tfl.SymbolicTensor;
      if (stage === 'ce') {
        // The runner builds the config's head (train()'s defaults name one); end to end it is unused.
        parts.head?.dispose();
        const seed = context.rng('classifier').uint32();
        const classifier = tfl.layers.dense({ units: numClasses, name: 'classifier', kernelInitializer: tfl.initializers.glorotUniform({ seed }) });
        model = tfl.model({ inputs: input, outputs: classifier.apply(features) as tfl.SymbolicTensor, name: 'ce_model' });
      } else {
        if (!parts.head) throw new SupconConfigError([{ path: 'head', message: 'required: contrastive stages need a projection head' }]);
        model = tfl.model({ inputs: input, outputs: parts.head.apply(features) as tfl.SymbolicTensor, name: 'contrastive_model' });
      }
      variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const memorySize = config.train.memory?.size ?? 0;
      bank = undefined;
      if (memorySize > 0 && stage !== 'ce') {
        const projectionDim = model.outputs[0].shape[model.outputs[0].shape.length - 1];
        if (typeof projectionDim !== 'number') throw new Error(`head: the projection must be [batch, dim], got ${JSON.stringify(model.outputs[0].shape)}`);
        bank = new MemoryBank(memorySize, projectionDim, multiLabel ? numClasses : undefined);
        const momentum = config.train.memory?.momentum;
        if (momentum !== undefined) {
          if (!config.backbone || !config.head) throw new SupconConfigError([{ path: 'train.memory.momentum', message: 'a key encoder is built from the config\'s backbone and head: name both' }]);
          const { backbone, head } = config;
          const query = model;
          const shared = { batchSize: config.train.batchSize, logger: context.logger, numClasses };
          // Throwaway generators: forks read only their parent's seed, so no stream of the run moves
          // (the query model's initial weights and every later draw are those of the plain run).
          const rng = (path: string) => context.rng(path).fork('train.memory.momentum');
          buildKey = async () => {
            const keyEncoder = await context.registry.build('backbone', backbone, { ...shared, rng: rng('backbone'), inputShape: train.shape }, 'backbone');
            const keyHead = await context.registry.build('head', head, { ...shared, rng: rng('head'), inputShape: [featureDim] }, 'head');
            const keyInput = tfl.input({ shape: train.shape });
            const keyModel = tfl.model({ inputs: keyInput, outputs: keyHead.apply(keyEncoder.apply(keyInput)) as tfl.SymbolicTensor, name: 'contrastive_key_model' });
            return new KeyEncoder(keyModel, query, momentum);
          };
        }
      }
      augment = parts.augment!;
      optimizer = parts.optimizer!;
      schedule = parts.schedule;
      evaluators = parts.evaluators;
      context.logger.info(
        `${stage}: ${train.size} train / ${test.size} test images ${train.shape.join('x')}, ${numClasses} classes; ` +
          `encoder ${encoder.countParams().toLocaleString('en-US')} parameters, feature dim ${featureDim}`,
      );
    },

    step(batch: Int32Array, info: TaskStepInfo, context: RunnerContext): StepResult | Promise<StepResult> {
      // A fresh run's first step builds the key encoder: a copy of the initial weights.
      if (buildKey && !key) return ensureKey().then(() => task.step(batch, info, context));
      // The global step, never the step within the epoch: one path for every procedure.
      learningRate = applySchedule(optimizer, schedule, info);
      const started = performance.now();
      // Profiled steps only: timers around each phase, nothing else changes (no sync, the same ops).
      const p = profile?.stepStarted(batch.length, started) ? profile : undefined;
      const rng = context.rng('augment');
      // The bank's rows from earlier steps: contrast samples only, no gradient.
      const memory = bank?.tensors();
      let projections: tf.Tensor2D | undefined;
      // The batch's label sets (`loss.multiLabel`): the loss's `multiHot`, then the bank's rows.
      let sets: Uint8Array | undefined;
      let value: number;
      let gradNorm: number;
      try {
        [value, gradNorm] = tf.tidy(() => {
          let t = started;
          const { images, labels } = batchToTensor(train, batch);
          if (multiLabel) sets = multiHotRows(train, batch);
          const multiHot = sets ? tf.tensor2d(Float32Array.from(sets), [batch.length, train.classes.length]) : undefined;
          if (p) t = p.add('batching', t);
          // View-major: rows [v * b, (v + 1) * b) hold view v of every image.
          const augmented = Array.from({ length: views }, () => augment.apply(images, rng));
          const x = views === 1 ? augmented[0] : tf.concat(augmented, 0);
          if (p) t = p.add('augmentation', t);
          // Forward and loss are timed inside the gradient function; the rest of it is backward.
          let taped = 0;
          const { value: cost, grads } = tf.variableGrads(() => {
            const t0 = p ? performance.now() : 0;
            const out = model.apply(x, { training: true }) as tf.Tensor2D;
            // With a key encoder, the bank's rows are its projections of the same views, with its
            // weights from before this step's EMA; computed under this tape (so that tfjs runs the
            // same kernels as for `out`) but not differentiated: its variables are not in `variables`
            // and the loss does not use them.
            if (bank && key) projections = tf.keep(key.project(x));
            const t1 = p ? p.add('forward', t0) : 0;
            let result: tf.Scalar;
            if (stage === 'ce') result = loss.compute({ logits: out, labels });
            else {
              const dim = out.shape[1];
              const features = tf.transpose(tf.reshape(out, [views, batch.length, dim]), [1, 0, 2]) as tf.Tensor3D;
              result = loss.compute({ features, labels, ...(multiHot ? { multiHot } : {}), ...(memory ? { memory } : {}) });
              // The projections go into the bank after the update (the tape keeps `out` for backward);
              // with a key encoder, its projections go in instead (above).
              if (bank && !key) projections = tf.keep(tf.clone(out));
            }
            if (p) taped = p.add('loss', t1) - t0;
            return result;
          }, variables);
          if (p) {
            const t2 = performance.now();
            p.addMs('backward', t2 - t - taped);
            t = t2;
          }
          // The global gradient norm: a metric worth logging, and NaN or Infinity when any entry is.
          const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
          const read = tf.stack([tf.cast(cost, 'float32'), norm]).dataSync();
          // Non-finite: leave the weights as they were; the runner stops the run at this step.
          const finite = Number.isFinite(read[0]) && Number.isFinite(read[1]);
          if (finite) optimizer.optimizer.applyGradients(grads);
          if (p) t = p.add('optimizer', t);
          if (key) {
            // A step that is not kept leaves the key model as it was (its moving statistics too).
            key.settle(finite);
            // The EMA toward the updated query weights.
            if (finite) key.follow(variables);
            if (p) p.add('optimizer', t);
          }
          return [read[0], read[1]] as const;
        });
      } catch (error) {
        projections?.dispose();
        key?.settle(false);
        throw error;
      } finally {
        if (memory) tf.dispose([memory.features, memory.labels, ...(memory.multiHot ? [memory.multiHot] : [])]);
      }
      if (projections) {
        // View-major rows: view v of image i is row v * b + i, with image i's label.
        const rows = projections.dataSync() as Float32Array;
        projections.dispose();
        if (Number.isFinite(value) && Number.isFinite(gradNorm)) {
          const rowLabels = new Int32Array(views * batch.length);
          for (let v = 0; v < views; v++) for (let i = 0; i < batch.length; i++) rowLabels[v * batch.length + i] = train.labels[batch[i]!]!;
          bank!.push(rows, rowLabels, sets ? tileViews(sets, views) : undefined);
        }
      }
      trainSeconds += (performance.now() - started) / 1000;
      imagesSeen += batch.length;
      return { loss: value, gradNorm, lr: learningRate };
    },

    epochEnd() {
      const metrics: Record<string, number> = { lr: learningRate, imagesPerSecond: trainSeconds > 0 ? imagesSeen / trainSeconds : 0 };
      if (options.monitor !== false) {
        const t = profile ? performance.now() : 0;
        metrics.monitorKnnTop1 = monitorAccuracy(encoder, train, test, numClassesOf(train));
        profile?.add('monitor', t);
      }
      return metrics;
    },

    async evaluate(context: RunnerContext) {
      // Training is over: the last epoch's checkpoint is written.
      profile?.finish();
      key?.dispose();
      key = undefined;
      buildKey = undefined;
      const results: Record<string, EvalResult> = {};
      if (evaluators.length === 0) return results;
      const trainFeatures = encodeDataset(encoder, train);
      const testFeatures = encodeDataset(encoder, test);
      try {
        const input: EvalInput = {
          encoder,
          train,
          test,
          trainFeatures,
          testFeatures,
          preprocess: (images) => tf.div(tf.cast(images, 'float32'), 255) as tf.Tensor4D,
          rng: context.rng('eval'),
          logger: context.logger,
        };
        for (const evaluator of evaluators) {
          context.logger.info(`evaluating: ${evaluator.key}`);
          const before = tf.memory().numTensors;
          results[evaluator.key] = await evaluator.evaluate(input);
          const leaked = tf.memory().numTensors - before;
          if (leaked > 0) context.logger.warn(`evaluator ${evaluator.key} left ${leaked} tensors allocated`);
        }
        await writeEmbeddingMap(context.storage, testFeatures, test, options.mapPoints ?? 2000);
      } finally {
        tf.dispose([trainFeatures, testFeatures]);
      }
      return results;
    },

    checkpoint() {
      // The key encoder is there from the first step to `evaluate` (the runner checkpoints in between).
      const memory = bank ? { memory: bank.state(), ...(key ? { keyEncoder: key.state() } : {}) } : {};
      return { model, optimizer: optimizer.optimizer, state: { imagesSeen, trainSeconds, ...memory } };
    },

    async restore(state) {
      const s = (state ?? {}) as { imagesSeen?: number; trainSeconds?: number; memory?: MemoryBankState; keyEncoder?: KeyEncoderState };
      imagesSeen = s.imagesSeen ?? 0;
      trainSeconds = s.trainSeconds ?? 0;
      if (bank) {
        if (!s.memory) throw new Error('train.memory: the checkpoint holds no memory bank (the run was started without train.memory); resume it with its own config');
        bank.restore(s.memory);
      }
      if (buildKey) {
        if (!s.keyEncoder)
          throw new Error('train.memory.momentum: the checkpoint holds no key encoder weights (the run was started without train.memory.momentum); resume it with its own config');
        // Built from the restored query weights, then every key weight from the checkpoint.
        (await ensureKey())!.restore(s.keyEncoder);
      } else if (s.keyEncoder) {
        throw new Error('train.memory.momentum: the checkpoint holds a key encoder, the config asks for none (the run was started with train.memory.momentum); resume it with its own config');
      }
    },

    summary(base) {
      const results = base.eval;
      const trained = trainSeconds > 0;
      return {
        stage,
        backend: options.backend ?? tf.getBackend(),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        classes: train?.classes ?? [],
        trainSize: train?.size,
        testSize: test?.size,
        // Only a process that trained measures throughput (runner.evaluate keeps the run's).
        ...(trained ? { imagesPerSecond: imagesSeen / trainSeconds } : {}),
        encoderParameters: encoder?.countParams(),
        // Each evaluator's result also at the top level (`linearProbe.top1`), as reports read it.
        ...results,
        wallTimeSeconds: base.seconds,
      };
    },
  };
  return task;
}

/** Images with more than one label in a multi-label dataset. */
function countMultiLabelled(dataset: ImageDataset & { multiLabels: Uint8Array }): number {
  const C = dataset.classes.length;
  let n = 0;
  for (let i = 0; i < dataset.size; i++) {
    let k = 0;
    for (let c = 0; c < C; c++) k += dataset.multiLabels[i * C + c]!;
    if (k > 1) n++;
  }
  return n;
}

/** `views` copies of a batch's rows, one after another: view-major, as the bank's rows are. */
function tileViews(rows: Uint8Array, views: number): Uint8Array {
  const out = new Uint8Array(views * rows.length);
  for (let v = 0; v < views; v++) out.set(rows, v * rows.length);
  return out;
}

function numClassesOf(dataset: ImageDataset): number {
  return dataset.classes.length;
}

function evenlySpaced(size: number, n: number): Int32Array {
  const m = Math.min(size, n);
  return Int32Array.from({ length: m }, (_, i) => Math.floor((i * size) / m));
}

/** Top-1 of @supcon/eval's weighted 20-NN (test subset against a train subset) on the encoder's features. */
export function monitorAccuracy(encoder: tfl.LayersModel, train: ImageDataset, test: ImageDataset, numClasses: number): number {
  const trainIdx = evenlySpaced(train.size, 2000);
  const testIdx = evenlySpaced(test.size, 500);
  const encode = (ds: ImageDataset, idx: Int32Array) =>
    tf.tidy(() => {
      const { images, labels } = batchToTensor(ds, idx);
      labels.dispose();
      return encoder.apply(images, { training: false }) as tf.Tensor2D;
    });
  const a = encode(train, trainIdx);
  const b = encode(test, testIdx);
  try {
    const trainLabels = Array.from(trainIdx, (i) => train.labels[i]);
    const testLabels = Array.from(testIdx, (i) => test.labels[i]);
    return evaluateKnn(a, trainLabels, b, testLabels, { k: 20, numClasses }).top1;
  } finally {
    tf.dispose([a, b]);
  }
}

async function writeEmbeddingMap(storage: RunStorage, features: tf.Tensor2D, test: ImageDataset, maxPoints: number): Promise<void> {
  const total = features.shape[0];
  const n = Math.min(maxPoints, total);
  const d = features.shape[1];
  // Evenly spaced rows, so a split stored class by class still shows every class.
  const indices = Int32Array.from({ length: n }, (_, i) => Math.floor((i * total) / n));
  const rows = tf.tidy(() => tf.gather(features, tf.tensor1d(indices, 'int32')));
  const data = (await rows.data()) as Float32Array;
  tf.dispose(rows);
  const points = pca2d(data, n, d).map(([x, y]) => [Number(x.toFixed(5)), Number(y.toFixed(5))] as [number, number]);
  const labels = Array.from(indices, (i) => test.labels[i]);
  // Atomically: a full disk leaves no empty or torn map behind (the runner names the file and the last checkpoint).
  await storage.write(RUN_FILE.embeddingMap, JSON.stringify({ method: 'PCA', points, labels }));
}
