/**
 * Mid-epoch checkpoints (`checkpoint: { everySteps }`): a run interrupted anywhere and resumed
 * ends bit-exactly where an uninterrupted one does, with samplers that draw from their stateful
 * generator while iterating; names, pruning and `latestCheckpoint` of mid-epoch folders.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { checkpointName, createRegistry, createRng, createRunner, defineFactory, definePlugin, latestCheckpoint, parseCheckpointName, readCheckpointState, resolveConfig } from '../src';
import type { Logger, ResolvedConfig, RunnerContext, RunnerHooks, RunnerTask, RunSummary, SamplerPart, TaskStepInfo, RunParts } from '../src';
import { faultPoint, parseFaultSpec } from '../src/faults';
import { labelsData, labelsDataPlugin } from './fixtures/labels-dataset';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const N = 10;
const X = Array.from({ length: N }, (_, i) => [Math.sin(i + 1), Math.cos(2 * i), (i % 4) / 4]);
const Y = X.map((x) => x[0] - 2 * x[1] + 0.5 * x[2] + 0.3);
const LABELS = Int32Array.from({ length: N }, (_, i) => i % 3);

let shortOnReplay = false;

/**
 * Samplers that use their generator's state, so a resume is only exact if the epoch's batches are
 * drawn again from the generator as it was when the epoch began:
 * - `upfront`: shuffles with the stateful rng when the epoch's iteration starts;
 * - `lazy`: draws each batch from the stateful rng as it is requested (with replacement).
 */
const plugin = definePlugin({
  name: 'mid-epoch-test',
  samplers: {
    upfront: defineFactory({
      schema: z.object({}),
      create: (_o, ctx): SamplerPart => ({
        batchesPerEpoch: (labels) => Math.ceil(labels.length / ctx.batchSize!),
        *epoch(labels) {
          const order = ctx.rng.shuffle(Array.from({ length: labels.length }, (_, i) => i));
          for (let s = 0; s < order.length; s += ctx.batchSize!) yield Int32Array.from(order.slice(s, s + ctx.batchSize!));
        },
      }),
    }),
    lazy: defineFactory({
      schema: z.object({}),
      create: (_o, ctx): SamplerPart => ({
        batchesPerEpoch: (labels) => Math.ceil(labels.length / ctx.batchSize!),
        *epoch(labels) {
          // `shortOnReplay`: epochs end after one batch (a sampler that does not replay its epochs).
          const count = shortOnReplay ? 1 : Math.ceil(labels.length / ctx.batchSize!);
          for (let b = 0; b < count; b++) yield Int32Array.from({ length: ctx.batchSize! }, () => ctx.rng.int(labels.length));
        },
      }),
    }),
  },
});

/** A linear model fit by momentum SGD; per-step noise from a runner rng; its state counts steps. */
class LinearTask implements RunnerTask {
  model!: tfl.LayersModel;
  optimizer!: tf.Optimizer;
  stepLog: { globalStep: number; batch: number[]; loss: number }[] = [];
  private steps = 0;
  private noise!: () => number;

  setup(_parts: RunParts, context: RunnerContext) {
    const seed = context.rng('init').uint32();
    this.model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed }) })] });
    this.optimizer = tf.train.momentum(0.05, 0.9);
    const rng = context.rng('noise');
    this.noise = () => rng.normal(0, 0.01);
  }

  step(batch: Int32Array, info: TaskStepInfo) {
    const xs = tf.tensor2d(Array.from(batch, (i) => X[i].map((v) => v + this.noise())));
    const ys = tf.tensor2d(Array.from(batch, (i) => [Y[i]]));
    const cost = this.optimizer.minimize(() => tf.mean(tf.square(tf.sub(this.model.predict(xs) as tf.Tensor, ys))) as tf.Scalar, true)!;
    const loss = cost.dataSync()[0];
    tf.dispose([xs, ys, cost]);
    this.steps++;
    this.stepLog.push({ globalStep: info.globalStep, batch: Array.from(batch), loss });
    return { loss, lr: 0.05 };
  }

  epochEnd() {
    return { weightNorm: Math.hypot(...(this.model.getWeights()[0].dataSync() as Float32Array)), stepsSeen: this.steps };
  }

  evaluate() {
    const xs = tf.tensor2d(X);
    const pred = this.model.predict(xs) as tf.Tensor;
    const p = pred.dataSync();
    tf.dispose([xs, pred]);
    return { fit: { mse: Y.reduce((s, y, i) => s + (p[i] - y) ** 2, 0) / N } };
  }

  checkpoint() {
    return { model: this.model, optimizer: this.optimizer, state: { steps: this.steps } };
  }

  restore(state: unknown) {
    this.steps = (state as { steps: number }).steps;
  }
}

