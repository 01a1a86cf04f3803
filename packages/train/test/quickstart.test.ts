/**
 * The call of the README and docs/train.md, as written there (no backend, threads or folder
 * named but `out`): one epoch of SupCon on the shipped sample, on the wasm backend on every
 * thread; the summary holds the linear probe's top-1. Its own file: the wasm backend's thread
 * count is fixed per process, and train.test.ts runs on one thread.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EvalResult } from '@supcon/core';
import { defineConfig, train } from '../src';

const quiet = { info: () => undefined, warn: () => undefined };
const tmp = (name: string) => path.join(mkdtempSync(path.join(tmpdir(), 'supcon-train-')), name);
const top1 = (r: EvalResult | undefined) => (r as { top1: number } | undefined)?.top1;

describe('train() from code', () => {
  it("runs the issue's call: one epoch of SupCon on the sample, and the summary holds the linear probe's top-1", async () => {
    const out = tmp('run');
    const { summary, runDir } = await train(
      { data: { type: 'fashion-mnist', sample: true, trainSize: 1000, testSize: 500 }, loss: { type: 'supcon-out' }, train: { epochs: 1, batchSize: 64 } },
      { out, logger: quiet },
    );
    expect(runDir).toBe(out);
    const probe = top1(summary.eval.linearProbe);
    expect(typeof probe).toBe('number');
    // Ten classes: a trained encoder's probe is far above chance.
    expect(probe).toBeGreaterThan(0.3);
    expect(probe).toBeLessThanOrEqual(1);
    // The one summary.json holds the runner's keys, the procedure's and the results.
    expect(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'))).toEqual(summary);
    expect(summary).toMatchObject({ stage: 'supcon', steps: 15, trainSize: 1000, testSize: 500 });
  }, 300_000);

  it("takes defineConfig's result as it is (a typed config), and refuses a config that is not an object, naming the argument", async () => {
    // Type-level: defineConfig's result is a valid argument (tsc of this file checks it); its
    // validation is the runtime's, so a bad option is reported by path before anything trains.
    const config = defineConfig({ data: { type: 'fashion-mnist', sample: true }, loss: { type: 'supcon-out' }, train: { epochs: 0 } });
    await expect(train(config, { out: tmp('typed'), logger: quiet })).rejects.toThrow(/train\.epochs/);
    await expect(train([] as object, { logger: quiet })).rejects.toThrow('train: config must be an object (or, in Node, a config file path), got an array');
  });
});
