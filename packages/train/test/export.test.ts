/**
 * exportEncoder() / loadEncoder() in Node, on a tiny run trained here (the reference SupCon and
 * cross-entropy configs, wasm on one thread). The features of the exported encoder are compared
 * with those of an independent path: the checkpoint's model.json built from its own topology by
 * @supcon/core's `loadCheckpoint` (supcon's custom layers registered), its encoder taken by layer,
 * on the run's test images rebuilt from the data plugin. The export itself must load with plain
 * `tf.loadLayersModel` (no supcon layer left in model.json), leave the run as it was, refuse a
 * non-empty folder and, with `overwrite`, replace only its own files.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRegistry, createRng, disposeLoadedTensors, loadCheckpoint } from '@supcon/core';
import type { ImageDataset } from '@supcon/core';
import { registerBackboneLayers } from '@supcon/backbones';
import { FASHION_MNIST_CLASSES } from '@supcon/data';
import { ENCODER_FORMAT, builtinPlugins, exportEncoder, loadEncoder, train } from '../src';
import configsJson from './fixtures/reference-configs.json';

const configs = configsJson as Record<'supcon' | 'ce', Record<string, unknown>>;
const quiet = { info: () => undefined, warn: () => undefined };
const root = mkdtempSync(path.join(tmpdir(), 'supcon-export-'));
const tmp = (name: string) => path.join(root, name);

/** Every file under `dir` with its sha256: the run must be the same after an export. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** The run's test split, as its data plugin gives it (the runner's 'data' generator). */
async function testImages(config: Record<string, unknown>): Promise<ImageDataset> {
  const registry = createRegistry(builtinPlugins);
  const dataset = await registry.build('dataset', config.data as { type: string }, { rng: createRng(config.seed as number).fork('data'), logger: quiet, batchSize: 50 }, 'data');
  return dataset.load('test');
}

const pixels = (ds: ImageDataset) => tf.tensor4d(Int32Array.from(ds.images), [ds.size, ...ds.shape] as [number, number, number, number], 'int32');
/** The procedure's preprocessing, written out: bytes / 255 as float32. */
const scaled = (ds: ImageDataset) => tf.tensor4d(Float32Array.from(ds.images, (v) => v / 255), [ds.size, ...ds.shape] as [number, number, number, number]);

/** The checkpoint's models from its own model.json (not from the config): the whole model and its encoder, the first nested model. */
async function checkpointModels(dir: string): Promise<{ model: tfl.LayersModel; encoder: tfl.LayersModel }> {
  registerBackboneLayers();
  const loaded = await loadCheckpoint(dir);
  const model = loaded.model!;
  loaded.model = undefined;
  disposeLoadedTensors(loaded);
  const encoder = model.layers.find((l) => l instanceof tfl.LayersModel) as tfl.LayersModel;
  return { model, encoder };
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** A plain tf.io handler over an export's files: what any app does with files it has. */
function filesHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const bytes = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(path.join(dir, p))));
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      };
    },
  };
}

const classNames = (topology: unknown): string[] => {
  const names: string[] = [];
  const walk = (t: { class_name?: string; config?: { layers?: unknown[] } }) => {
    if (t.class_name) names.push(t.class_name);
    for (const l of t.config?.layers ?? []) walk(l as typeof t);
  };
  walk(topology as Parameters<typeof walk>[0]);
  return names;
};