const quiet: Logger = { info: () => undefined, warn: () => undefined };

// 10 images in batches of 3: 4 steps an epoch, 12 in all; everySteps 3 -> mid-epoch checkpoints
// after global steps 3 (epoch 0, step 3), 6 (epoch 1, step 2) and 9 (epoch 2, step 1).
function config(sampler: string, extra: Record<string, unknown> = {}): ResolvedConfig {
  return resolveConfig(
    { seed: 11, plugins: [plugin, labelsDataPlugin], data: labelsData(LABELS), sampler: { type: sampler }, train: { epochs: 3, batchSize: 3 }, checkpoint: { everySteps: 3 }, ...extra },
    createRegistry(),
  );
}

function outDir(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'supcon-mid-')), 'run');
}

const weights = (model: tfl.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

async function optimizerState(optimizer: tf.Optimizer): Promise<number[][]> {
  const ws = await optimizer.getWeights();
  const values = ws.map((w) => Array.from(w.tensor.dataSync()));
  tf.dispose(ws.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
  return values;
}

function metricsLines(dir: string): Record<string, unknown>[] {
  const text = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

const withoutTimings = (lines: Record<string, unknown>[]) => lines.map(({ seconds: _s, ...rest }) => rest);

/** A hook that throws just before global step `at` runs. */
const crashAt = (at: number): RunnerHooks<RunnerContext> => ({
  beforeStep: (_c, s) => {
    if (s.globalStep === at) throw new Error(`crash at ${at}`);
  },
});

async function run(cfg: ResolvedConfig, dir: string, opts: { resume?: boolean; hooks?: RunnerHooks<RunnerContext>[] } = {}) {
  const task = new LinearTask();
  const promise = createRunner(cfg, { registry: createRegistry(), task, outDir: dir, logger: quiet, resume: opts.resume, hooks: opts.hooks }).run();
  return { task, promise };
}

describe('mid-epoch checkpoints (checkpoint.everySteps)', () => {
  const straight: Record<string, { dir: string; task: LinearTask; summary: RunSummary; optimizer: number[][] }> = {};

  beforeAll(async () => {
    for (const sampler of ['upfront', 'lazy']) {
      const dir = outDir();
      const { task, promise } = await run(config(sampler), dir);
      const summary = await promise;
      straight[sampler] = { dir, task, summary, optimizer: await optimizerState(task.optimizer) };
    }
  });

  it('writes epoch-NNNN-step-SSSSSS after every everySteps global steps, never at an epoch end, and prunes them with the epoch checkpoints', async () => {
    const seen: string[][] = [];
    const dir = outDir();
    const listing: RunnerHooks<RunnerContext> = {
      beforeStep: () => void seen.push(existsSync(path.join(dir, 'checkpoints')) ? readdirSync(path.join(dir, 'checkpoints')).sort() : []),
    };
    const { promise } = await run(config('lazy'), dir, { hooks: [listing] });
    await promise;
    // seen[g]: the folders before global step g (g steps done).
    expect(seen[2]).toEqual([]);
    expect(seen[3]).toEqual(['epoch-0000-step-000003']);
    expect(seen[4]).toEqual(['epoch-0001']); // epoch 0's mid-epoch checkpoint went with epoch-0001
    expect(seen[6]).toEqual(['epoch-0001', 'epoch-0001-step-000002']);
    expect(seen[8]).toEqual(['epoch-0001', 'epoch-0002']);
    expect(seen[9]).toEqual(['epoch-0001', 'epoch-0002', 'epoch-0002-step-000001']);
    expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['epoch-0002', 'epoch-0003']);
    const state = (await readCheckpointState(path.join(dir, 'checkpoints', 'epoch-0003'))) as { runner: Record<string, unknown> };
    expect(state.runner.partial).toBeUndefined();
  });

  it('the mid-epoch state: steps done, the generators at the epoch start, the loss sum so far', async () => {
    const dir = outDir();
    const { promise } = await run(config('lazy'), dir, { hooks: [crashAt(7)] });
    await expect(promise).rejects.toThrow('crash at 7');
    const state = (await readCheckpointState(path.join(dir, 'checkpoints', 'epoch-0001-step-000002'))) as {
      runner: { epochsCompleted: number; globalStep: number; epochLoss: number[]; partial: { steps: number; lossSum: number; epochRngs: Record<string, unknown> } };
      task: { steps: number };
    };
    const losses = straight.lazy.task.stepLog.map((s) => s.loss);
    expect(state.runner).toMatchObject({ epochsCompleted: 1, globalStep: 6, epochLoss: [straight.lazy.summary.epochLoss[0]] });
    expect(state.runner.partial.steps).toBe(2);
    expect(state.runner.partial.lossSum).toBe(losses[4] + losses[5]);
    expect(Object.keys(state.runner.partial.epochRngs).sort()).toEqual(['data', 'init', 'noise', 'sampler']);
    expect(state.task.steps).toBe(6);
  });

  for (const sampler of ['upfront', 'lazy']) {
    it(`a run interrupted at any step and resumed ends bit-exactly like an uninterrupted one (${sampler} sampler)`, async () => {
      const ref = straight[sampler];
      const refLines = metricsLines(ref.dir);
      // Every global step but 0: crashes after a mid-epoch checkpoint, after an epoch one, right after either.
      for (let at = 1; at < 12; at++) {
        const dir = outDir();
        const crashed = await run(config(sampler), dir, { hooks: [crashAt(at)] });
        await expect(crashed.promise).rejects.toThrow(`crash at ${at}`);
        const resumed = await run(config(sampler), dir, { resume: true });
        const summary = await resumed.promise;
        // Steps done at the newest checkpoint: mid-epoch ones at 3, 6, 9, epoch ones at 4, 8.
        const from = Math.max(...[0, 3, 4, 6, 8, 9].filter((g) => g <= at));
        expect(resumed.task.stepLog[0].globalStep).toBe(from);
        const name = from % 4 === 0 ? checkpointName(from / 4) : checkpointName(Math.floor(from / 4), from % 4);
        expect(summary.resumedFrom).toBe(from === 0 ? null : path.join(dir, 'checkpoints', name));
        // The same batches, losses, weights and optimizer state.
        expect(resumed.task.stepLog).toEqual(ref.task.stepLog.slice(from));
        expect(weights(resumed.task.model)).toEqual(weights(ref.task.model));
        expect(await optimizerState(resumed.task.optimizer)).toEqual(ref.optimizer);
        // metrics.jsonl: the same lines but for timings; the epoch loss means the same numbers.
        expect(withoutTimings(metricsLines(dir))).toEqual(withoutTimings(refLines));
        expect(summary.epochLoss).toEqual(ref.summary.epochLoss);
        expect(summary.eval).toEqual(ref.summary.eval);
        expect(summary.steps).toBe(12);
        // The final checkpoint's files, byte for byte (checkpoint.json but for its time and the log's size).
        const final = (d: string, f: string) => readFileSync(path.join(d, 'checkpoints', 'epoch-0003', f));
        for (const f of ['model.weights.bin', 'optimizer.bin']) expect(final(dir, f).equals(final(ref.dir, f))).toBe(true);
        // The JSON files too (initialiser seeds included), but for the layer names tfjs numbers per process.
        const unnumbered = (d: string, f: string) => final(d, f).toString().replace(/(dense_Dense|sequential_)\d+/g, '$1');
        for (const f of ['model.json', 'optimizer.json']) expect(unnumbered(dir, f)).toEqual(unnumbered(ref.dir, f));
        const meta = (d: string) => {
          const { createdAt: _c, ...m } = JSON.parse(final(d, 'checkpoint.json').toString()) as { createdAt: string; state: { runner: { metricsBytes?: number } } };
          delete m.state.runner.metricsBytes;
          return m;
        };
        expect(meta(dir)).toEqual(meta(ref.dir));
      }
    });
  }

  it('a resume from an epoch checkpoint and from a mid-epoch one each continue the run (twice interrupted)', async () => {
    const ref = straight.upfront;
    const dir = outDir();
    await expect((await run(config('upfront'), dir, { hooks: [crashAt(5)] })).promise).rejects.toThrow('crash at 5');
    await expect((await run(config('upfront'), dir, { resume: true, hooks: [crashAt(11)] })).promise).rejects.toThrow('crash at 11');
    const last = await run(config('upfront'), dir, { resume: true });
    const summary = await last.promise;
    expect(summary.resumedFrom).toBe(path.join(dir, 'checkpoints', 'epoch-0002-step-000001'));
    expect(weights(last.task.model)).toEqual(weights(ref.task.model));
    expect(withoutTimings(metricsLines(dir))).toEqual(withoutTimings(metricsLines(ref.dir)));
    expect(summary.epochLoss).toEqual(ref.summary.epochLoss);
  });

  it('a sampler that does not replay its epoch fails the resume with a clear error', async () => {
    const dir = outDir();
    await expect((await run(config('lazy'), dir, { hooks: [crashAt(7)] })).promise).rejects.toThrow('crash at 7');
    shortOnReplay = true;
    try {
      const resumed = await run(config('lazy'), dir, { resume: true });
      await expect(resumed.promise).rejects.toThrow(/epoch 1, step 2, but the sampler yielded only 1 batches: its batches must depend only on/);
    } finally {
      shortOnReplay = false;
    }
  });

  it('a resume prunes what a run killed while pruning left behind', async () => {
    const dir = outDir();
    await expect((await run(config('upfront'), dir, { hooks: [crashAt(7)] })).promise).rejects.toThrow('crash at 7');
    // As if killed after saving epoch-0001-step-000002 but before pruning: epoch 0's last checkpoints are still there.
    for (const name of ['epoch-0000-step-000003', 'epoch-0000-step-000003.old-1-a', 'epoch-0001-step-000002.tmp-1-b']) {
      mkdirSync(path.join(dir, 'checkpoints', name), { recursive: true });
      writeFileSync(path.join(dir, 'checkpoints', name, 'checkpoint.json'), '{}');
    }
    let atStart: string[] = [];
    const listing: RunnerHooks<RunnerContext> = { beforeRun: () => void (atStart = readdirSync(path.join(dir, 'checkpoints')).sort()) };
    await (await run(config('upfront'), dir, { resume: true, hooks: [listing] })).promise;
    expect(atStart).toEqual(['epoch-0001', 'epoch-0001-step-000002']);
  });

  it('keepCheckpoints 0 keeps every checkpoint; leftovers of interrupted saves are removed', async () => {
    const dir = outDir();
    const stale = path.join(dir, 'checkpoints', 'epoch-0000-step-000003.tmp-123-abc');
    const listing: RunnerHooks<RunnerContext> = {
      beforeRun: () => {
        mkdirSync(stale, { recursive: true });
        writeFileSync(path.join(stale, 'model.weights.bin'), 'partial');
      },
    };
    const task = new LinearTask();
    await createRunner(config('upfront'), { registry: createRegistry(), task, outDir: dir, logger: quiet, hooks: [listing], keepCheckpoints: 0 }).run();
    expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual([
      'epoch-0000-step-000003',
      'epoch-0001',
      'epoch-0001-step-000002',
      'epoch-0002',
      'epoch-0002-step-000001',
      'epoch-0003',
    ]);
  });

  it('without everySteps nothing changes: epoch checkpoints only', async () => {
    const dir = outDir();
    const { promise } = await run(config('upfront', { checkpoint: {} }), dir);
    await promise;
    expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['epoch-0002', 'epoch-0003']);
  });

  it('config: checkpoint.everySteps is a positive integer; the section is optional', () => {
    expect(config('upfront').checkpoint).toEqual({ everySteps: 3 });
    expect(resolveConfig({ train: { epochs: 1, batchSize: 2 } }, createRegistry()).checkpoint).toBeUndefined();
    expect(() => resolveConfig({ train: { epochs: 1, batchSize: 2 }, checkpoint: { everySteps: 0 } }, createRegistry())).toThrow(/checkpoint\.everySteps/);
    expect(() => resolveConfig({ train: { epochs: 1, batchSize: 2 }, checkpoint: { every: 5 } }, createRegistry())).toThrow(/checkpoint/);
  });
});

describe('mid-epoch checkpoint names', () => {
  it('checkpointName / parseCheckpointName', () => {
    expect(checkpointName(3)).toBe('epoch-0003');
    expect(checkpointName(3, 120)).toBe('epoch-0003-step-000120');
    expect(parseCheckpointName('epoch-0003')).toEqual({ epochs: 3, step: 0, mid: false });
    expect(parseCheckpointName('epoch-0003-step-000120')).toEqual({ epochs: 3, step: 120, mid: true });
    expect(parseCheckpointName('epoch-0003-step-000120.old-1-a-b')).toEqual({ epochs: 3, step: 120, mid: true });
    expect(parseCheckpointName('epoch-0003-step-000120.tmp-1-a-b')).toBeUndefined();
    expect(parseCheckpointName('notes')).toBeUndefined();
  });

  it('latestCheckpoint picks the one furthest into training that is complete', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'supcon-latest-')), 'run');
    const make = (name: string, complete = true) => {
      mkdirSync(path.join(dir, 'checkpoints', name), { recursive: true });
      if (complete) writeFileSync(path.join(dir, 'checkpoints', name, 'checkpoint.json'), '{}');
    };
    make('epoch-0001-step-000500');
    make('epoch-0002');
    make('epoch-0002-step-000003');
    make('epoch-0002-step-000010');
    expect(await latestCheckpoint(dir)).toBe(path.join(dir, 'checkpoints', 'epoch-0002-step-000010'));
    make('epoch-0002-step-000020', false); // incomplete: skipped
    make('epoch-0002-step-000030.tmp-1-x'); // a save in progress: skipped
    expect(await latestCheckpoint(dir)).toBe(path.join(dir, 'checkpoints', 'epoch-0002-step-000010'));
    make('epoch-0002-step-000040.old-1-x'); // caught between two renames: its twin is read
    expect(await latestCheckpoint(dir)).toBe(path.join(dir, 'checkpoints', 'epoch-0002-step-000040'));
    make('epoch-0003');
    expect(await latestCheckpoint(dir)).toBe(path.join(dir, 'checkpoints', 'epoch-0003'));
  });
});

describe('generator states in checkpoints', () => {
  it('are unsigned words: a state restored and saved again is the same JSON', () => {
    const rng = createRng(3);
    for (let i = 0; i < 50; i++) rng.uint32();
    const state = rng.state();
    expect([state.a, state.b, state.c, state.d].every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)).toBe(true);
    const other = createRng(0);
    other.setState(JSON.parse(JSON.stringify(state)));
    expect(other.state()).toEqual(state);
  });
});

describe('fault seam (SUPCON_FAULT_KILL_AT)', () => {
  it('is inert when the variable is unset', () => {
    expect(process.env.SUPCON_FAULT_KILL_AT).toBeUndefined();
    expect(faultPoint).toBeUndefined();
  });

  it('parses <point>:<n> lists and rejects anything else', () => {
    expect([...parseFaultSpec('checkpoint-write:3, eval:1')]).toEqual([
      ['checkpoint-write', 3],
      ['eval', 1],
    ]);
    expect(() => parseFaultSpec('checkpoint-writes:3')).toThrow(/point one of step, epoch-end, checkpoint-write, checkpoint-saved, prune, eval, eval-done, summary/);
    expect(() => parseFaultSpec('step:0')).toThrow(/got 'step:0'/);
  });
});
