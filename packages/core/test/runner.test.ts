import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { SupconNonFiniteError, createRegistry, createRng, createRunner, defineFactory, definePlugin, resolveConfig } from '../src';
import type { Logger, ResolvedConfig, RunnerContext, RunnerHooks, RunnerTask, SamplerPart, TaskStepInfo, RunParts } from '../src';
import { labelsData, labelsDataPlugin } from './fixtures/labels-dataset';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const N = 10;
/** Fixed data: x in R^3, y = x . [1, -2, 0.5] + 0.3 */
const X = Array.from({ length: N }, (_, i) => [Math.sin(i + 1), Math.cos(2 * i), (i % 4) / 4]);
const Y = X.map((x) => x[0] - 2 * x[1] + 0.5 * x[2] + 0.3);
const LABELS = Int32Array.from({ length: N }, (_, i) => i % 3);

/** A sampler that shuffles with its (stateful) rng: resume is only exact if that rng is restored. */
const testPlugin = definePlugin({
  name: 'runner-test',
  samplers: {
    shuffled: defineFactory({
      schema: z.object({}),
      create: (_o, ctx): SamplerPart => ({
        batchesPerEpoch: (labels) => Math.ceil(labels.length / ctx.batchSize!),
        *epoch(labels) {
          const order = ctx.rng.shuffle(Array.from({ length: labels.length }, (_, i) => i));
          for (let s = 0; s < order.length; s += ctx.batchSize!) yield Int32Array.from(order.slice(s, s + ctx.batchSize!));
        },
      }),
    }),
  },
  hooks: {
    recorder: defineFactory({
      schema: z.object({ tag: z.string() }),
      create: (o) => recorderHook(o.tag, configHookCalls),
    }),
  },
});

let configHookCalls: string[] = [];

function recorderHook(tag: string, calls: string[]): RunnerHooks<RunnerContext> {
  return {
    beforeRun: () => void calls.push(`${tag}:beforeRun`),
    beforeEpoch: (_c, e) => void calls.push(`${tag}:beforeEpoch:${e}`),
    beforeStep: (_c, s) => void calls.push(`${tag}:beforeStep:${s.epoch}.${s.step}`),
    afterStep: (_c, s) => void calls.push(`${tag}:afterStep:${s.epoch}.${s.step}`),
    afterEpoch: (_c, e) => void calls.push(`${tag}:afterEpoch:${e}`),
    afterEval: (_c, r) => void calls.push(`${tag}:afterEval:${Object.keys(r).join(',')}`),
    afterRun: () => void calls.push(`${tag}:afterRun`),
    onError: (_c, e) => void calls.push(`${tag}:onError:${(e as Error).message}`),
  };
}

/** A 1-layer linear model fit by squared loss with momentum SGD; noise drawn from a runner rng. */
class LinearTask implements RunnerTask {
  model!: tfl.LayersModel;
  optimizer!: tf.Optimizer;
  stepLog: { batch: number[]; loss: number }[] = [];
  failAt?: { epoch: number; step: number };
  private noise!: () => number;

  setup(_parts: RunParts, context: RunnerContext) {
    const seed = context.rng('init').uint32();
    this.model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed }) })] });
    this.optimizer = tf.train.momentum(0.05, 0.9);
    const rng = context.rng('noise');
    this.noise = () => rng.normal(0, 0.01);
  }

  step(batch: Int32Array, info: TaskStepInfo) {
    if (this.failAt && this.failAt.epoch === info.epoch && this.failAt.step === info.step) throw new Error('step exploded');
    const xs = tf.tensor2d(Array.from(batch, (i) => X[i].map((v) => v + this.noise())));
    const ys = tf.tensor2d(Array.from(batch, (i) => [Y[i]]));
    const cost = this.optimizer.minimize(() => tf.mean(tf.square(tf.sub(this.model.predict(xs) as tf.Tensor, ys))) as tf.Scalar, true)!;
    const loss = cost.dataSync()[0];
    tf.dispose([xs, ys, cost]);
    this.stepLog.push({ batch: Array.from(batch), loss });
    return { loss, lr: 0.05 };
  }

  epochEnd() {
    return { weightNorm: Math.hypot(...(this.model.getWeights()[0].dataSync() as Float32Array)) };
  }

  evaluate() {
    const xs = tf.tensor2d(X);
    const pred = this.model.predict(xs) as tf.Tensor;
    const p = pred.dataSync();
    tf.dispose([xs, pred]);
    return { fit: { mse: Y.reduce((s, y, i) => s + (p[i] - y) ** 2, 0) / N } };
  }

  checkpoint() {
    return { model: this.model, optimizer: this.optimizer, state: { steps: this.stepLog.length } };
  }
}

