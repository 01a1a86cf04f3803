/** Shared by memory.test.ts and momentum.test.ts: a run that records every step's loss and can be stopped at a global step. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../src';

const quiet = { info: () => undefined, warn: () => undefined };

/** Trains `config` into a new folder (or `out`); the loss of every step, the folder, and what train() resolved or threw. */
export async function recordedRun(config: Record<string, unknown>, options: { stopAt?: number; out?: string; resume?: boolean } = {}) {
  const losses: number[] = [];
  const out = options.out ?? path.join(mkdtempSync(path.join(tmpdir(), 'supcon-recorded-')), 'run');
  const hooks = [
    {
      afterStep(_context: unknown, step: { globalStep: number; loss: number }) {
        losses.push(step.loss);
        if (step.globalStep === options.stopAt) throw new Error('stopped by the test');
      },
    },
  ];
  const result = await train({ ...config, out }, { logger: quiet, hooks, resume: options.resume }).catch((e: unknown) => e);
  return { losses, out, result };
}

/** A file of one of a run's checkpoints. */
export const checkpointFile = (out: string, name: string, file: string) => readFileSync(path.join(out, 'checkpoints', name, file));
