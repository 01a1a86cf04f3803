/**
 * The thread count does not change a bit of training: the reference configs (fixtures/
 * reference.json, made on ONE thread) run here on TWO wasm threads, uninterrupted and resumed
 * half-way, and end with the reference's weights, optimizer state and losses. The `residual`
 * config runs the Winograd filter gradient and batch norm, whose sums the native kernels cut into
 * groups fixed by the shape, not one part per thread. Its own file: the wasm backend's thread
 * count is fixed per process (train.test.ts runs on one thread).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { wasmKernelsInfo, wasmThreadsInUse } from '@supcon/backends';
import { train } from '../src';
import configsJson from './fixtures/reference-configs.json';

const reference = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/reference.json'), 'utf8')) as {
  runs: Record<string, { checkpoint: string; weightsSha256: string; optimizerSha256: string; epochLoss: number[] }>;
};
const configs = configsJson as Record<string, Record<string, unknown> & { train: { epochs: number } }>;
const quiet = { info: () => undefined, warn: () => undefined };
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const tmp = (name: string) => path.join(mkdtempSync(path.join(tmpdir(), 'supcon-threads-')), name);

function expectReference(name: string, out: string, epochLoss: number[]): void {
  const expected = reference.runs[name]!;
  const checkpoint = path.join(out, 'checkpoints', expected.checkpoint);
  expect(sha(path.join(checkpoint, 'model.weights.bin'))).toBe(expected.weightsSha256);
  expect(sha(path.join(checkpoint, 'optimizer.bin'))).toBe(expected.optimizerSha256);
  expect(epochLoss).toEqual(expected.epochLoss);
}

describe('two wasm threads give the one-thread reference bit for bit', () => {
  it.each(['supcon', 'ce', 'residual'])('%s, uninterrupted', async (name) => {
    const out = tmp(name);
    const { summary } = await train({ ...configs[name], threads: 2, out }, { logger: quiet });
    // Really on two threads, supcon's own kernels included.
    expect(wasmThreadsInUse()).toBe(2);
    expect(wasmKernelsInfo()).toEqual({ active: true, threads: 2 });
    expect(summary.threads).toBe(2);
    expectReference(name, out, summary.epochLoss as number[]);
  }, 300_000);

  it('supcon, stopped in epoch 2 and resumed from the epoch-1 checkpoint', async () => {
    const out = tmp('resumed');
    // 200 images in batches of 50: 4 steps an epoch; step 4 is epoch 2's first (lost, as in a crash).
    const stop = { afterStep: (_context: unknown, step: { globalStep: number }) => { if (step.globalStep === 4) throw new Error('stopped by the test'); } };
    await expect(train({ ...configs.supcon, threads: 2, out }, { logger: quiet, hooks: [stop] })).rejects.toThrow('stopped by the test');
    const { summary } = await train({ ...configs.supcon, threads: 2, out }, { resume: true, logger: quiet });
    expectReference('supcon', out, summary.epochLoss as number[]);
  }, 300_000);
});