const quiet: Logger = { info: () => undefined, warn: () => undefined };

function config(extra: Record<string, unknown> = {}): ResolvedConfig {
  return resolveConfig(
    { seed: 42, name: 'lin', plugins: [testPlugin, labelsDataPlugin], data: labelsData(LABELS), sampler: { type: 'shuffled' }, train: { epochs: 4, batchSize: 4 }, ...extra },
    createRegistry(),
  );
}

function weights(model: tfl.LayersModel): number[][] {
  return model.getWeights().map((w) => Array.from(w.dataSync()));
}

function metricsLines(dir: string): Record<string, unknown>[] {
  const text = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

function outDir(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'supcon-run-')), 'run');
}

describe('createRunner', () => {
  it('calls hooks in lifecycle and registration order (config hooks first)', async () => {
    configHookCalls = [];
    const calls: string[] = [];
    const cfg = config({ hooks: [{ type: 'recorder', tag: 'cfg' }], train: { epochs: 2, batchSize: 5 } });
    const task = new LinearTask();
    task.evaluate = () => ({ knn: { top1: 1 } }) as never;
    await createRunner(cfg, { registry: createRegistry([testPlugin]), task, hooks: [recorderHook('opt', calls)], outDir: outDir(), logger: quiet }).run();
    const merged = configHookCalls.map((c, i) => [c, calls[i]]);
    // both hooks saw the same events, and the config hook always came first
    expect(configHookCalls.map((c) => c.replace('cfg:', ''))).toEqual(calls.map((c) => c.replace('opt:', '')));
    expect(merged.length).toBe(calls.length);
    expect(calls).toEqual([
      'opt:beforeRun',
      'opt:beforeEpoch:0',
      'opt:beforeStep:0.0',
      'opt:afterStep:0.0',
      'opt:beforeStep:0.1',
      'opt:afterStep:0.1',
      'opt:afterEpoch:0',
      'opt:beforeEpoch:1',
      'opt:beforeStep:1.0',
      'opt:afterStep:1.0',
      'opt:beforeStep:1.1',
      'opt:afterStep:1.1',
      'opt:afterEpoch:1',
      'opt:afterEval:knn',
      'opt:afterRun',
    ]);
  });

  it('interleaves the config hook before the options hook for each event', async () => {
    const calls: string[] = [];
    configHookCalls = calls;
    const cfg = config({ hooks: [{ type: 'recorder', tag: 'cfg' }], train: { epochs: 1, batchSize: 10 } });
    await createRunner(cfg, { registry: createRegistry([testPlugin]), task: new LinearTask(), hooks: [recorderHook('opt', calls)], outDir: outDir(), logger: quiet }).run();
    expect(calls.slice(0, 4)).toEqual(['cfg:beforeRun', 'opt:beforeRun', 'cfg:beforeEpoch:0', 'opt:beforeEpoch:0']);
    expect(calls.slice(-2)).toEqual(['cfg:afterRun', 'opt:afterRun']);
  });

  it('an error in a step calls every onError hook and is rethrown; onError errors are only logged', async () => {
    const calls: string[] = [];
    const warnings: string[] = [];
    const task = new LinearTask();
    task.failAt = { epoch: 1, step: 1 };
    const run = createRunner(config(), {
      registry: createRegistry(),
      task,
      hooks: [
        recorderHook('a', calls),
        { onError: () => { throw new Error('hook broke'); } },
        recorderHook('b', calls),
      ],
      outDir: outDir(),
      logger: { info: () => undefined, warn: (m) => void warnings.push(m) },
    }).run();
    await expect(run).rejects.toThrow('step exploded');
    expect(calls.filter((c) => c.includes('onError'))).toEqual(['a:onError:step exploded', 'b:onError:step exploded']);
    expect(calls.filter((c) => c.startsWith('a:')).slice(-3)).toEqual(['a:afterStep:1.0', 'a:beforeStep:1.1', 'a:onError:step exploded']);
    expect(calls).not.toContain('a:afterRun');
    expect(warnings).toEqual(['runner: an onError hook threw: hook broke']);
  });

  it('writes valid metrics lines whose numbers agree with the task, config.json and summary.json', async () => {
    const dir = outDir();
    const task = new LinearTask();
    let initial: number[][] = [];
    const summary = await createRunner(config(), {
      registry: createRegistry(),
      task,
      outDir: dir,
      logger: quiet,
      hooks: [{ beforeRun: () => void (initial = weights(task.model)) }],
    }).run();
    const lines = metricsLines(dir);
    const steps = lines.filter((l) => l.kind === 'step');
    const epochs = lines.filter((l) => l.kind === 'epoch');
    expect(steps.length).toBe(4 * 3); // ceil(10 / 4) = 3 batches per epoch
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    expect(steps.map((s) => s.globalStep)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(steps.map((s) => s.loss)).toEqual(task.stepLog.map((s) => s.loss));
    expect(steps.every((s) => s.lr === 0.05)).toBe(true);
    for (const e of epochs) {
      const own = steps.filter((s) => s.epoch === e.epoch).map((s) => s.loss as number);
      expect(e.loss).toBeCloseTo(own.reduce((a, b) => a + b, 0) / own.length, 12);
      expect(e.steps).toBe(3);
      expect(typeof e.weightNorm).toBe('number');
    }
    expect(lines[lines.length - 1]).toEqual({ kind: 'eval', fit: summary.eval.fit });

    // every epoch visits each index exactly once (the sampler's batches), in a seeded order
    for (let e = 0; e < 4; e++) {
      expect(task.stepLog.slice(3 * e, 3 * e + 3).flatMap((s) => s.batch).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    }
    // the first step's loss, by a plain loop over the initial weights (noise is ~1e-2, so loose)
    const [kernel, bias] = initial;
    const first = task.stepLog[0].batch;
    const naive = first.reduce((s, i) => s + (X[i][0] * kernel[0] + X[i][1] * kernel[1] + X[i][2] * kernel[2] + bias[0] - Y[i]) ** 2, 0) / first.length;
    expect(Math.abs(task.stepLog[0].loss - naive)).toBeLessThan(0.05 * (1 + naive));
    // it trained
    expect(summary.finalLoss!).toBeLessThan(summary.epochLoss[0]);

    expect(summary).toMatchObject({ name: 'lin', seed: 42, epochs: 4, steps: 12, resumedFrom: null });
    expect(JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'))).toEqual(summary);
    const written = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(written).toMatchObject({ seed: 42, name: 'lin', train: { epochs: 4, batchSize: 4, views: 2 }, plugins: [{ name: 'runner-test', version: null }, { name: 'labels-dataset', version: null }] });
    // keepCheckpoints default 2
    expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['epoch-0003', 'epoch-0004']);
  });

  it('resumed after a crash, ends with the same weights, optimizer state and losses as an uninterrupted run', async () => {
    // a hook's own metrics lines written before a checkpoint survive the resume
    const marker: RunnerHooks<RunnerContext> = { afterEpoch: (c, e) => c.log({ kind: 'marker', epoch: e }) };
    const straight = new LinearTask();
    const dirA = outDir();
    await createRunner(config(), { registry: createRegistry(), task: straight, outDir: dirA, logger: quiet, hooks: [marker] }).run();

    const dirB = outDir();
    const crashed = new LinearTask();
    crashed.failAt = { epoch: 2, step: 1 }; // crashes mid-epoch 2, after checkpoint epoch-0002
    await expect(createRunner(config(), { registry: createRegistry(), task: crashed, outDir: dirB, logger: quiet, hooks: [marker] }).run()).rejects.toThrow(
      'step exploded',
    );
    expect(readdirSync(path.join(dirB, 'checkpoints'))).toEqual(['epoch-0001', 'epoch-0002']);

    const resumed = new LinearTask(); // a fresh process: new model with the same seeded init
    const before = tf.memory().numTensors;
    const summary = await createRunner(config(), { registry: createRegistry(), task: resumed, outDir: dirB, resume: true, logger: quiet, hooks: [marker] }).run();
    expect(summary.resumedFrom).toBe(path.join(dirB, 'checkpoints', 'epoch-0002'));
    expect(resumed.stepLog.length).toBe(6); // only epochs 2 and 3 ran
    expect(weights(resumed.model)).toEqual(weights(straight.model));
    expect(weights(resumed.model)).not.toEqual(weights(crashed.model));
    const [oa, ob] = [await straight.optimizer.getWeights(), await resumed.optimizer.getWeights()];
    expect(ob.map((w) => Array.from(w.tensor.dataSync()))).toEqual(oa.map((w) => Array.from(w.tensor.dataSync())));
    tf.dispose([oa[0].tensor, ob[0].tensor]);
    // metrics.jsonl of the resumed run has the lines of the straight one (the crashed epoch's lines dropped)
    const strip = (ls: Record<string, unknown>[]) => ls.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(metricsLines(dirB))).toEqual(strip(metricsLines(dirA)));
    expect(metricsLines(dirB).filter((l) => l.kind === 'marker').map((l) => l.epoch)).toEqual([0, 1, 2, 3]);
    expect(summary.epochLoss).toEqual((JSON.parse(readFileSync(path.join(dirA, 'summary.json'), 'utf8')) as { epochLoss: number[] }).epochLoss);
    // tensors the run added beyond setup: the model (2), the optimizer's moments (2); nothing leaked
    expect(tf.memory().numTensors - before).toBe(4 + 2);
  });

  it('stops at the first non-finite loss or gradient, naming epoch, step and metric, and keeps the last good checkpoint', async () => {
    for (const [metric, value] of [['loss', Number.NaN], ['gradNorm', Number.POSITIVE_INFINITY]] as const) {
      const task: RunnerTask = new LinearTask();
      const step = task.step.bind(task);
      task.step = (batch, info, context) => {
        const loss = step(batch, info, context) as { loss: number; lr: number };
        return info.epoch === 1 && info.step === 2 ? { ...loss, gradNorm: 1, [metric]: value } : { ...loss, gradNorm: 1 };
      };
      const dir = outDir();
      const error = await createRunner(config(), { registry: createRegistry(), task, outDir: dir, logger: quiet })
        .run()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SupconNonFiniteError);
      const e = error as SupconNonFiniteError;
      expect([e.epoch, e.step, e.globalStep, e.nonFinite]).toEqual([1, 2, 5, [metric]]);
      const checkpoint = path.join(dir, 'checkpoints', 'epoch-0001');
      expect(e.lastCheckpoint).toBe(checkpoint);
      expect(e.message).toContain(`${metric === 'loss' ? 'the loss' : 'the gradient'} is not finite at epoch 1, step 2 (global step 5): ${metric} = ${value}`);
      expect(e.message).toContain(`The last good checkpoint is ${checkpoint}`);
      // Epoch 0's checkpoint is there, nothing later, no summary; the last metrics line records the failure.
      expect(readdirSync(path.join(dir, 'checkpoints'))).toEqual(['epoch-0001']);
      expect(existsSync(path.join(dir, 'summary.json'))).toBe(false);
      const last = metricsLines(dir).at(-1)!;
      expect(last).toMatchObject({ kind: 'error', epoch: 1, step: 2, globalStep: 5, [metric]: String(value) });
    }
  });

  it('fails on a missing sampler, and validates its options', async () => {
    const nan = new LinearTask();
    nan.step = () => ({ loss: Number.NaN, lr: 0 });
    await expect(createRunner(config(), { registry: createRegistry(), task: nan, outDir: outDir(), logger: quiet }).run()).rejects.toThrow(
      'training diverged: the loss is not finite at epoch 0, step 0 (global step 0): loss = NaN. The step\'s update was not applied and the run stopped. No checkpoint was written yet',
    );
    const noSampler = resolveConfig({ plugins: [labelsDataPlugin], data: labelsData(LABELS), train: { epochs: 1, batchSize: 2 } }, createRegistry());
    await expect(createRunner(noSampler, { registry: createRegistry(), task: new LinearTask(), outDir: outDir(), logger: quiet }).run()).rejects.toThrow(/config\.sampler is missing/);
    expect(() => createRunner(config(), { registry: createRegistry(), task: {} as RunnerTask })).toThrow(/options\.task must implement/);
    expect(() => createRunner(config(), { registry: createRegistry(), task: new LinearTask(), logEvery: 0 })).toThrow('createRunner: options.logEvery must be a positive integer, got 0');
  });
  it('evaluate() re-runs the evaluation on the last checkpoint, leaves metrics.jsonl alone and leaks no tensor', async () => {
    const dir = outDir();
    const trained = await createRunner(config(), { registry: createRegistry([testPlugin]), task: new LinearTask(), outDir: dir, logger: quiet }).run();
    const log = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
    // What a task's setup alone holds (its model), measured on a task of its own.
    const probe = new LinearTask();
    const beforeSetup = tf.memory().numTensors;
    probe.setup({} as RunParts, { rng: (label: string) => createRng(1).fork(label) } as unknown as RunnerContext);
    const setupHolds = tf.memory().numTensors - beforeSetup;
    const task = new LinearTask();
    const before = tf.memory().numTensors;
    const again = await createRunner(config(), { registry: createRegistry([testPlugin]), task, outDir: dir, logger: quiet }).evaluate();
    // The task's new model is all that stays: not the optimizer state the checkpoint holds.
    expect(tf.memory().numTensors - before).toBe(setupHolds);
    expect(again.eval).toEqual(trained.eval);
    expect(again.evaluatedFrom).toBe(path.join(dir, 'checkpoints', 'epoch-0004'));
    expect(again.epochLoss).toEqual(trained.epochLoss);
    expect(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).toBe(log);
    expect(JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'))).toEqual(again);
  });
});
