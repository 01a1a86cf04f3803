/**
 * `train.memory.momentum`: the MoCo-style key encoder whose projections fill the memory bank, in
 * real runs (wasm, one thread, the tiny SupCon config of reference.json with a bank of 120).
 * Independent facts:
 * - momentum 0 makes the key weights the query weights before each update, so its keys are the
 *   query's own projections: bitwise the plain memory run (losses, weights, bank);
 * - with momentum 0.9 the key's trainable weights are, after every step, the EMA computed here by
 *   hand in float32 (Math.fround) from the query weights read after each step, starting from the
 *   initial query weights; its batch-norm moving statistics are its own (equal to the query's
 *   after step 0, when both forwards saw the same batch with the same weights, then apart);
 * - steps 0 and 1 are the plain memory run's (step 0: the bank is empty; step 1: the bank holds
 *   step 0's keys, made by key weights equal to the initial query weights, so the plain run's
 *   projections, and the query weights are the same after an identical step 0), later steps not;
 * - a run stopped in epoch 2 and resumed ends bitwise as an unbroken one (weights, optimizer,
 *   bank, key weights), and a checkpoint without key weights is refused with a sentence;
 * - tensors: constant across steps, and the key model freed when training ends.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BatchNorm } from '@supcon/backbones';
import { createRegistry, createRunner, resolveConfig } from '@supcon/core';
import type { RunnerContext, RunnerHooks } from '@supcon/core';
import { initBackend } from '@supcon/backends';
import { train } from '../src';
import { builtinDefaults, builtinPlugins } from '../src/builtins';
import { createProcedure } from '../src/procedure';
import { KeyEncoder } from '../src/key-encoder';
import type { KeyEncoderState } from '../src/key-encoder';
import configsJson from './fixtures/reference-configs.json';
import { checkpointFile, recordedRun } from './recorded-run';

const base = (configsJson as Record<string, Record<string, unknown>>).supcon;
const quiet = { info: () => undefined, warn: () => undefined };
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const tmp = (name: string) => path.join(mkdtempSync(path.join(tmpdir(), 'supcon-momentum-')), name);
const withMemory = (memory: { size: number; momentum?: number }) => ({ ...base, train: { ...(base.train as object), memory } });

const run = recordedRun;
const taskState = (out: string, name = 'epoch-0002') => JSON.parse(checkpointFile(out, name, 'checkpoint.json').toString()).state.task;
/** A saved key encoder's weights as float32 arrays. */
const keyWeights = (state: KeyEncoderState) =>
  state.weights.map((w) => {
    const bytes = Buffer.from(w.data, 'base64');
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  });

beforeAll(async () => {
  await initBackend('wasm', { threads: 1 }); // as the runs below (the thread count is fixed per process)
});

