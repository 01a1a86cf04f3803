/**
 * The training behind the in-browser demo (docs/demo.md, TrainDemo.vue): @supcon/train's
 * `train()` through its browser entry, on the wasm backend (threads where the page is
 * cross-origin isolated) or, when chosen, WebGL or WebGPU where the browser has them; the
 * Fashion-MNIST sample fetched from the site, the run in memory.
 * Runner hooks report each step's loss and, every few steps, embed a fixed set of test images
 * with the encoder being trained for the 2-D map (PCA) and a 20-NN accuracy.
 *
 * Loaded by the page with a dynamic `import()` once it is in the browser: tfjs never runs in
 * VitePress's server-side rendering.
 */
import * as tf from '@tensorflow/tfjs-core';
import { memoryStorage } from '@supcon/core';
import type { ImageDataset, RunSummary, RunnerContext, RunnerHooks } from '@supcon/core';
import { wasmThreadsInUse } from '@supcon/backends';
import { batchToTensor } from '@supcon/data';
import { evaluateKnn } from '@supcon/eval';
import { pca2d, train } from '@supcon/train';

export type DemoLoss = 'supcon-out' | 'supcon-in' | 'simclr' | 'cross-entropy';
export type DemoBackend = 'wasm' | 'webgl' | 'webgpu';

export interface DemoSettings {
  loss: DemoLoss;
  backend: DemoBackend;
  /** For the contrastive losses (cross-entropy has none). */
  temperature: number;
  batchSize: number;
  epochs: number;
}

export interface DemoStart {
  classes: string[];
  stepsPerEpoch: number;
  totalSteps: number;
  backend: string;
  threads: number | undefined;
  isolated: boolean;
}

/** The map and the accuracy after `step` steps (0: before training). */
export interface DemoSnapshot {
  step: number;
  points: [number, number][];
  labels: number[];
  /** Weighted 20-NN top-1 of the map's test images against a fixed set of training images. */
  knnTop1: number;
}

export interface DemoEvents {
  started(info: DemoStart): void;
  step(step: number, loss: number): void;
  snapshot(snapshot: DemoSnapshot): void;
  log(line: string): void;
  /** Asked after every step: true ends the run (runDemo then rejects with DemoStopped). */
  shouldStop(): boolean;
}

export interface DemoAssets {
  /** Where tfjs-backend-wasm's .wasm files are served (a folder URL ending in /). */
  wasmPaths: string;
  /** Where the Fashion-MNIST sample's four .gz files are served (a folder URL ending in /). */
  dataUrl: string;
}

/** Thrown through the runner when the user stops a run. */
export class DemoStopped extends Error {
  constructor() {
    super('stopped');
    this.name = 'DemoStopped';
  }
}

/** Test images on the map, training images the kNN accuracy compares them with. */
export const MAP_POINTS = 300;
const KNN_TRAIN = 1000;
/** Steps between two maps. */
export const MAP_EVERY = 10;

// #region config
/**
 * The run: a small CNN on 2000 sample images, so that a few epochs take a minute or so. The
 * augmentation is SimCLR's made milder (crops of 60-100% of the image, flips, no colour jitter):
 * the default one is too strong for so small a model on 28x28 grey images, whose features then
 * separate the classes less after three epochs than at initialisation.
 */
export function demoConfig(settings: DemoSettings, dataUrl: string) {
  const { loss, backend, temperature, batchSize, epochs } = settings;
  return {
    seed: 0,
    backend, // 'wasm', or 'webgl' / 'webgpu' where the browser has them
    threads: 'auto', // wasm: several where the page is cross-origin isolated, else one
    data: { type: 'fashion-mnist', sample: true, trainSize: 2000, testSize: 500, url: dataUrl },
    loss: loss === 'cross-entropy' ? { type: loss } : { type: loss, temperature },
    backbone: { type: 'small-cnn', channels: [16, 32] },
    head: { type: 'mlp', dim: 32 },
    augment: { type: 'simclr', scale: [0.6, 1], colorJitter: false, grayscaleProbability: 0 },
    optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4 },
    train: { epochs, batchSize },
    eval: [{ type: 'knn', k: 20 }], // at the end: 20-NN of the 500 test images against the 2000
  };
}
// #endregion config

