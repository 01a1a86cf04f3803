/**
 * `supcon train` never destroys a user's files: it refuses a folder that holds anything unless
 * `--resume` or `--overwrite`, `--overwrite` keeps every file a run does not write, `--resume`
 * refuses a changed config, and a failed write (injected ENOSPC) names the file and the last good
 * checkpoint and leaves the previous summary, report and embedding map intact. Through
 * `registerRunCommands` with a toy plugin on the cpu backend; every case checks the files on disk.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { SupconFileError, SupconRunFolderError, defineFactory, definePlugin } from '@supcon/core';
import type { ImageDataset } from '@supcon/core';
import { registerRunCommands } from './run-commands';
import { evalRun, train } from '../train/run';

function toyDataset(size: number): ImageDataset {
  const images = new Uint8Array(size * 16);
  const labels = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 16; p++) images[i * 16 + p] = (p % 4 < 2) === (labels[i] === 0) ? 220 - ((i * 7 + p) % 20) : (i * 13 + p) % 40;
  }
  return { size, shape: [4, 4, 1], images, labels, classes: ['left', 'right'] };
}

const toyPlugin = definePlugin({
  name: 'toy-folder',
  datasets: { toy: defineFactory({ schema: z.object({}), create: () => ({ load: async (split: 'train' | 'test') => toyDataset(split === 'train' ? 16 : 8) }) }) },
  backbones: {
    dense: defineFactory({
      schema: z.object({}),
      create: (_o, ctx) => {
        const m = tfl.sequential();
        m.add(tfl.layers.flatten({ inputShape: ctx.inputShape as number[] }));
        m.add(tfl.layers.dense({ units: 4, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: ctx.rng.uint32() }) }));
        return m;
      },
    }),
  },
  augmentations: { none: defineFactory({ schema: z.object({}), create: () => ({ apply: (images: tf.Tensor4D) => tf.clone(images) }) }) },
  samplers: {
    seq: defineFactory({
      schema: z.object({}),
      create: () => ({
        *epoch(labels: ArrayLike<number>) {
          for (let i = 0; i < labels.length; i += 8) yield Int32Array.from({ length: Math.min(8, labels.length - i) }, (_, j) => i + j);
        },
        batchesPerEpoch: (labels: ArrayLike<number>) => Math.ceil(labels.length / 8),
      }),
    }),
  },
  losses: {
    'toy-ce': defineFactory({
      schema: z.object({}),
      create: () => ({
        input: 'logits' as const,
        supervised: true,
        compute: ({ logits, labels }) => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits!.shape[1]), logits!) as tf.Scalar,
      }),
    }),
  },
  optimizers: {
    sgd: defineFactory({
      schema: z.object({ lr: z.number().default(0.1) }),
      create: (o) => {
        const optimizer = tf.train.sgd(o.lr);
        return { optimizer, baseLearningRate: o.lr, setLearningRate: (lr: number) => optimizer.setLearningRate(lr) };
      },
    }),
  },
  evaluators: { constant: defineFactory({ schema: z.object({}), create: () => ({ key: 'constant', evaluate: async () => ({ top1: 1 }) }) }) },
});

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  jest.restoreAllMocks();
});

const root = mkdtempSync(path.join(tmpdir(), 'supcon-train-folder-'));
let started = 0;
const startBackend = async () => {
  started++;
  return 'cpu';
};

function configFile(name: string, extra: Record<string, unknown> = {}, trainExtra: Record<string, unknown> = {}): string {
  const file = path.join(root, `${name}-${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      seed: 3,
      backend: 'cpu',
      data: { type: 'toy' },
      backbone: { type: 'dense' },
      augment: { type: 'none' },
      sampler: { type: 'seq' },
      loss: { type: 'toy-ce' },
      optimizer: { type: 'sgd' },
      train: { epochs: 2, batchSize: 8, views: 1, ...trainExtra },
      eval: [{ type: 'constant' }],
      out: path.join(root, 'default-out'),
      ...extra,
    }),
  );
  return file;
}

/** `supcon ...args` through registerRunCommands; resolves to the printed lines, or the error thrown. */
async function supcon(args: string[]): Promise<{ out: string[]; error?: Error }> {
  const out: string[] = [];
  const program = new Command('supcon').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  registerRunCommands(program, { plugins: [toyPlugin], startBackend, print: (l) => void out.push(l) });
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out };
  } catch (error) {
    return { out, error: error as Error };
  }
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const file = path.join(d, name);
      if (statSync(file).isDirectory()) walk(file);
      else out[path.relative(dir, file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

const progress = false;
const quiet = { info: () => undefined, warn: () => undefined };

describe('supcon train and its run folder', () => {
  it('refuses a folder that holds a run or other files before anything (even the backend) starts; the message names the folder, --resume and --overwrite', async () => {
    const dir = path.join(root, 'refuse');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'thesis.tex'), 'my thesis');
    const before = started;
    const r = await supcon(['train', '--config', configFile('a'), '--out', dir, '--no-report']);
    expect(r.error).toBeInstanceOf(SupconRunFolderError);
    expect(r.error!.message).toContain(`the run folder ${dir} is not empty (thesis.tex)`);
    expect(r.error!.message).toMatch(/pass --resume .*, or --overwrite /);
    expect(started).toBe(before);
    expect(readdirSync(dir)).toEqual(['thesis.tex']);
    expect(readFileSync(path.join(dir, 'thesis.tex'), 'utf8')).toBe('my thesis');
  });

  it("--overwrite replaces the earlier run and its stale report, keeps the user's file; --resume with --overwrite is refused", async () => {
    const dir = path.join(root, 'overwrite');
    const file = configFile('b');
    expect((await supcon(['train', '--config', file, '--out', dir])).error).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json', 'embedding-map.json', 'metrics.jsonl', 'report.html', 'source.json', 'summary.json']);
    writeFileSync(path.join(dir, 'my-notes.md'), '# notes');
    const again = await supcon(['train', '--config', file, '--out', dir]);
    expect(again.error).toBeInstanceOf(SupconRunFolderError);
    expect(again.error!.message).toContain(`the run folder ${dir} holds a run (checkpoints, config.json, embedding-map.json, metrics.jsonl, report.html, ...`);

    const both = await supcon(['train', '--config', file, '--out', dir, '--resume', '--overwrite']);
    expect(both.error?.message).toMatch(/option '--resume' cannot be used with option '--overwrite'/);

    // --no-report: the old report.html must not survive as a stale one
    const r = await supcon(['train', '--config', configFile('b2', {}, { epochs: 1 }), '--out', dir, '--overwrite', '--no-report']);
    expect(r.error).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json', 'embedding-map.json', 'metrics.jsonl', 'my-notes.md', 'source.json', 'summary.json']);
    expect(readFileSync(path.join(dir, 'my-notes.md'), 'utf8')).toBe('# notes');
    expect(JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')).epochs).toBe(1);
    expect(readdirSync(path.join(dir, 'checkpoints'))).toEqual(['epoch-0001']);
  });

  it('--resume with a changed config refuses, listing the changed keys, and writes nothing; more epochs are fine', async () => {
    const dir = path.join(root, 'resume');
    expect((await supcon(['train', '--config', configFile('c'), '--out', dir, '--no-report'])).error).toBeUndefined();
    const before = snapshot(dir);
    const changed = await supcon(['train', '--config', configFile('c', { seed: 4, optimizer: { type: 'sgd', lr: 0.05 } }, { batchSize: 4 }), '--out', dir, '--resume']);
    expect(changed.error).toBeInstanceOf(SupconRunFolderError);
    expect(changed.error!.message).toContain('the config differs from its config.json in 3 keys:\n  seed: 3 → 4\n  optimizer.lr: 0.1 → 0.05\n  train.batchSize: 8 → 4\n');
    expect(snapshot(dir)).toEqual(before);

    const longer = await supcon(['train', '--config', configFile('c', {}, { epochs: 3 }), '--out', dir, '--resume', '--no-report']);
    expect(longer.error).toBeUndefined();
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ epochs: 3, resumedFrom: path.join(dir, 'checkpoints', 'epoch-0002') });
    expect(summary.epochLoss).toHaveLength(3);
  });

  it('ENOSPC writing summary.json names it and the last checkpoint; no torn or temporary summary is left, the checkpoints stay intact', async () => {
    const dir = path.join(root, 'enospc-summary');
    const real = fsp.open.bind(fsp);
    let summaries = 0;
    jest.spyOn(fsp, 'open').mockImplementation((async (file: Parameters<typeof fsp.open>[0], ...rest: unknown[]) => {
      // summary.json is written once, at the end (with the procedure's fields): it hits a full disk.
      if (path.basename(String(file)).startsWith('summary.json.tmp-') && ++summaries === 1) {
        throw Object.assign(new Error('ENOSPC: no space left on device, open'), { code: 'ENOSPC', syscall: 'open' });
      }
      return (real as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
    }) as typeof fsp.open);
    const error = await train({ config: configFile('d'), plugins: [toyPlugin], startBackend, out: dir, progress, logger: quiet }).then(
      () => undefined,
      (e: unknown) => e as SupconFileError,
    );
    expect(error).toBeInstanceOf(SupconFileError);
    const last = path.join(dir, 'checkpoints', 'epoch-0002');
    expect(error!.code).toBe('ENOSPC');
    expect(error!.message).toBe(
      `writing ${path.join(dir, 'summary.json')} failed: no space left on the device: free some space (ENOSPC). The last good checkpoint is ${last}, left as it was: continue from it with --resume.`,
    );
    expect(summaries).toBe(1);
    expect(existsSync(path.join(dir, 'summary.json'))).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(path.join(dir, 'checkpoints'))).toEqual(['epoch-0001', 'epoch-0002']);
  });

  it('a failed write of embedding-map.json, summary.json (eval) or report.html leaves the previous file intact, never an empty one', async () => {
    const dir = path.join(root, 'intact');
    expect((await supcon(['train', '--config', configFile('e'), '--out', dir])).error).toBeUndefined();
    const before = snapshot(dir);
    const last = path.join(dir, 'checkpoints', 'epoch-0002');
    for (const name of ['embedding-map.json', 'summary.json']) {
      const real = fsp.open.bind(fsp);
      jest.spyOn(fsp, 'open').mockImplementation((async (file: Parameters<typeof fsp.open>[0], ...rest: unknown[]) => {
        if (path.basename(String(file)).startsWith(`${name}.tmp-`)) throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC', syscall: 'write' });
        return (real as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
      }) as typeof fsp.open);
      // `supcon eval` writes the embedding map (the task's evaluation), then summary.json
      const error = (await evalRun({ runDir: dir, plugins: [toyPlugin], startBackend, logger: quiet }).then(
        () => undefined,
        (e: unknown) => e,
      )) as SupconFileError | undefined;
      jest.restoreAllMocks();
      if (!(error instanceof SupconFileError)) throw error;
      expect(error!.code).toBe('ENOSPC');
      expect(error!.message).toContain(`writing ${path.join(dir, name)} failed: no space left on the device`);
      expect(error!.message).toContain(`The last good checkpoint is ${last}`);
      expect(snapshot(dir)).toEqual(before);
    }
    const real = fsp.open.bind(fsp);
    jest.spyOn(fsp, 'open').mockImplementation((async (file: Parameters<typeof fsp.open>[0], ...rest: unknown[]) => {
      if (path.basename(String(file)).startsWith('report.html.tmp-')) throw Object.assign(new Error('EROFS: injected'), { code: 'EROFS', syscall: 'open' });
      return (real as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
    }) as typeof fsp.open);
    const r = await supcon(['report', '--run', dir]);
    expect(r.error).toBeInstanceOf(SupconFileError);
    expect(r.error!.message).toBe(
      `writing ${path.join(dir, 'report.html')} failed: the file system is read-only: make it writable or use another folder (EROFS). The last good checkpoint is ${last}, left as it was: continue from it with --resume.`,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('a failed embedding-map write during training names the file and the last checkpoint, and leaves no empty map', async () => {
    const dir = path.join(root, 'map-fails');
    const real = fsp.open.bind(fsp);
    jest.spyOn(fsp, 'open').mockImplementation((async (file: Parameters<typeof fsp.open>[0], ...rest: unknown[]) => {
      if (path.basename(String(file)).startsWith('embedding-map.json.tmp-')) throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC', syscall: 'write' });
      return (real as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
    }) as typeof fsp.open);
    const error = (await train({ config: configFile('f'), plugins: [toyPlugin], startBackend, out: dir, progress, logger: quiet }).then(
      () => undefined,
      (e: unknown) => e,
    )) as SupconFileError;
    expect(error).toBeInstanceOf(SupconFileError);
    expect(error.file).toBe(path.join(dir, 'embedding-map.json'));
    expect(error.lastCheckpoint).toBe(path.join(dir, 'checkpoints', 'epoch-0002'));
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json', 'metrics.jsonl']);
  });
});
