/**
 * Runs never destroy a user's files: a run refuses a folder that holds anything (without resume or
 * overwrite), overwrite removes only what a run writes, resume refuses a changed config, leftovers
 * of interrupted writes go, and file-system errors name the file and the last good checkpoint
 * while everything written before stays intact. Each case checks the files on disk.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import {
  RUN_FILES,
  SupconFileError,
  SupconRunFolderError,
  configChanges,
  createRegistry,
  createRunner,
  defineFactory,
  definePlugin,
  loadCheckpoint,
  resolveConfig,
  writeFileAtomic,
} from '../src';
import type { Logger, ResolvedConfig, RunnerOptions, RunnerTask, SamplerPart, TaskStepInfo, RunParts, RunnerContext } from '../src';
import { labelsData, labelsDataPlugin } from './fixtures/labels-dataset';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  jest.restoreAllMocks();
});

const X = Array.from({ length: 8 }, (_, i) => [Math.sin(i + 1), Math.cos(2 * i)]);
const Y = X.map((x) => x[0] - 2 * x[1] + 0.3);

const plugin = definePlugin({
  name: 'run-folder-test',
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
});

/** A linear fit with momentum SGD: small checkpoints, exact resume. */
class LinearTask implements RunnerTask {
  model!: tfl.LayersModel;
  optimizer!: tf.Optimizer;
  setup(_parts: RunParts, context: RunnerContext) {
    const seed = context.rng('init').uint32();
    this.model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2], kernelInitializer: tfl.initializers.glorotUniform({ seed }) })] });
    this.optimizer = tf.train.momentum(0.05, 0.9);
  }
  step(batch: Int32Array, _info: TaskStepInfo) {
    const xs = tf.tensor2d(Array.from(batch, (i) => X[i]));
    const ys = tf.tensor2d(Array.from(batch, (i) => [Y[i]]));
    const cost = this.optimizer.minimize(() => tf.mean(tf.square(tf.sub(this.model.predict(xs) as tf.Tensor, ys))) as tf.Scalar, true)!;
    const loss = cost.dataSync()[0];
    tf.dispose([xs, ys, cost]);
    return loss;
  }
  checkpoint() {
    return { model: this.model, optimizer: this.optimizer };
  }
}

const quiet: Logger = { info: () => undefined, warn: () => undefined };

function config(extra: Record<string, unknown> = {}, train: Record<string, unknown> = {}): ResolvedConfig {
  return resolveConfig({ seed: 5, name: 'lin', plugins: [plugin, labelsDataPlugin], data: labelsData(Int32Array.from(X, (_, i) => i % 2)), sampler: { type: 'shuffled' }, train: { epochs: 3, batchSize: 4, ...train }, ...extra }, createRegistry());
}

function run(dir: string, cfg: ResolvedConfig = config(), options: Partial<RunnerOptions> = {}) {
  const task = new LinearTask();
  return { task, done: createRunner(cfg, { registry: createRegistry(), task, outDir: dir, logger: quiet, ...options }).run() };
}

function newDir(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'supcon-folder-')), 'run');
}