describe('KeyEncoder', () => {
  /** Dense (3 units) and a batch norm: 4 trainable weights, 2 moving statistics. */
  const tiny = (seed: number, units = 3) => {
    const m = tfl.sequential();
    m.add(tfl.layers.dense({ inputShape: [2], units, kernelInitializer: tfl.initializers.glorotUniform({ seed }), biasInitializer: tfl.initializers.randomNormal({ seed: seed + 1 }) }));
    m.add(new BatchNorm({ momentum: 0.5 }));
    return m;
  };
  const values = (m: tfl.LayersModel) => m.weights.map((w) => Array.from(w.read().dataSync()));

  it('starts as a copy, averages the trainable weights in float32, keeps or undoes its own moving statistics, leaks nothing', () => {
    const query = tiny(1);
    const keyModel = tiny(7);
    const key = new KeyEncoder(keyModel, query, 0.75);
    expect(key.weights().map((w) => Array.from(w))).toEqual(values(query));
    const x = tf.tensor2d([1, 2, -3, 0.5, 0.25, 4], [3, 2]);
    const before = tf.memory().numTensors;
    const stats = () => key.weights().slice(4).map((w) => Array.from(w));
    const start = stats();
    // A step that is not kept: the moving statistics come back.
    tf.dispose(key.project(x));
    expect(stats()).not.toEqual(start);
    key.settle(false);
    expect(stats()).toEqual(start);
    // One that is: they stay (moving = 0.5 * moving + 0.5 * batch statistic, the layer's rule).
    const rows = key.project(x);
    expect(rows.shape).toEqual([3, 3]);
    rows.dispose();
    key.settle(true);
    const kept = stats();
    expect(kept).not.toEqual(start);
    // The query moves; the key follows: k = fround(fround(0.75 k) + fround(0.25 q)) for the 4 trainable weights only.
    const queryVars = query.trainableWeights.map((w) => w.read() as tf.Variable);
    queryVars.forEach((v) => {
      const next = tf.add(v, 0.5);
      v.assign(next);
      next.dispose();
    });
    const k0 = key.weights();
    const q = values(query);
    key.follow(queryVars);
    const k1 = key.weights();
    for (let i = 0; i < 4; i++) expect(Array.from(k1[i]!)).toEqual(Array.from(k0[i]!, (kv, j) => Math.fround(Math.fround(0.75 * kv) + Math.fround(0.25 * q[i]![j]!))));
    expect(k1.slice(4).map((w) => Array.from(w))).toEqual(kept);
    expect(tf.memory().numTensors).toBe(before);

    // Saved and loaded into another key model: every weight, bit for bit.
    const other = new KeyEncoder(tiny(9), query, 0.75);
    other.restore(JSON.parse(JSON.stringify(key.state())));
    expect(other.weights()).toEqual(key.weights());
    // Refusals: another momentum, another shape, a model of another architecture.
    expect(() => new KeyEncoder(tiny(9), query, 0.5).restore(key.state())).toThrow(
      'train.memory.momentum: the checkpoint\'s key encoder has momentum 0.75, the config asks for 0.5 (resume a run with its own config)',
    );
    const wider = new KeyEncoder(tiny(9, 4), tiny(2, 4), 0.75);
    expect(() => wider.restore(key.state())).toThrow(/^train\.memory\.momentum: the checkpoint's key encoder weight 0 has shape \[2, 3\], the model's .* is \[2, 4\] \(the backbone and head must match to resume\)$/);
    expect(() => new KeyEncoder(tiny(9, 4), query, 0.75)).toThrow(/^train\.memory\.momentum: the key model does not have the trained model's architecture \(weights 0: the key model's is \[2, 4\], the trained model's \[2, 3\]\)/);
    expect(() => new KeyEncoder(tiny(9), query, 1)).toThrow('train.memory.momentum: expected a number from 0 up to (not including) 1, got 1');

    // Disposed: its six weights are freed (the query model keeps its own).
    const count = tf.memory().numTensors;
    key.dispose();
    expect(tf.memory().numTensors).toBe(count - 6);
    expect(() => key.project(x)).toThrow(/disposed/);
    for (const e of [other, wider]) e.dispose();
    tf.dispose(x);
  });
});

describe('train.memory.momentum in a run', () => {
  it('momentum 0 is the plain memory run, bitwise (losses, weights, bank); the key weights are the query weights', async () => {
    const plain = await run(withMemory({ size: 120 }));
    const zero = await run(withMemory({ size: 120, momentum: 0 }));
    expect(zero.result).not.toBeInstanceOf(Error);
    expect(zero.losses).toHaveLength(8);
    expect(zero.losses).toEqual(plain.losses);
    for (const file of ['model.weights.bin', 'optimizer.bin'])
      expect(sha(checkpointFile(zero.out, 'epoch-0002', file))).toBe(sha(checkpointFile(plain.out, 'epoch-0002', file)));
    expect(taskState(zero.out).memory).toEqual(taskState(plain.out).memory);
    // With m = 0 every trainable key weight becomes 0 * key + 1 * query, and the moving statistics
    // follow the same batches with the same weights: the key model's weights, in order, are the file's.
    const key = taskState(zero.out).keyEncoder as KeyEncoderState;
    expect(key.momentum).toBe(0);
    expect(Buffer.concat(keyWeights(key).map((w) => Buffer.from(w.buffer)))).toEqual(checkpointFile(zero.out, 'epoch-0002', 'model.weights.bin'));
  }, 600_000);

  it('m = 0.9: after every step the key weights are the float32 EMA of the query weights, by hand; no tensor leaks', async () => {
    const m = 0.9;
    const registry = createRegistry(builtinPlugins);
    const config = resolveConfig({ ...withMemory({ size: 120, momentum: m }), eval: [], out: tmp('run') }, registry, { defaults: builtinDefaults });
    const task = createProcedure({ backend: 'wasm', monitor: false });
    const read = () => {
      const { model, state } = task.checkpoint() as { model: tfl.LayersModel; state: { keyEncoder?: KeyEncoderState } };
      const query = model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
      return { query, trainable: model.weights.map((w) => w.trainable), key: state.keyEncoder };
    };
    let initial: Float32Array[] | undefined;
    const after: ReturnType<typeof read>[] = [];
    const tensors: number[] = [];
    const hooks: RunnerHooks<RunnerContext>[] = [
      {
        beforeStep: (_c, info) => {
          if (info.globalStep === 0) {
            const first = read();
            expect(first.key).toBeUndefined(); // built by the first step, from these weights
            initial = first.query;
          }
        },
        afterStep: () => {
          after.push(read());
          tensors.push(tf.memory().numTensors);
        },
      },
    ];
    const runner = createRunner(config, { registry, task, hooks, logger: quiet });
    await runner.run();
    const tensorsAtEnd = tf.memory().numTensors;
    expect(after).toHaveLength(8);

    // The EMA as the implementation does it: float32 m and 1 - m, a float32 product each, a float32 sum.
    const a = Math.fround(m);
    const b = Math.fround(1 - m);
    const { trainable } = after[0]!;
    expect(trainable.filter((t) => !t).length).toBeGreaterThan(0); // batch-norm moving statistics
    let expected = initial!.map((w) => Float32Array.from(w));
    after.forEach((step, s) => {
      expected = expected.map((k, i) => (trainable[i] ? k.map((kv, j) => Math.fround(Math.fround(a * kv) + Math.fround(b * step.query[i]![j]!))) : k));
      const key = keyWeights(step.key!);
      expect(key).toHaveLength(expected.length);
      trainable.forEach((t, i) => {
        if (t) expect(key[i]).toEqual(expected[i]);
        else if (s === 0) expect(key[i]).toEqual(step.query[i]); // one forward, the same batch and weights: the same statistics
        else if (s >= 2) expect(key[i]).not.toEqual(step.query[i]); // its own: not the query's, nor averaged toward them
      });
    });
    // Not the query weights (m = 0.9 lags behind them).
    const last = after[7]!;
    expect(keyWeights(last.key!).some((k, i) => trainable[i] && k.some((v, j) => v !== last.query[i]![j]))).toBe(true);

    // Tensors: the same after every step but the first (which makes the key model and the
    // optimizer's state); the key model's weights are freed once training is over.
    expect(new Set(tensors.slice(1)).size).toBe(1);
    expect(tensors[7]! - tensorsAtEnd).toBe(trainable.length);
    // A checkpoint after evaluate has no key encoder (disposed), the model is still there.
    expect((task.checkpoint() as { state: { keyEncoder?: unknown } }).state.keyEncoder).toBeUndefined();
  }, 600_000);

  it('m = 0.9: steps 0 and 1 are the plain memory run, later ones differ; stopped in epoch 2 and resumed, it ends bitwise as an unbroken run', async () => {
    const momentum = withMemory({ size: 120, momentum: 0.9 });
    const plain = await run(withMemory({ size: 120 }));
    const straight = await run(momentum);
    expect(straight.result).not.toBeInstanceOf(Error);
    expect(straight.losses.slice(0, 2)).toEqual(plain.losses.slice(0, 2));
    for (let i = 2; i < plain.losses.length; i++) expect(straight.losses[i]).not.toBe(plain.losses[i]);
    expect(taskState(straight.out).memory).toMatchObject({ size: 120, dim: 16, count: 120, next: (8 * 100) % 120 });
    expect(taskState(straight.out).memory).not.toEqual(taskState(plain.out).memory);

    // Stopped in epoch 2 (after its first step, which is lost), then resumed from epoch-0001.
    const stopped = await run(momentum, { stopAt: 4 });
    expect(String(stopped.result)).toContain('stopped by the test');
    // Two copies of the stopped run whose checkpoint lost its key weights, or has one of another shape.
    const broken = (edit: (key: KeyEncoderState, task: { keyEncoder?: KeyEncoderState }) => void) => {
      const out = tmp('broken');
      cpSync(stopped.out, out, { recursive: true });
      const file = path.join(out, 'checkpoints', 'epoch-0001', 'checkpoint.json');
      const json = JSON.parse(readFileSync(file, 'utf8'));
      edit(json.state.task.keyEncoder, json.state.task);
      writeFileSync(file, JSON.stringify(json));
      return out;
    };
    const lacking = broken((_key, task) => delete task.keyEncoder);
    const reshaped = broken((key) => (key.weights[0]!.shape = [...key.weights[0]!.shape.slice(0, -1), key.weights[0]!.shape.at(-1)! + 1]));

    const resumed = await run(momentum, { out: stopped.out, resume: true });
    expect(resumed.result).not.toBeInstanceOf(Error);
    expect(resumed.losses).toEqual(straight.losses.slice(4));
    for (const file of ['model.weights.bin', 'optimizer.bin'])
      expect(sha(checkpointFile(resumed.out, 'epoch-0002', file))).toBe(sha(checkpointFile(straight.out, 'epoch-0002', file)));
    // The bank and the key weights, byte for byte (base64 in the task state).
    expect(taskState(resumed.out).memory).toEqual(taskState(straight.out).memory);
    expect(taskState(resumed.out).keyEncoder).toEqual(taskState(straight.out).keyEncoder);

    // Refused before any step, with a sentence naming the option.
    const noKey = await run(momentum, { out: lacking, resume: true });
    expect(String(noKey.result)).toMatch(/train\.memory\.momentum: the checkpoint holds no key encoder weights \(the run was started without train\.memory\.momentum\)/);
    expect(noKey.losses).toEqual([]);
    const otherShape = await run(momentum, { out: reshaped, resume: true });
    expect(String(otherShape.result)).toMatch(/train\.memory\.momentum: the checkpoint's key encoder weight 0 has shape \[[\d, ]+\], the model's .* is \[[\d, ]+\] \(the backbone and head must match to resume\)/);
    expect(otherShape.losses).toEqual([]);
  }, 900_000);
});
