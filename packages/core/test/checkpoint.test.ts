import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkpointName, latestCheckpoint, loadCheckpoint, saveCheckpoint } from '../src';

const fixtures = path.join(__dirname, 'fixtures');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'supcon-ckpt-'));
}

function makeModel(seed: number): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 4, inputShape: [3], activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
      tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

async function weightsOf(model: tfl.LayersModel): Promise<number[][]> {
  return Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
}

/** A few Adam steps so that the optimizer has non-trivial moments. */
function train(model: tfl.LayersModel, optimizer: tf.Optimizer, steps: number): void {
  const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2], [0, -1, 1]]);
  const y = tf.tensor2d([[1, 0], [0, 1], [0.5, 0.5]]);
  for (let i = 0; i < steps; i++) {
    optimizer.minimize(() => tf.mean(tf.square(tf.sub(model.predict(x) as tf.Tensor, y))) as tf.Scalar);
  }
  tf.dispose([x, y]);
}

async function optimizerWeights(optimizer: tf.Optimizer): Promise<{ name: string; values: number[] }[]> {
  const ws = await optimizer.getWeights();
  const out = await Promise.all(ws.map(async (w) => ({ name: w.name, values: Array.from(await w.tensor.data()) })));
  ws.filter((w) => !(w.tensor instanceof tf.Variable)).forEach((w) => w.tensor.dispose());
  return out;
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips model, optimizer state and JSON state into an identical model', async () => {
    const model = makeModel(1);
    const optimizer = tf.train.adam(0.01);
    train(model, optimizer, 3);
    const dir = path.join(tmp(), 'ckpt');
    const state = { epoch: 2, rng: { a: 1, b: 2, c: 3, d: 4 }, note: 'x' };
    const before = tf.memory().numTensors;
    await saveCheckpoint(dir, { model, optimizer, state });
    expect(tf.memory().numTensors).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', 'model.json', 'model.weights.bin', 'optimizer.bin', 'optimizer.json']);

    // (a) a new model built from the saved topology
    const loaded = await loadCheckpoint(dir);
    expect(loaded.version).toBe(1);
    expect(loaded.state).toEqual(state);
    expect(loaded.optimizerClass).toBe('Adam');
    expect(await weightsOf(loaded.model!)).toEqual(await weightsOf(model));
    const x = tf.tensor2d([[0.3, -0.2, 0.9]]);
    const p0 = model.predict(x) as tf.Tensor;
    const p1 = loaded.model!.predict(x) as tf.Tensor;
    expect(Array.from(await p1.data())).toEqual(Array.from(await p0.data()));
    const saved = await optimizerWeights(optimizer);
    expect(loaded.optimizerWeights!.map((w) => w.name)).toEqual(saved.map((w) => w.name));
    for (const [i, w] of loaded.optimizerWeights!.entries()) expect(Array.from(await w.tensor.data())).toEqual(saved[i].values);

    // (b) loaded into an existing model and optimizer, which then continue exactly like the originals
    const model2 = makeModel(99);
    const optimizer2 = tf.train.adam(0.01);
    const n = tf.memory().numTensors;
    await loadCheckpoint(dir, { model: model2, optimizer: optimizer2 });
    // only the optimizer's new variables are added: 2 moments per weight, 4 weights
    expect(tf.memory().numTensors).toBe(n + 8);
    expect(await optimizerWeights(optimizer2)).toEqual(saved);
    // loading again into the used optimizer and model replaces their state without leaking
    const m = tf.memory().numTensors;
    await loadCheckpoint(dir, { model: model2, optimizer: optimizer2 });
    expect(tf.memory().numTensors).toBe(m);
    expect(await optimizerWeights(optimizer2)).toEqual(saved);
    train(model, optimizer, 2);
    train(model2, optimizer2, 2);
    expect(await weightsOf(model2)).toEqual(await weightsOf(model));
    tf.dispose([x, p0, p1, ...loaded.optimizerWeights!.map((w) => w.tensor)]);
  });

  it('saves named models and checks shapes when loading into a model', async () => {
    const dir = path.join(tmp(), 'named');
    const encoder = makeModel(3);
    const head = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
    await saveCheckpoint(dir, { models: { encoder, head }, state: null });
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', 'encoder.json', 'encoder.weights.bin', 'head.json', 'head.weights.bin']);
    const loaded = await loadCheckpoint(dir);
    expect(await weightsOf(loaded.models.encoder)).toEqual(await weightsOf(encoder));
    expect(await weightsOf(loaded.models.head)).toEqual(await weightsOf(head));
    expect(loaded.model).toBeUndefined();
    const wrong = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [2] })] });
    await expect(loadCheckpoint(dir, { models: { head: wrong } })).rejects.toThrow(
      /models\.head weight 0 \('.*kernel'\) has shape \[2, 1\] in the checkpoint, the model expects \[2, 3\]/,
    );
    await expect(loadCheckpoint(dir, { models: { encoder: head } })).rejects.toThrow(/models\.encoder has 4 weights in the checkpoint, the model has 2/);
    await expect(saveCheckpoint(dir, { models: { 'a/b': head } })).rejects.toThrow(/models\.a\/b: a model name must be/);
  });

  it('a save that fails part-way leaves the previous checkpoint readable and no temp folder', async () => {
    const root = tmp();
    const dir = path.join(root, checkpointName(1));
    const model = makeModel(5);
    const optimizer = tf.train.momentum(0.1, 0.9);
    train(model, optimizer, 1);
    const v1 = await weightsOf(model);
    await saveCheckpoint(dir, { model, optimizer, state: { version: 1 } });
    train(model, optimizer, 2);
    expect(await weightsOf(model)).not.toEqual(v1);
    const written: string[] = [];
    const save = saveCheckpoint(dir, { model, optimizer, state: { version: 2 } }, {
      onFileWritten: (file) => {
        written.push(file);
        if (file === 'model.weights.bin') throw new Error('disk full (injected)');
      },
    });
    await expect(save).rejects.toThrow('disk full (injected)');
    expect(written).toEqual(['model.weights.bin']);
    expect(readdirSync(root)).toEqual([checkpointName(1)]);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.state).toEqual({ version: 1 });
    expect(await weightsOf(loaded.model!)).toEqual(v1);
    tf.dispose(loaded.optimizerWeights!.map((w) => w.tensor));

    // a complete second save replaces the first
    await saveCheckpoint(dir, { model, optimizer, state: { version: 2 } });
    expect(readdirSync(root)).toEqual([checkpointName(1)]);
    const loaded2 = await loadCheckpoint(dir, { model: makeModel(7) });
    expect(loaded2.state).toEqual({ version: 2 });
    expect(await weightsOf(loaded2.model!)).toEqual(await weightsOf(model));
    tf.dispose(loaded2.optimizerWeights!.map((w) => w.tensor));
  });

  it('reads the previous folder when interrupted between the two renames', async () => {
    const run = tmp();
    const dir = path.join(run, 'checkpoints', 'epoch-0002');
    const model = makeModel(8);
    await saveCheckpoint(dir, { model, state: 'old' });
    // simulate a crash after `dir` was moved aside and before the new folder was renamed into place
    await rename(dir, `${dir}.old-123`);
    await mkdir(`${dir}.tmp-456`);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.dir).toBe(`${dir}.old-123`);
    expect(loaded.state).toBe('old');
    // resume finds it too: latestCheckpoint names the folder and loadCheckpoint falls back
    expect(await latestCheckpoint(run)).toBe(dir);
  });

  it('names the folder when there is no checkpoint, and refuses newer format versions', async () => {
    const root = tmp();
    await expect(loadCheckpoint(path.join(root, 'nothing'))).rejects.toThrow(/no complete checkpoint at .*nothing \(checkpoint\.json is missing\)/);
    const dir = path.join(root, 'c');
    await saveCheckpoint(dir, { state: 1 });
    const fs = await import('node:fs/promises');
    const meta = JSON.parse(readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'));
    await fs.writeFile(path.join(dir, 'checkpoint.json'), JSON.stringify({ ...meta, version: 2 }));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/format version 2; this @supcon\/core reads versions 1 to 1/);
    const model = makeModel(1);
    const opt = tf.train.sgd(0.1);
    await saveCheckpoint(dir, { model, optimizer: opt });
    await expect(loadCheckpoint(dir, { optimizer: tf.train.adam() })).rejects.toThrow(/optimizer is SGD, the optimizer passed is Adam/);
  });

  it('legacy: the committed format-1 fixture still loads (hand-computed predictions)', async () => {
    const optimizer = tf.train.momentum(0.1, 0.9); // (its constructor keeps a few scalars)
    const before = tf.memory().numTensors;
    const loaded = await loadCheckpoint(path.join(fixtures, 'checkpoint-v1'));
    expect(loaded.version).toBe(1);
    expect(loaded.state).toEqual({ epoch: 3, globalStep: 12, rng: { sampler: { a: 1, b: 2, c: 3, d: 4 } } });
    expect(await weightsOf(loaded.model!)).toEqual([[1, 2, 3, 4, 5, 6], [0.5, -0.5]]);
    // relu(x W + b) by hand: x = [1, -1, 2] -> [1-3+10+0.5, 2-4+12-0.5] = [8.5, 9.5]; x = [-1, 0, 0] -> relu([-0.5, -2.5]) = [0, 0]
    const x = tf.tensor2d([[1, -1, 2], [-1, 0, 0]]);
    const y = loaded.model!.predict(x) as tf.Tensor;
    expect(Array.from(await y.data())).toEqual([8.5, 9.5, 0, 0]);
    const loaded2 = await loadCheckpoint(path.join(fixtures, 'checkpoint-v1'), { model: loaded.model, optimizer });
    expect(loaded2.model).toBe(loaded.model);
    const ws = await optimizerWeights(optimizer);
    expect(ws.map((w) => w.name)).toEqual(['iter', 'probe/kernel/momentum', 'probe/bias/momentum']);
    expect(ws[0].values).toEqual([7]);
    expect(ws[1].values.map((v) => Math.round(v * 10) / 10)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(ws[2].values).toEqual([-1, 1]);
    tf.dispose([x, y, ...loaded.optimizerWeights!.map((w) => w.tensor)]);
    loaded.model!.dispose();
    // everything left is the optimizer's two momentum variables
    expect(tf.memory().numTensors).toBe(before + 2);
  });
});

describe('latestCheckpoint', () => {
  it('returns the highest complete epoch folder, skipping incomplete ones', async () => {
    const run = tmp();
    expect(await latestCheckpoint(run)).toBeUndefined();
    await saveCheckpoint(path.join(run, 'checkpoints', checkpointName(1)), { state: 1 });
    await saveCheckpoint(path.join(run, 'checkpoints', checkpointName(2)), { state: 2 });
    await mkdir(path.join(run, 'checkpoints', checkpointName(3))); // no checkpoint.json: incomplete
    await mkdir(path.join(run, 'checkpoints', `${checkpointName(4)}.tmp-1`));
    expect(await latestCheckpoint(run)).toBe(path.join(run, 'checkpoints', 'epoch-0002'));
    expect(checkpointName(12)).toBe('epoch-0012');
    expect(existsSync(path.join(run, 'checkpoints', 'epoch-0002', 'checkpoint.json'))).toBe(true);
  });
});
