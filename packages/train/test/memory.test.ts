/**
 * `train.memory`: the FIFO memory bank of earlier steps' projections in a real run (wasm, one
 * thread, the tiny SupCon config of reference.json). Independent facts: a size-0 bank is the
 * plain run (the reference weights, made before the bank existed); a bank changes nothing at the
 * first step (it is empty then: the bank is filled after the loss) and changes every later step;
 * a run stopped mid-way and resumed ends with bitwise the weights and bank of one that was not;
 * the bank holds what the FIFO rule says (unit tests of MemoryBank). The loss-level exactness
 * (memory = the big batch restricted to the batch's anchors) is @supcon/losses' test.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { train } from '../src';
import { MemoryBank } from '../src/memory-bank';
import configsJson from './fixtures/reference-configs.json';
import { checkpointFile, recordedRun } from './recorded-run';

const reference = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/reference.json'), 'utf8')) as {
  runs: Record<string, { checkpoint: string; weightsSha256: string; epochLoss: number[] }>;
};
const base = (configsJson as Record<string, Record<string, unknown>>).supcon;
const quiet = { info: () => undefined, warn: () => undefined };
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const tmp = (name: string) => path.join(mkdtempSync(path.join(tmpdir(), 'supcon-memory-')), name);
const withMemory = (size: number) => ({ ...base, train: { ...(base.train as object), memory: { size } } });

const run = recordedRun;

describe('MemoryBank', () => {
  beforeAll(async () => {
    await initBackend('wasm', { threads: 1 }); // as the runs below (the thread count is fixed per process)
  });

  it('keeps the last `size` rows, oldest first, and saves and restores them exactly', () => {
    const bank = new MemoryBank(3, 2);
    expect(bank.tensors()).toBeUndefined();
    bank.push(Float32Array.from([1, 1, 2, 2]), [10, 20]);
    let t = bank.tensors()!;
    expect(Array.from(t.features.dataSync())).toEqual([1, 1, 2, 2]);
    expect(Array.from(t.labels.dataSync())).toEqual([10, 20]);
    tf.dispose([t.features, t.labels]);
    // Two more rows: the oldest (1, 1) goes.
    bank.push(Float32Array.from([3, 3, 4, 4]), [30, 40]);
    t = bank.tensors()!;
    expect(Array.from(t.features.dataSync())).toEqual([2, 2, 3, 3, 4, 4]);
    expect(Array.from(t.labels.dataSync())).toEqual([20, 30, 40]);
    tf.dispose([t.features, t.labels]);
    // More rows than it holds: only the last three stay.
    bank.push(Float32Array.from([5, 5, 6, 6, 7, 7, 0.1, -0.25]), [50, 60, 70, 80]);
    const copy = new MemoryBank(3, 2);
    copy.restore(JSON.parse(JSON.stringify(bank.state())));
    for (const b of [bank, copy]) {
      t = b.tensors()!;
      expect(Array.from(t.features.dataSync())).toEqual([6, 6, 7, 7, Math.fround(0.1), -0.25]);
      expect(Array.from(t.labels.dataSync())).toEqual([60, 70, 80]);
      tf.dispose([t.features, t.labels]);
    }
    expect(() => new MemoryBank(4, 2).restore(bank.state())).toThrow(/a bank of 3 x 2, the config asks for 4 x 2/);
  });
});

describe('train.memory in a run', () => {
  it('size 0 is the plain run: bitwise the reference weights', async () => {
    const { out, losses } = await run(withMemory(0));
    expect(sha(checkpointFile(out, reference.runs.supcon.checkpoint, 'model.weights.bin'))).toBe(reference.runs.supcon.weightsSha256);
    expect(losses.length).toBe(8);
  }, 300_000);

  it('a bank leaves the first step as it is (empty then) and changes the later ones; resumed, it ends bitwise as an unbroken run', async () => {
    const plain = await run(base);
    const straight = await run(withMemory(120));
    expect(straight.losses[0]).toBe(plain.losses[0]);
    for (let i = 1; i < plain.losses.length; i++) expect(straight.losses[i]).not.toBe(plain.losses[i]);
    // The bank is in the checkpoint: 120 rows of the 16-d head, filled by 2 views x 50 images a step.
    const taskState = (out: string) => JSON.parse(checkpointFile(out, 'epoch-0002', 'checkpoint.json').toString()).state.task;
    expect(taskState(straight.out).memory).toMatchObject({ size: 120, dim: 16, count: 120, next: (8 * 100) % 120 });

    // Stopped in epoch 2 (after its first step, which is lost), then resumed from epoch-0001.
    const stopped = await run(withMemory(120), { stopAt: 4 });
    expect(String(stopped.result)).toContain('stopped by the test');
    const resumed = await run(withMemory(120), { out: stopped.out, resume: true });
    expect(resumed.result).not.toBeInstanceOf(Error);
    expect(resumed.losses).toEqual(straight.losses.slice(4));
    for (const file of ['model.weights.bin', 'optimizer.bin'])
      expect(sha(checkpointFile(resumed.out, 'epoch-0002', file))).toBe(sha(checkpointFile(straight.out, 'epoch-0002', file)));
    // The bank itself, byte for byte (base64 of its rows and labels); trainSeconds is wall time.
    expect(taskState(resumed.out).memory).toEqual(taskState(straight.out).memory);
  }, 600_000);

  it('a plain run resumed in the same process (tfjs-layers has renamed its variables) ends as an unbroken one', async () => {
    const straight = await run(base);
    const stopped = await run(base, { stopAt: 4 });
    const resumed = await run(base, { out: stopped.out, resume: true });
    expect(resumed.losses).toEqual(straight.losses.slice(4));
  }, 600_000);

  it('refuses a bank with a loss that takes none, naming train.memory', async () => {
    const config = { ...withMemory(64), loss: { type: 'cross-entropy' } };
    const { result } = await run(config);
    expect(String(result)).toMatch(/train\.memory: cross-entropy does not take a memory bank/);
    for (const [memory, message] of [
      [{ size: -1 }, /train\.memory\.size: expected an integer >= 0/],
      [{ size: 2.5 }, /train\.memory\.size: expected an integer, got 2\.5/],
      [{ size: 8, momentum: 1 }, /train\.memory\.momentum: expected a number from 0 up to \(not including\) 1, got 1/],
      [{ size: 0, momentum: 0.9 }, /train\.memory\.momentum: a momentum key encoder fills the memory bank: it needs train\.memory\.size > 0, got size 0/],
    ] as const) {
      const bad = await run({ ...base, train: { ...(base.train as object), memory } });
      expect(String(bad.result)).toMatch(message);
    }
  }, 120_000);
});
