/**
 * A run on a real, small file system (a 256 KiB tmpfs) that fills up, or turns read-only, in the
 * middle of training: the error names the file and the last good checkpoint, which is intact, and
 * the run resumes from it once there is room again. Needs `mount` (root, or a user namespace
 * that allows it); skipped with the reason logged where mounting is not permitted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { SupconFileError, createRegistry, createRunner, defineFactory, definePlugin, loadCheckpoint, resolveConfig } from '../src';
import type { Logger, RunnerContext, RunnerHooks, RunnerTask, SamplerPart, RunParts } from '../src';
import { labelsData, labelsDataPlugin } from './fixtures/labels-dataset';

const mountPoint = mkdtempSync(path.join(tmpdir(), 'supcon-tmpfs-'));
let skipReason: string | undefined;

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  if (process.platform !== 'linux') {
    skipReason = `tmpfs needs Linux (this is ${process.platform})`;
    return;
  }
  const r = sh('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]);
  if (!r.ok) skipReason = `mount -t tmpfs is not permitted here: ${r.out || 'no output'}`;
});

afterAll(() => {
  if (!skipReason) sh('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

function skipped(): boolean {
  if (skipReason) console.warn(`disk-full test skipped: ${skipReason}`);
  return skipReason !== undefined;
}

const plugin = definePlugin({
  name: 'disk-full-test',
  samplers: {
    ordered: defineFactory({
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

const X = Array.from({ length: 8 }, (_, i) => [Math.sin(i + 1), Math.cos(i)]);

class LinearTask implements RunnerTask {
  model!: tfl.LayersModel;
  optimizer!: tf.Optimizer;
  setup(_parts: RunParts, context: RunnerContext) {
    this.model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2], kernelInitializer: tfl.initializers.glorotUniform({ seed: context.rng('init').uint32() }) })] });
    this.optimizer = tf.train.momentum(0.05, 0.9);
  }
  step(batch: Int32Array) {
    const xs = tf.tensor2d(Array.from(batch, (i) => X[i]));
    const ys = tf.tensor2d(Array.from(batch, (i) => [X[i][0] - X[i][1]]));
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
const config = () => resolveConfig({ seed: 1, plugins: [plugin, labelsDataPlugin], data: labelsData(Int32Array.from(X, (_, i) => i % 2)), sampler: { type: 'ordered' }, train: { epochs: 3, batchSize: 4 } }, createRegistry());
const weights = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

/** Fills the file system with the user's own big file: every page is taken afterwards. */
function fillDisk(file: string): void {
  const chunk = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) writeFileSync(file, chunk, { flag: 'a' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
}

async function expectIntactAfter(dir: string, error: unknown, code: string): Promise<void> {
  expect(error).toBeInstanceOf(SupconFileError);
  const e = error as SupconFileError;
  const last = path.join(dir, 'checkpoints', 'epoch-0002');
  expect(e.code).toBe(code);
  expect(e.lastCheckpoint).toBe(last);
  expect(e.file?.startsWith(path.join(dir, 'checkpoints', 'epoch-0003'))).toBe(true);
  expect(e.message).toContain(`${e.file} failed:`);
  expect(e.message).toContain(`(${code}). The last good checkpoint is ${last}, left as it was`);
  // the last checkpoint loads; no temporary folder of the failed save is left behind
  expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['epoch-0001', 'epoch-0002']);
  const loaded = await loadCheckpoint(last);
  loaded.model?.dispose();
  const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  expect(lines.endsWith('\n')).toBe(true);
  for (const line of lines.trimEnd().split('\n')) JSON.parse(line);
}

describe('a run on a small tmpfs', () => {
  it('that fills up names the checkpoint file and the last good checkpoint; it resumes once there is room', async () => {
    if (skipped()) return;
    const dir = path.join(mountPoint, 'full');
    const filler = path.join(mountPoint, 'my-big-file.bin');
    const fill: RunnerHooks<RunnerContext> = { afterEpoch: (_c, epoch) => void (epoch === 2 && fillDisk(filler)) };
    const task = new LinearTask();
    const error = await createRunner(config(), { registry: createRegistry(), task, outDir: dir, logger: quiet, hooks: [fill] })
      .run()
      .then(() => undefined, (e: unknown) => e);
    await expectIntactAfter(dir, error, 'ENOSPC');
    expect(existsSync(path.join(dir, 'summary.json'))).toBe(false);

    rmSync(filler);
    const resumed = new LinearTask();
    const summary = await createRunner(config(), { registry: createRegistry(), task: resumed, outDir: dir, logger: quiet, resume: true }).run();
    expect(summary.resumedFrom).toBe(path.join(dir, 'checkpoints', 'epoch-0002'));
    const straight = new LinearTask();
    await createRunner(config(), { registry: createRegistry(), task: straight, outDir: path.join(mkdtempSync(path.join(tmpdir(), 'supcon-straight-')), 'run'), logger: quiet }).run();
    expect(weights(resumed.model)).toEqual(weights(straight.model));
  });

  it('that turns read-only names the file and the last good checkpoint (EROFS)', async () => {
    if (skipped()) return;
    const dir = path.join(mountPoint, 'readonly');
    let remounted = false;
    const readOnly: RunnerHooks<RunnerContext> = {
      afterEpoch: (_c, epoch) => {
        if (epoch !== 2) return;
        const r = sh('mount', ['-o', 'remount,ro', mountPoint]);
        if (!r.ok) throw new Error(`remount read-only failed: ${r.out}`);
        remounted = true;
      },
    };
    try {
      const error = await createRunner(config(), { registry: createRegistry(), task: new LinearTask(), outDir: dir, logger: quiet, hooks: [readOnly] })
        .run()
        .then(() => undefined, (e: unknown) => e);
      if ((error as Error | undefined)?.message?.startsWith('remount read-only failed')) {
        console.warn(`disk-full test: read-only case skipped: ${(error as Error).message}`);
        return;
      }
      expect(remounted).toBe(true);
      // A read-only file system refuses mkdir of the temporary folder, so the error names the checkpoint folder.
      await expectIntactAfter(dir, error, 'EROFS');
      // Resuming while it is still read-only fails too, naming the checkpoint it would resume from; nothing changes.
      const before = readdirSync(path.join(dir, 'checkpoints')).sort();
      const again = await createRunner(config(), { registry: createRegistry(), task: new LinearTask(), outDir: dir, logger: quiet, resume: true })
        .run()
        .then(() => undefined, (e: unknown) => e);
      expect(again).toBeInstanceOf(SupconFileError);
      expect((again as SupconFileError).code).toBe('EROFS');
      expect((again as SupconFileError).lastCheckpoint).toBe(path.join(dir, 'checkpoints', 'epoch-0002'));
      expect((again as Error).message).toContain(`The last good checkpoint is ${path.join(dir, 'checkpoints', 'epoch-0002')}`);
      expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(before);
    } finally {
      if (remounted) sh('mount', ['-o', 'remount,rw', mountPoint]);
    }
  });
});