describe('exportEncoder() and loadEncoder() in Node', () => {
  const runs: Record<'supcon' | 'ce', string> = { supcon: tmp('run-supcon'), ce: tmp('run-ce') };
  let test: ImageDataset;

  beforeAll(async () => {
    for (const name of ['supcon', 'ce'] as const) await train({ ...configs[name], out: runs[name] }, { logger: quiet });
    test = await testImages(configs.supcon);
  }, 300_000);

  it("writes model.json, one shard and supcon.json; loadEncoder's features of the run's test images equal the checkpoint's encoder to 1e-5; the run is left as it was", async () => {
    const before = snapshot(runs.supcon);
    const out = tmp('export-supcon');
    const tensors = tf.memory().numTensors;
    const result = await exportEncoder(runs.supcon, out, { logger: quiet });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(snapshot(runs.supcon)).toEqual(before);
    expect(result.out).toBe(out);
    expect(result.files).toEqual(['group1-shard1of1.bin', 'model.json', 'supcon.json']);
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'supcon.json']);

    const metadata = JSON.parse(readFileSync(path.join(out, 'supcon.json'), 'utf8'));
    expect(metadata).toEqual(result.metadata);
    expect(metadata).toMatchObject({
      format: 'supcon-encoder',
      version: 1,
      inputShape: [28, 28, 1],
      featureDim: 8,
      normalization: 'uint8 / 255 → [0, 1]',
      classes: [...FASHION_MNIST_CLASSES],
      stage: 'supcon',
      withHead: false,
      output: 'features',
      checkpoint: 'checkpoints/epoch-0002',
      epochs: 2,
      config: JSON.parse(readFileSync(path.join(runs.supcon, 'config.json'), 'utf8')),
    });
    expect(metadata.verified.images).toBe(8);
    expect(Number.isNaN(Date.parse(metadata.createdAt))).toBe(false);
    const modelJson = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(classNames(modelJson.modelTopology).filter((c) => c.startsWith('Supcon'))).toEqual([]);
    expect(classNames(modelJson.modelTopology)).toContain('BatchNormalization');

    const { model, encoder } = await checkpointModels(path.join(runs.supcon, 'checkpoints', 'epoch-0002'));
    const loaded = await loadEncoder(out);
    expect(loaded.metadata).toEqual(metadata);
    const x = scaled(test);
    const ints = pixels(test);
    const expected = encoder.predict(x) as tf.Tensor2D;
    const fromInts = loaded.embed(ints);
    const fromBytes = loaded.embed(Uint8Array.from(test.images));
    const fromFloats = loaded.embed(x);
    const fromOne = loaded.embed(tf.tidy(() => tf.squeeze(tf.slice(ints, [3, 0, 0, 0], [1, 28, 28, 1]), [0])));
    expect(fromInts.shape).toEqual([100, 8]);
    const diff = Math.max(maxAbs(fromInts, expected), maxAbs(fromBytes, expected), maxAbs(fromFloats, expected));
    console.log(`export round trip, supcon encoder: max |difference| of ${test.size}x8 features = ${diff}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    expect(maxAbs(fromOne, tf.slice(expected, [3, 0], [1, 8]))).toBeLessThanOrEqual(1e-5);
    // Not a trivial pass: the features vary across images.
    expect(tf.tidy(() => tf.max(tf.moments(expected, 0).variance).dataSync()[0])).toBeGreaterThan(1e-6);
    tf.dispose([x, ints, expected, fromInts, fromBytes, fromFloats, fromOne]);
    loaded.dispose();
    model.dispose();
  }, 120_000);

  it('model.json loads with plain tf.loadLayersModel over the files and gives the same features', async () => {
    const out = tmp('export-plain');
    await exportEncoder(runs.supcon, out, { logger: quiet });
    const plain = await tfl.loadLayersModel(filesHandler(out));
    const { model, encoder } = await checkpointModels(path.join(runs.supcon, 'checkpoints', 'epoch-0002'));
    const x = scaled(test);
    const a = plain.predict(x) as tf.Tensor;
    const b = encoder.predict(x) as tf.Tensor;
    const diff = maxAbs(a, b);
    console.log(`plain tf.loadLayersModel, supcon encoder: max |difference| = ${diff}`);
    expect(a.shape).toEqual([100, 8]);
    expect(diff).toBeLessThanOrEqual(1e-5);
    tf.dispose([x, a, b]);
    plain.dispose();
    model.dispose();
  }, 120_000);

  it("withHead: the output is the head's (16-d, unit norm) and equals the checkpoint's whole model to 1e-5", async () => {
    const out = tmp('export-head');
    const result = await exportEncoder(runs.supcon, out, { withHead: true, logger: quiet });
    expect(result.metadata).toMatchObject({ withHead: true, featureDim: 16, output: 'projection' });
    const loaded = await loadEncoder(out);
    const plain = await tfl.loadLayersModel(filesHandler(out));
    const { model } = await checkpointModels(path.join(runs.supcon, 'checkpoints', 'epoch-0002'));
    const x = scaled(test);
    const expected = model.predict(x) as tf.Tensor;
    const a = loaded.embed(pixels(test));
    const b = plain.predict(x) as tf.Tensor;
    expect(a.shape).toEqual([100, 16]);
    const diff = Math.max(maxAbs(a, expected), maxAbs(b, expected));
    console.log(`export round trip, supcon encoder + head: max |difference| = ${diff}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    const norms = tf.tidy(() => tf.norm(a, 'euclidean', 1).dataSync());
    for (const n of norms) expect(n).toBeCloseTo(1, 5);
    tf.dispose([x, expected, a, b]);
    loaded.dispose();
    plain.dispose();
    model.dispose();
  }, 120_000);

  it('a cross-entropy run: the encoder alone, and withHead the classifier logits [n, 10], each equal to the checkpoint to 1e-5', async () => {
    const { model, encoder } = await checkpointModels(path.join(runs.ce, 'checkpoints', 'epoch-0002'));
    const x = scaled(test);
    for (const withHead of [false, true]) {
      const out = tmp(`export-ce-${withHead}`);
      const { metadata } = await exportEncoder(runs.ce, out, { withHead, logger: quiet });
      expect(metadata).toMatchObject({ stage: 'ce', withHead, featureDim: withHead ? 10 : 8, output: withHead ? 'logits' : 'features' });
      const loaded = await loadEncoder(out);
      const a = loaded.embed(pixels(test));
      const b = (withHead ? model : encoder).predict(x) as tf.Tensor;
      const diff = maxAbs(a, b);
      console.log(`export round trip, cross-entropy ${withHead ? 'encoder + classifier' : 'encoder'}: max |difference| = ${diff}`);
      expect(diff).toBeLessThanOrEqual(1e-5);
      tf.dispose([a, b]);
      loaded.dispose();
    }
    x.dispose();
    model.dispose();
  }, 120_000);

  it('a checkpoint folder as the run, or the checkpoint option, exports that checkpoint', async () => {
    const { model, encoder } = await checkpointModels(path.join(runs.supcon, 'checkpoints', 'epoch-0001'));
    const x = scaled(test);
    const expected = encoder.predict(x) as tf.Tensor;
    for (const [run, options, out] of [
      [path.join(runs.supcon, 'checkpoints', 'epoch-0001'), {}, tmp('export-ckpt-a')],
      [runs.supcon, { checkpoint: 'epoch-0001' }, tmp('export-ckpt-b')],
    ] as const) {
      const { metadata } = await exportEncoder(run, out, { ...options, logger: quiet });
      expect(metadata.checkpoint).toBe('checkpoints/epoch-0001');
      expect(metadata.epochs).toBe(1);
      const loaded = await loadEncoder(out);
      const a = loaded.embed(x);
      expect(maxAbs(a, expected)).toBeLessThanOrEqual(1e-5);
      a.dispose();
      loaded.dispose();
    }
    await expect(exportEncoder(runs.supcon, tmp('export-ckpt-c'), { checkpoint: 'epoch-0009', logger: quiet })).rejects.toThrow(/no checkpoint .*epoch-0009 \(the run has epoch-0001, epoch-0002\)/);
    tf.dispose([x, expected]);
    model.dispose();
  }, 120_000);

  it('refuses a non-empty out folder before building anything; overwrite replaces only the files an export writes', async () => {
    const out = tmp('export-busy');
    mkdirSync(out);
    writeFileSync(path.join(out, 'notes.txt'), 'mine');
    await expect(exportEncoder(runs.supcon, out, { logger: quiet })).rejects.toThrow(`exportEncoder: ${out} is not empty (notes.txt)`);
    expect(readdirSync(out)).toEqual(['notes.txt']);
    await exportEncoder(runs.supcon, out, { overwrite: true, logger: quiet });
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'notes.txt', 'supcon.json']);
    expect(readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('mine');
    // A stale shard of an earlier, larger export goes; the user's file stays.
    writeFileSync(path.join(out, 'group1-shard2of2.bin'), 'old');
    await exportEncoder(runs.supcon, out, { overwrite: true, withHead: true, logger: quiet });
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'notes.txt', 'supcon.json']);
    expect(JSON.parse(readFileSync(path.join(out, 'supcon.json'), 'utf8')).withHead).toBe(true);
    // A folder holding only an export is swapped in whole; small shards split the weights.
    const only = tmp('export-only');
    await exportEncoder(runs.supcon, only, { logger: quiet });
    const { files } = await exportEncoder(runs.supcon, only, { overwrite: true, shardBytes: 1024, logger: quiet });
    expect(files.filter((f) => f.endsWith('.bin')).length).toBeGreaterThan(1);
    expect(readdirSync(only).sort()).toEqual([...files].sort());
    const loaded = await loadEncoder(only);
    const a = loaded.embed(scaled(test));
    expect(a.shape).toEqual([100, 8]);
    a.dispose();
    loaded.dispose();
    // A file is not a folder.
    const file = tmp('export-file');
    writeFileSync(file, 'x');
    await expect(exportEncoder(runs.supcon, file, { overwrite: true, logger: quiet })).rejects.toThrow('is a file');
    expect(readFileSync(file, 'utf8')).toBe('x');
  }, 120_000);

  it('exportEncoder names a run folder without a checkpoint; loadEncoder names the file it cannot use', async () => {
    await expect(exportEncoder(tmp('nothing'), tmp('export-none'), { logger: quiet })).rejects.toThrow(`exportEncoder: ${tmp('nothing')} does not exist`);
    expect(existsSync(tmp('export-none'))).toBe(false);

    const plain = tmp('not-an-export');
    mkdirSync(plain);
    writeFileSync(path.join(plain, 'model.json'), '{}');
    await expect(loadEncoder(plain)).rejects.toThrow(`loadEncoder: ${path.join(plain, 'supcon.json')} is missing`);
    await expect(loadEncoder(tmp('no-such-folder'))).rejects.toThrow(`loadEncoder: ${tmp('no-such-folder')} does not exist`);

    const out = tmp('export-meta');
    await exportEncoder(runs.supcon, out, { logger: quiet });
    const meta = JSON.parse(readFileSync(path.join(out, 'supcon.json'), 'utf8'));
    writeFileSync(path.join(out, 'supcon.json'), JSON.stringify({ ...meta, format: 'something-else' }));
    await expect(loadEncoder(out)).rejects.toThrow(`loadEncoder: ${path.join(out, 'supcon.json')} is not a supcon encoder's metadata (format "something-else", expected '${ENCODER_FORMAT}')`);
    writeFileSync(path.join(out, 'supcon.json'), JSON.stringify({ ...meta, version: 2 }));
    await expect(loadEncoder(out)).rejects.toThrow(`loadEncoder: ${path.join(out, 'supcon.json')} has version 2`);
    writeFileSync(path.join(out, 'supcon.json'), JSON.stringify(meta));
    // model.json's file path also works, and a missing shard is named.
    const ok = await loadEncoder(path.join(out, 'model.json'));
    ok.dispose();
    writeFileSync(path.join(out, 'group1-shard1of1.bin.keep'), readFileSync(path.join(out, 'group1-shard1of1.bin')));
    const { rmSync } = await import('node:fs');
    rmSync(path.join(out, 'group1-shard1of1.bin'));
    await expect(loadEncoder(out)).rejects.toThrow(`loadEncoder: ${path.join(out, 'group1-shard1of1.bin')} is missing (named by ${path.join(out, 'model.json')})`);
  }, 120_000);
});