/** Every file under `dir` (relative path -> sha256 of its bytes), folders as 'dir'. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const file = path.join(d, name);
      const rel = path.relative(dir, file);
      if (statSync(file).isDirectory()) {
        out[rel] = 'dir';
        walk(file);
      } else {
        out[rel] = createHash('sha256').update(readFileSync(file)).digest('hex');
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

const weights = (model: tfl.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the run to fail');
    },
    (e: unknown) => e,
  );
}

function fsError(code: string, syscall: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: injected, ${syscall}`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** Makes `fs.promises.open` fail with `code` for the first path that `match` accepts (once). */
function failOpen(match: (file: string) => boolean, code: string): { hits: string[] } {
  const real = fsp.open.bind(fsp);
  const hits: string[] = [];
  jest.spyOn(fsp, 'open').mockImplementation((async (file: Parameters<typeof fsp.open>[0], ...rest: unknown[]) => {
    if (hits.length === 0 && match(String(file))) {
      hits.push(String(file));
      throw fsError(code, 'open');
    }
    return (real as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
  }) as typeof fsp.open);
  return { hits };
}

describe('a run in a folder that is not empty', () => {
  it('starts in a missing or an empty folder', async () => {
    const missing = newDir();
    await run(missing).done;
    const empty = newDir();
    mkdirSync(empty);
    await run(empty).done;
    for (const dir of [missing, empty]) expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json', 'metrics.jsonl', 'summary.json']);
  });

  it('refuses a folder holding a run, before writing anything, naming the folder and --resume / --overwrite', async () => {
    const dir = newDir();
    await run(dir).done;
    const before = snapshot(dir);
    const error = await errorOf(run(dir).done);
    expect(error).toBeInstanceOf(SupconRunFolderError);
    expect((error as SupconRunFolderError).problem).toBe('not-empty');
    expect((error as Error).message).toContain(`the run folder ${dir} holds a run (checkpoints, config.json, metrics.jsonl, summary.json)`);
    expect((error as Error).message).toMatch(/pass --resume .* or --overwrite/);
    expect(snapshot(dir)).toEqual(before);
  });

  it("refuses a folder of the user's own files, and leaves them alone", async () => {
    const dir = newDir();
    mkdirSync(path.join(dir, 'photos'), { recursive: true });
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    writeFileSync(path.join(dir, 'photos', 'a.png'), 'png');
    const before = snapshot(dir);
    const error = await errorOf(run(dir).done);
    expect((error as Error).message).toContain(`the run folder ${dir} is not empty (notes.txt, photos)`);
    expect((error as Error).message).toContain('--resume');
    expect((error as Error).message).toContain('--overwrite');
    expect(snapshot(dir)).toEqual(before);
    // resume without a checkpoint refuses as well: it would start a run among the user's files
    const resumed = await errorOf(run(dir, config(), { resume: true }).done);
    expect((resumed as Error).message).toContain(`cannot resume in ${dir}: it holds no checkpoint, and it holds files that are not a run's (notes.txt, photos)`);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses resume together with overwrite', async () => {
    const dir = newDir();
    await expect(run(dir, config(), { resume: true, overwrite: true }).done).rejects.toThrow(/resume and overwrite exclude each other/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('overwrite', () => {
  it("removes only the run's files (stale reports included), keeps the user's, and trains afresh", async () => {
    const dir = newDir();
    const first = run(dir, config({}, { epochs: 4 }));
    await first.done;
    // What the CLI adds, a leftover temp file, and the user's own files, in the folder and in checkpoints/.
    writeFileSync(path.join(dir, 'report.html'), '<html>old</html>');
    writeFileSync(path.join(dir, 'embedding-map.json'), '');
    writeFileSync(path.join(dir, 'source.json'), '{}');
    writeFileSync(path.join(dir, 'summary.json.tmp-123-abc-def'), '{');
    mkdirSync(path.join(dir, 'checkpoints', 'epoch-0009.tmp-77-x-y'));
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    writeFileSync(path.join(dir, 'config.json.bak'), 'my backup');
    writeFileSync(path.join(dir, 'checkpoints', 'pytorch.pt'), 'weights of my own');
    const warnings: string[] = [];
    const second = new LinearTask();
    const summary = await createRunner(config(), { registry: createRegistry(), task: second, outDir: dir, overwrite: true, logger: { info: () => undefined, warn: (m) => void warnings.push(m) } }).run();
    expect(summary.epochs).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json', 'config.json.bak', 'metrics.jsonl', 'notes.txt', 'summary.json']);
    expect(readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(path.join(dir, 'config.json.bak'), 'utf8')).toBe('my backup');
    expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['epoch-0002', 'epoch-0003', 'pytorch.pt']);
    expect(readFileSync(path.join(dir, 'checkpoints', 'pytorch.pt'), 'utf8')).toBe('weights of my own');
    // metrics.jsonl holds only the new run (3 epochs of 2 steps)
    const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'epoch').map((l) => l.epoch)).toEqual([0, 1, 2]);
    expect(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')).train.epochs).toBe(3);
    expect(warnings.some((w) => w.includes(`removing the earlier run's files in ${dir}`))).toBe(true);
    expect(warnings.some((w) => w.includes('kept 1 entries') && w.includes('pytorch.pt'))).toBe(true);
    // the same weights as a run in a new folder
    const fresh = run(newDir());
    await fresh.done;
    expect(weights(second.model)).toEqual(weights(fresh.task.model));
  });

  it('in a folder of other files, keeps them all and adds the run', async () => {
    const dir = newDir();
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    await run(dir, config(), { overwrite: true }).done;
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json', 'metrics.jsonl', 'notes.txt', 'summary.json']);
    expect(readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('RUN_FILES is the one list of what a run writes', () => {
    expect([...RUN_FILES].sort()).toEqual(['checkpoints', 'config.json', 'embedding-map.json', 'metrics.jsonl', 'report.html', 'source.json', 'summary.json']);
  });
});

describe('resume', () => {
  it('with a changed config refuses, listing each changed key (old → new), and writes nothing', async () => {
    const dir = newDir();
    await run(dir).done;
    writeFileSync(path.join(dir, 'report.html'), '<html>report</html>');
    const before = snapshot(dir);
    const changed = config({ seed: 6, hooks: [] }, { batchSize: 2, views: 1 });
    const error = await errorOf(run(dir, changed, { resume: true }).done);
    expect(error).toBeInstanceOf(SupconRunFolderError);
    const e = error as SupconRunFolderError;
    expect(e.problem).toBe('config-changed');
    expect(e.changes.map((c) => c.path)).toEqual(['seed', 'train.batchSize', 'train.views']);
    expect(e.message).toContain(`cannot resume the run in ${dir}: the config differs from its config.json in 3 keys:`);
    expect(e.message).toContain('  seed: 5 → 6\n  train.batchSize: 4 → 2\n  train.views: 2 → 1\n');
    expect(e.message).toContain('--overwrite');
    expect(snapshot(dir)).toEqual(before);
    // fewer epochs is a change too
    const fewer = await errorOf(run(dir, config({}, { epochs: 2 }), { resume: true }).done);
    expect((fewer as Error).message).toContain('  train.epochs: 3 → 2');
    expect(snapshot(dir)).toEqual(before);
  });

  it('lists nested keys with dotted paths', () => {
    const a = { loss: { type: 'supcon-out', temperature: 0.1 }, eval: [{ type: 'knn', k: 20 }], out: 'a' };
    const b = { loss: { type: 'supcon-out', temperature: 0.07 }, eval: [{ type: 'knn', k: 10 }, { type: 'linear-probe' }], out: 'a' };
    expect(configChanges(a, b)).toEqual([
      { path: 'loss.temperature', before: 0.1, after: 0.07 },
      { path: 'eval[0].k', before: 20, after: 10 },
      { path: 'eval[1].type', before: undefined, after: 'linear-probe' },
    ]);
  });

  it('may extend train.epochs and change out, threads, name and the evaluators; it removes the stale end-of-run files', async () => {
    const dir = newDir();
    await run(dir).done;
    writeFileSync(path.join(dir, 'report.html'), '<html>3 epochs</html>');
    writeFileSync(path.join(dir, 'embedding-map.json'), '{"points":[]}');
    // The run was evaluated differently: evaluators run after training, so they may change.
    const saved = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...saved, eval: [{ type: 'knn', k: 20 }] }));
    const resumed = run(dir, config({ threads: 2, name: 'lin-longer', out: 'elsewhere' }, { epochs: 5 }), { resume: true });
    const summary = await resumed.done;
    expect(summary.resumedFrom).toBe(path.join(dir, 'checkpoints', 'epoch-0003'));
    expect(summary.epochs).toBe(5);
    expect(summary.epochLoss).toHaveLength(5);
    expect(existsSync(path.join(dir, 'report.html'))).toBe(false);
    expect(existsSync(path.join(dir, 'embedding-map.json'))).toBe(false);
    expect(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'))).toMatchObject({ train: { epochs: 5 }, threads: 2, name: 'lin-longer' });
    // no schedule here: the same weights as 5 epochs straight
    const straight = run(newDir(), config({}, { epochs: 5 }));
    await straight.done;
    expect(weights(resumed.task.model)).toEqual(weights(straight.task.model));
  });

  it('removes leftovers of interrupted writes (only names of our temp pattern) and cuts a torn metrics line', async () => {
    const dir = newDir();
    const crashed = new LinearTask();
    const step = crashed.step.bind(crashed);
    crashed.step = (batch, info) => {
      if (info.epoch === 2) throw new Error('killed');
      return step(batch, info);
    };
    await expect(createRunner(config(), { registry: createRegistry(), task: crashed, outDir: dir, logger: quiet }).run()).rejects.toThrow('killed');
    const checkpoints = path.join(dir, 'checkpoints');
    mkdirSync(path.join(checkpoints, 'epoch-0003.tmp-4242-lzabc-x1y2z3'));
    writeFileSync(path.join(checkpoints, 'epoch-0003.tmp-4242-lzabc-x1y2z3', 'model.weights.bin'), 'half');
    writeFileSync(path.join(dir, 'summary.json.tmp-4242-lzabc-x1y2z3'), '{"na');
    writeFileSync(path.join(dir, 'embedding-map.json.tmp-99'), '');
    writeFileSync(path.join(dir, 'notes.tmp-4242-lzabc-x1y2z3'), 'not ours: notes is no run file');
    writeFileSync(path.join(dir, 'config.json.tmp-backup'), 'not our pattern');
    // a torn line, as a kill in the middle of a write leaves
    await fsp.appendFile(path.join(dir, 'metrics.jsonl'), '{"kind":"step","epo');
    const infos: string[] = [];
    await createRunner(config(), { registry: createRegistry(), task: new LinearTask(), outDir: dir, resume: true, logger: { info: (m) => void infos.push(m), warn: () => undefined } }).run();
    expect(readdirSync(checkpoints).sort()).toEqual(['epoch-0002', 'epoch-0003']);
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json', 'config.json.tmp-backup', 'metrics.jsonl', 'notes.tmp-4242-lzabc-x1y2z3', 'summary.json']);
    expect(infos.some((m) => m.startsWith(`removed leftovers of an interrupted write in ${dir}:`))).toBe(true);
    const text = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'epoch').map((l) => l.epoch)).toEqual([0, 1, 2]);
  });
});

describe('metrics.jsonl on resume', () => {
  it('shorter than at the checkpoint (lines lost): kept up to its last whole line, with a warning; the next resume cuts at the right place', async () => {
    const dir = newDir();
    const crashed = new LinearTask();
    const step = crashed.step.bind(crashed);
    crashed.step = (batch, info) => {
      if (info.epoch === 2) throw new Error('killed');
      return step(batch, info);
    };
    await expect(createRunner(config(), { registry: createRegistry(), task: crashed, outDir: dir, logger: quiet }).run()).rejects.toThrow('killed');
    const file = path.join(dir, 'metrics.jsonl');
    const whole = readFileSync(file, 'utf8');
    // Lose the end of the log, mid-line (as a copy or a crash before the disk had it might).
    writeFileSync(file, whole.slice(0, whole.length - 30));
    const kept = whole.slice(0, whole.slice(0, whole.length - 30).lastIndexOf('\n') + 1);
    const warnings: string[] = [];
    const summary = await createRunner(config(), { registry: createRegistry(), task: new LinearTask(), outDir: dir, resume: true, logger: { info: () => undefined, warn: (m) => void warnings.push(m) } }).run();
    expect(summary.epochLoss).toHaveLength(3);
    expect(warnings.some((w) => w.includes('some of its lines are lost'))).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(kept)).toBe(true);
    for (const line of text.trimEnd().split('\n')) JSON.parse(line);
  });
});

describe('file-system errors during a run', () => {
  it.each([
    ['ENOSPC', 'no space left on the device'],
    ['EROFS', 'the file system is read-only'],
    ['EACCES', 'permission denied'],
  ])('%s writing a checkpoint names the file and the last good checkpoint, which stays intact', async (code, reason) => {
    const dir = newDir();
    const { hits } = failOpen((f) => f.includes(`${path.sep}epoch-0003.tmp-`) && f.endsWith('model.weights.bin'), code);
    const task = new LinearTask();
    const error = await errorOf(createRunner(config(), { registry: createRegistry(), task, outDir: dir, logger: quiet }).run());
    expect(hits).toHaveLength(1);
    expect(error).toBeInstanceOf(SupconFileError);
    const e = error as SupconFileError;
    const last = path.join(dir, 'checkpoints', 'epoch-0002');
    expect(e.code).toBe(code);
    expect(e.file).toBe(path.join(dir, 'checkpoints', 'epoch-0003', 'model.weights.bin'));
    expect(e.lastCheckpoint).toBe(last);
    expect(e.message).toBe(
      `writing ${path.join(dir, 'checkpoints', 'epoch-0003', 'model.weights.bin')} failed: ${reason}${code === 'EACCES' ? ': check who owns the folder' : code === 'ENOSPC' ? ': free some space' : ': make it writable or use another folder'} (${code}). ` +
        `The last good checkpoint is ${last}, left as it was: continue from it with --resume.`,
    );
    expect((e.cause as NodeJS.ErrnoException).code).toBe(code);
    // nothing earlier is lost: the checkpoints are complete, no temporary folder is left, metrics end with a whole line
    expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['epoch-0001', 'epoch-0002']);
    const loaded = await loadCheckpoint(last);
    expect(loaded.dir).toBe(last);
    loaded.model?.dispose();
    expect(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').endsWith('\n')).toBe(true);
    // and the run resumes from it once the disk is fine
    jest.restoreAllMocks();
    const summary = await run(dir, config(), { resume: true }).done;
    expect(summary.resumedFrom).toBe(last);
  });

  it('ENOSPC writing summary.json names it; the checkpoints and an earlier summary stay intact', async () => {
    const dir = newDir();
    await run(dir).done;
    const summaryBefore = readFileSync(path.join(dir, 'summary.json'), 'utf8');
    // Resume into the finished run with more epochs; its summary write fails.
    failOpen((f) => path.basename(f).startsWith('summary.json.tmp-'), 'ENOSPC');
    const error = (await errorOf(run(dir, config({}, { epochs: 4 }), { resume: true }).done)) as SupconFileError;
    expect(error.code).toBe('ENOSPC');
    expect(error.message).toContain(`writing ${path.join(dir, 'summary.json')} failed: no space left on the device`);
    expect(error.message).toContain(`The last good checkpoint is ${path.join(dir, 'checkpoints', 'epoch-0004')}`);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['epoch-0003', 'epoch-0004']);
    // the resumed run removed the 3-epoch summary as stale at its start; a direct atomic write keeps the old file
    expect(existsSync(path.join(dir, 'summary.json'))).toBe(false);
    writeFileSync(path.join(dir, 'summary.json'), summaryBefore);
    failOpen((f) => path.basename(f).startsWith('summary.json.tmp-'), 'ENOSPC');
    await expect(writeFileAtomic(path.join(dir, 'summary.json'), '{"new":true}')).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(readFileSync(path.join(dir, 'summary.json'), 'utf8')).toBe(summaryBefore);
  });

  it('EROFS appending to metrics.jsonl names it; with no checkpoint yet the message says so', async () => {
    const dir = newDir();
    const real = fsp.open.bind(fsp);
    let appends = 0;
    jest.spyOn(fsp, 'open').mockImplementation((async (file: Parameters<typeof fsp.open>[0], flags?: unknown, ...rest: unknown[]) => {
      if (String(file).endsWith('metrics.jsonl') && flags === 'a' && ++appends === 2) throw fsError('EROFS', 'open');
      return (real as (...a: unknown[]) => Promise<unknown>)(file, flags, ...rest);
    }) as typeof fsp.open);
    const error = (await errorOf(run(dir).done)) as SupconFileError;
    expect(error).toBeInstanceOf(SupconFileError);
    expect(error.code).toBe('EROFS');
    expect(error.message).toBe(
      `appending to ${path.join(dir, 'metrics.jsonl')} failed: the file system is read-only: make it writable or use another folder (EROFS). No checkpoint was written yet: the run has to start again.`,
    );
    expect(error.lastCheckpoint).toBeUndefined();
  });

  it('EROFS on resume, before the checkpoint is loaded, names the checkpoint it resumes from', async () => {
    const dir = newDir();
    await run(dir, config({}, { epochs: 2 })).done;
    const before = snapshot(dir);
    failOpen((f) => f.endsWith('metrics.jsonl'), 'EROFS');
    const error = (await errorOf(run(dir, config({}, { epochs: 3 }), { resume: true }).done)) as SupconFileError;
    expect(error).toBeInstanceOf(SupconFileError);
    expect(error.message).toContain(`${path.join(dir, 'metrics.jsonl')} failed: the file system is read-only`);
    expect(error.lastCheckpoint).toBe(path.join(dir, 'checkpoints', 'epoch-0002'));
    // only the stale summary.json went (removed before the log is cut); checkpoints and log are as they were
    const { 'summary.json': _gone, ...rest } = before;
    expect(snapshot(dir)).toEqual(rest);
  });

  it('a failed append is cut back off, so the log still ends with a whole line', async () => {
    const dir = newDir();
    mkdirSync(dir);
    const file = path.join(dir, 'metrics.jsonl');
    writeFileSync(file, '{"a":1}\n');
    const real = fsp.open.bind(fsp);
    jest.spyOn(fsp, 'open').mockImplementation((async (...args: unknown[]) => {
      const handle = (await (real as (...a: unknown[]) => Promise<fsp.FileHandle>)(...args)) as fsp.FileHandle;
      // A disk that fills up in the middle of the line: half of it lands, then ENOSPC.
      handle.writeFile = (async (data: string) => {
        await handle.write(data.slice(0, 5));
        throw fsError('ENOSPC', 'write');
      }) as typeof handle.writeFile;
      return handle;
    }) as typeof fsp.open);
    const { appendLine } = await import('../src');
    await expect(appendLine(file, '{"b":2}\n')).rejects.toMatchObject({ code: 'ENOSPC' });
    jest.restoreAllMocks();
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n');
  });
});
