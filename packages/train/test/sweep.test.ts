/**
 * Sweeps (src/sweep.ts) and the runner's stop signal they rely on. Independent facts:
 * - a grid of 3 x 2 values expands to the 6 combinations in row-major order (last key fastest),
 *   each config equal to the base with exactly those paths set, `out` = `<out>/<id>`;
 * - `random: { n }` gives n distinct grid points, the same ones for the same seed;
 * - an invalid value is reported with its grid key and value, and the config path, before anything runs;
 * - index mode trains the run into its folder, a second call skips it, and the gathered row holds
 *   summary.json's numbers; results.csv has one line per run;
 * - a run stopped by its signal after step k and resumed ends with the weights of a run never stopped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SupconConfigError, SupconRunStoppedError } from '@supcon/core';
import { initBackend } from '@supcon/backends';
import { checkSweep, expandSweep, gatherSweep, loadSweep, runSweepEntry, sweepResultsCsv, train } from '../src';
import configsJson from './fixtures/reference-configs.json';

const base = (configsJson as Record<string, Record<string, unknown>>).supcon;
const quiet = { info: () => undefined, warn: () => undefined };
const dir = () => mkdtempSync(path.join(tmpdir(), 'supcon-sweep-'));
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function sweepFile(folder: string, body: Record<string, unknown>): string {
  writeFileSync(path.join(folder, 'base.json'), JSON.stringify(base));
  const file = path.join(folder, 'sweep.json');
  writeFileSync(file, JSON.stringify({ base: './base.json', out: path.join(folder, 'runs'), ...body }));
  return file;
}

beforeAll(async () => {
  await initBackend('wasm', { threads: 1 });
});

describe('expandSweep', () => {
  it('takes every combination, last key fastest, each config the base with those paths set', async () => {
    const folder = dir();
    const sweep = await loadSweep(sweepFile(folder, { grid: { 'loss.temperature': [0.05, 0.1, 0.5], seed: [0, 1] } }));
    const runs = expandSweep(sweep);
    expect(runs.map((r) => [r.values['loss.temperature'], r.values.seed])).toEqual([
      [0.05, 0],
      [0.05, 1],
      [0.1, 0],
      [0.1, 1],
      [0.5, 0],
      [0.5, 1],
    ]);
    expect(runs.map((r) => r.id)).toEqual(['loss.temperature-0.05_seed-0', 'loss.temperature-0.05_seed-1', 'loss.temperature-0.1_seed-0', 'loss.temperature-0.1_seed-1', 'loss.temperature-0.5_seed-0', 'loss.temperature-0.5_seed-1']);
    for (const r of runs) {
      expect(r.dir).toBe(path.join(folder, 'runs', r.id));
      // Only the grid's paths, name and out differ from the base.
      expect(r.config).toEqual({ ...base, seed: r.values.seed, loss: { ...(base.loss as object), temperature: r.values['loss.temperature'] }, name: r.id, out: r.dir });
    }
    // The base is not modified.
    expect((sweep.base.loss as Record<string, unknown>).temperature).toBeUndefined();
  });

  it('samples n distinct grid points with random, the same for the same seed', async () => {
    const folder = dir();
    const grid = { 'optimizer.learningRate': [0.01, 0.02, 0.05, 0.1], seed: [0, 1, 2] };
    const a = expandSweep(await loadSweep(sweepFile(folder, { grid, random: { n: 5, seed: 7 } })));
    const b = expandSweep(await loadSweep(sweepFile(folder, { grid, random: { n: 5, seed: 7 } })));
    const c = expandSweep(await loadSweep(sweepFile(folder, { grid, random: { n: 5, seed: 8 } })));
    expect(a).toHaveLength(5);
    expect(new Set(a.map((r) => r.id)).size).toBe(5);
    expect(a.map((r) => r.id)).toEqual(b.map((r) => r.id));
    expect(a.map((r) => r.id)).not.toEqual(c.map((r) => r.id));
    const all = new Set(expandSweep(await loadSweep(sweepFile(folder, { grid }))).map((r) => r.id));
    for (const r of a) expect(all.has(r.id)).toBe(true);
    expect(a.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('names object values by their type and keeps ids unique', async () => {
    const folder = dir();
    const sweep = await loadSweep(sweepFile(folder, { grid: { optimizer: [{ type: 'sgd', momentum: 0.9 }, { type: 'adam' }], 'data.trainSize': [100] } }));
    const ids = expandSweep(sweep).map((r) => r.id);
    expect(ids[1]).toBe('optimizer-adam_data.trainSize-100');
    expect(ids[0]).toMatch(/^optimizer-sgd-[0-9a-f]{8}_data\.trainSize-100$/);
  });
});

describe('loadSweep errors', () => {
  const issues = async (body: Record<string, unknown>) => {
    const error = await loadSweep(sweepFile(dir(), body)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SupconConfigError);
    return (error as SupconConfigError).message;
  };

  it('names the grid key and value of every invalid run, with the config path', async () => {
    const message = await issues({ grid: { 'loss.temperature': [0.1, -1], 'train.batchSize': [50] } });
    expect(message).toContain('run 1 (grid.loss.temperature = -1, grid.train.batchSize = 50): loss.temperature:');
    expect(message).not.toContain('run 0');
  });

  it('names the sweep key of a malformed file', async () => {
    expect(await issues({ grid: { seed: [] } })).toContain('grid.seed: expected a non-empty list of values');
    expect(await issues({ grid: { out: ['x'] } })).toContain("grid.out: a sweep sets each run's out itself");
    expect(await issues({ grid: { seed: [0] }, random: { n: 0 } })).toContain('random.n: expected an integer >= 1, got 0');
    expect(await issues({ grid: { seed: [0] }, grids: {} })).toContain('grids: unknown sweep key');
    expect(await issues({ grid: { 'head.dim.x': [1] } })).toContain("grid.head.dim.x: cannot set head.dim.x: the base config's head.dim is 16, not an object");
    expect(await issues({ out: 5, grid: { seed: [0] } })).toContain("out: expected the sweep's folder (out: runs/my-sweep), got 5");
  });
});

describe('runSweepEntry and gatherSweep', () => {
  it('trains run I into its folder, skips it once finished, and gathers summary.json numbers', async () => {
    const folder = dir();
    const sweep = await loadSweep(sweepFile(folder, { grid: { seed: [3, 4] } }));
    const first = await runSweepEntry(sweep, 1, { logger: quiet });
    expect(first.status).toBe('done');
    const summary = JSON.parse(readFileSync(path.join(folder, 'runs', 'seed-4', 'summary.json'), 'utf8'));
    expect(summary.seed).toBe(4);
    const again = await runSweepEntry(sweep, 1, { logger: quiet });
    expect(again.status).toBe('skipped');
    const rows = gatherSweep(sweep);
    expect(rows.map((r) => r.status)).toEqual(['pending', 'done']);
    expect(rows[1]!.linearProbeTop1).toBe(summary.eval.linearProbe.top1);
    expect(rows[1]!.knnTop1).toBe(summary.eval.knn.top1);
    expect(rows[1]!.backend).toBe('wasm');
    const status = JSON.parse(readFileSync(path.join(folder, 'runs', 'status', 'seed-4.json'), 'utf8'));
    expect(status).toMatchObject({ id: 'seed-4', index: 1, status: 'done', attempts: 1 });
    const csv = sweepResultsCsv(sweep, rows).trim().split('\n');
    expect(csv[0]).toBe('index,seed,status,linearProbe.top1,knn.top1,corruptionError,seconds,backend,error,id');
    expect(csv[2]!.startsWith(`1,4,done,${summary.eval.linearProbe.top1},${summary.eval.knn.top1},`)).toBe(true);
    await expect(runSweepEntry(sweep, 2)).rejects.toThrow('--index 2: the sweep sweep has runs 0 to 1');
  });

  it('records a failed run with its error in the status file and the gathered row', async () => {
    const folder = dir();
    // Passes validation, fails at build time: a data folder that does not exist.
    const sweep = await loadSweep(sweepFile(folder, { grid: { seed: [3] } }));
    const broken = { ...sweep, base: { ...sweep.base, data: { type: 'fashion-mnist', root: path.join(folder, 'no-such-folder'), trainSize: 200, testSize: 100 } } };
    await expect(runSweepEntry(broken, 0, { logger: quiet })).rejects.toThrow();
    const [row] = gatherSweep(broken);
    expect(row!.status).toBe('failed');
    expect(row!.error).toContain('no-such-folder');
  });
});

describe('TrainOptions.signal', () => {
  it('stops after the step under way with a checkpoint there; resumed, the weights equal a run never stopped', async () => {
    const folder = dir();
    const whole = path.join(folder, 'whole');
    await train({ ...base, out: whole }, { logger: quiet });
    const stopped = path.join(folder, 'stopped');
    const controller = new AbortController();
    // Abort during global step 2 (epoch 0, of 4 steps per epoch): step 2 finishes, then the run stops.
    const hook = {
      beforeStep(_c: unknown, info: { globalStep: number }) {
        if (info.globalStep === 2) controller.abort();
      },
    };
    const error = await train({ ...base, out: stopped }, { logger: quiet, hooks: [hook], signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SupconRunStoppedError);
    expect((error as SupconRunStoppedError).checkpoint).toBe('checkpoints/epoch-0000-step-000003');
    expect(readdirSync(path.join(stopped, 'checkpoints'))).toEqual(['epoch-0000-step-000003']);
    expect(existsSync(path.join(stopped, 'summary.json'))).toBe(false);
    await train({ ...base, out: stopped }, { logger: quiet, resume: true });
    // weights.bin and the optimizer's (model.json names layers by this process's counters).
    for (const file of ['model.weights.bin', 'optimizer.bin']) {
      const a = readdirSync(path.join(whole, 'checkpoints')).sort().pop()!;
      const b = readdirSync(path.join(stopped, 'checkpoints')).sort().pop()!;
      expect(a).toBe('epoch-0002');
      expect(sha(path.join(stopped, 'checkpoints', b, file))).toBe(sha(path.join(whole, 'checkpoints', a, file)));
    }
  });
});

describe('vary: one key at a time', () => {
  it("runs the base, then each key's other values with the rest as the base has them, for each grid point", async () => {
    const folder = dir();
    const sweep = await loadSweep(sweepFile(folder, { grid: { seed: [0, 1] }, vary: { 'train.batchSize': [25, 50, 100], 'loss.temperature': [0.05, 0.5] } }));
    const runs = expandSweep(sweep);
    // The base's batch size is 50: not run again as a variation.
    expect(runs.map((r) => r.id)).toEqual([
      'base_seed-0',
      'train.batchSize-25_seed-0',
      'train.batchSize-100_seed-0',
      'loss.temperature-0.05_seed-0',
      'loss.temperature-0.5_seed-0',
      'base_seed-1',
      'train.batchSize-25_seed-1',
      'train.batchSize-100_seed-1',
      'loss.temperature-0.05_seed-1',
      'loss.temperature-0.5_seed-1',
    ]);
    const byId = Object.fromEntries(runs.map((r) => [r.id, r]));
    expect(byId['base_seed-1']!.values).toEqual({ seed: 1, 'train.batchSize': 50, 'loss.temperature': undefined });
    expect(byId['base_seed-1']!.varied).toBeUndefined();
    expect(byId['train.batchSize-100_seed-0']!.varied).toBe('train.batchSize');
    expect(byId['train.batchSize-100_seed-0']!.config.train).toEqual({ ...(base.train as object), batchSize: 100 });
    expect(byId['train.batchSize-100_seed-0']!.config.loss).toEqual(base.loss);
    expect(byId['loss.temperature-0.5_seed-0']!.config.train).toEqual(base.train);
    expect((byId['loss.temperature-0.5_seed-0']!.config.loss as Record<string, unknown>).temperature).toBe(0.5);
    const error = await loadSweep(sweepFile(folder, { grid: { seed: [0] }, vary: { seed: [1] } })).catch((e: unknown) => e);
    expect(String(error)).toContain('vary.seed: is also a grid key');
  });
});

describe('the studies shipped in examples/', () => {
  const examples = path.resolve(__dirname, '../../../examples');
  it('expand to the runs their comments describe, every one a valid config', async () => {
    const counts: Record<string, number> = {};
    for (const file of ['stability/supcon.yaml', 'stability/ce.yaml', 'ablation/supcon-options.yaml', 'long-tail/samplers.yaml', 'sweep-tiny.yaml']) {
      counts[file] = checkSweep(await loadSweep(path.join(examples, file))).length;
    }
    // Stability: (1 base + 3 augmentations + 2 optimizers + 2 learning rates + 2 batch sizes [+ 2
    // temperatures]) x 3 seeds; ablation: (1 base + 2 denominators + 4 caps) x 3; long tail: 2 x 3 x 2.
    expect(counts).toMatchObject({ 'stability/supcon.yaml': 36, 'stability/ce.yaml': 30, 'ablation/supcon-options.yaml': 21, 'long-tail/samplers.yaml': 12 });
    const ablation = expandSweep(await loadSweep(path.join(examples, 'ablation/supcon-options.yaml')));
    const loss = (id: string) => ablation.find((r) => r.id === id)!.config.loss;
    expect(loss('base_seed-0')).toEqual({ type: 'supcon-out', temperature: 0.1 });
    expect(loss('loss.positivesCap-6_seed-2')).toEqual({ type: 'supcon-out', temperature: 0.1, positivesCap: 6 });
    expect(loss('loss.denominator-only-negatives_seed-1')).toEqual({ type: 'supcon-out', temperature: 0.1, denominator: 'only-negatives' });
    const longTail = expandSweep(await loadSweep(path.join(examples, 'long-tail/samplers.yaml')));
    for (const run of longTail) expect(run.config.data).toEqual({ type: 'fashion-mnist', longTail: { imbalanceRatio: 100 }, testSize: 2000 });
    expect(new Set(longTail.map((r) => `${(r.config.loss as { type: string }).type}/${(r.config.sampler as { type: string }).type}`)).size).toBe(6);
  });
});