/** Yields to the browser so the page repaints between steps (a timer where frames are paused). */
function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 50);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The first `n` rows of a split (the sample's classes come mixed). */
function firstRows(dataset: ImageDataset, n: number): Int32Array {
  return Int32Array.from({ length: Math.min(n, dataset.size) }, (_, i) => i);
}

/** Encoder features of `rows` of `dataset`, in inference mode. */
function embed(context: RunnerContext, dataset: ImageDataset, rows: Int32Array): tf.Tensor2D {
  const encoder = context.parts.backbone!;
  return tf.tidy(() => {
    const { images, labels } = batchToTensor(dataset, rows);
    labels.dispose();
    return encoder.apply(images, { training: false }) as tf.Tensor2D;
  });
}

/** The map (PCA of the test images' features) and the 20-NN accuracy, now. */
async function snapshot(
  context: RunnerContext,
  step: number,
  testRows: Int32Array,
  trainRows: Int32Array,
): Promise<DemoSnapshot> {
  const { train: trainSplit, test } = context.parts;
  const testFeatures = embed(context, test, testRows);
  const trainFeatures = embed(context, trainSplit, trainRows);
  try {
    const labels = Array.from(testRows, (i) => test.labels[i]);
    const trainLabels = Array.from(trainRows, (i) => trainSplit.labels[i]);
    const { top1 } = evaluateKnn(trainFeatures, trainLabels, testFeatures, labels, {
      k: 20,
      numClasses: test.classes.length,
    });
    const [n, d] = testFeatures.shape;
    const points = pca2d((await testFeatures.data()) as Float32Array, n, d);
    return { step, points, labels, knnTop1: top1 };
  } finally {
    tf.dispose([testFeatures, trainFeatures]);
  }
}

/**
 * Whether each backend can run on this page: true, or why not. WebGL needs a context from a
 * canvas; WebGPU needs `navigator.gpu` and an adapter (initBackend checks the same and says so).
 */
export async function backendAvailability(): Promise<Record<DemoBackend, true | string>> {
  const canvas = document.createElement('canvas');
  const webgl = canvas.getContext('webgl2') ?? canvas.getContext('webgl') ? true : 'no WebGL context';
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  let webgpu: true | string = 'this browser has no WebGPU';
  if (gpu) {
    try {
      webgpu = (await gpu.requestAdapter()) ? true : 'no WebGPU adapter';
    } catch (e) {
      webgpu = `WebGPU failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return { wasm: true, webgl, webgpu };
}

/** The GPU backends' packages, imported when first chosen (each registers itself with tfjs). */
const GPU_PACKAGES: Record<Exclude<DemoBackend, 'wasm'>, () => Promise<unknown>> = {
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
};

/** Backends this page has started (wasm's thread count is fixed once it starts). */
const started = new Set<DemoBackend>();

/** Trains as `settings` say, telling `events` as it goes; resolves to the run's summary. */
export async function runDemo(
  settings: DemoSettings,
  events: DemoEvents,
  assets: DemoAssets,
): Promise<RunSummary> {
  let testRows: Int32Array = new Int32Array();
  let trainRows: Int32Array = new Int32Array();
  let totalSteps = 0;
  // #region hooks
  const hooks: RunnerHooks<RunnerContext>[] = [
    {
      async beforeRun(context) {
        started.add(settings.backend);
        const { train: trainSplit, test } = context.parts;
        testRows = firstRows(test, MAP_POINTS);
        trainRows = firstRows(trainSplit, KNN_TRAIN);
        const stepsPerEpoch = context.sampler.batchesPerEpoch(trainSplit.labels);
        const backend = tf.getBackend();
        totalSteps = stepsPerEpoch * context.config.train.epochs;
        events.started({
          classes: test.classes,
          stepsPerEpoch,
          totalSteps,
          backend,
          threads: backend === 'wasm' ? wasmThreadsInUse() : undefined,
          isolated: globalThis.crossOriginIsolated === true,
        });
        events.snapshot(await snapshot(context, 0, testRows, trainRows));
      },
      async afterStep(context, step) {
        const done = step.globalStep + 1;
        events.step(done, step.loss);
        if (done % MAP_EVERY === 0 || done === totalSteps)
          events.snapshot(await snapshot(context, done, testRows, trainRows));
        await nextFrame(); // let the page draw the step
        if (events.shouldStop()) throw new DemoStopped();
      },
    },
  ];
  // #region gpu
  // A GPU backend's package registers it with tfjs when imported; initBackend (inside train())
  // then checks the page has the GPU API and starts it.
  if (settings.backend !== 'wasm' && !started.has(settings.backend))
    await GPU_PACKAGES[settings.backend]();
  // #endregion gpu
  const { summary } = await train(demoConfig(settings, assets.dataUrl), {
    hooks,
    storage: memoryStorage('demo'),
    monitor: false, // the hooks measure kNN accuracy more often, on fewer images
    // Each backend starts once a page (wasm's thread count is fixed then); later runs switch to it.
    ...(started.has(settings.backend)
      ? {
          startBackend: async (name: string) => {
            await tf.setBackend(name);
            return name;
          },
        }
      : { backendOptions: { wasmPaths: assets.wasmPaths } }),
    logger: { info: (m) => events.log(m), warn: (m) => events.log(m) },
  });
  // #endregion hooks
  return summary;
}
