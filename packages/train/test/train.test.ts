/**
 * train() and evaluate() as a library user calls them, with no CLI: the weights checked against
 * those the procedures computed before they moved out of @supcon/cli (reference.json, made by
 * fixtures/make-reference.mjs at commit 6759338, wasm on one thread), the same run in memory, and
 * evaluate() on a finished run. (quickstart.test.ts runs the README's call, on every thread.)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { memoryStorage } from '@supcon/core';
import type { EvalResult } from '@supcon/core';
import { evaluate, train } from '../src';
import configsJson from './fixtures/reference-configs.json';

const reference = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/reference.json'), 'utf8')) as {
  runs: Record<string, { checkpoint: string; weightsSha256: string; optimizerSha256: string; epochLoss: number[]; linearProbeTop1: number; knnTop1: number }>;
};
/** The two tiny configs (SupCon, cross-entropy) the reference was made with. */
const configs = configsJson as Record<'supcon' | 'ce', Record<string, unknown>>;
const quiet = { info: () => undefined, warn: () => undefined };
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const tmp = (name: string) => path.join(mkdtempSync(path.join(tmpdir(), 'supcon-train-')), name);
const top1 = (r: EvalResult | undefined) => (r as { top1: number } | undefined)?.top1;

describe('train() from code', () => {
  for (const name of ['supcon', 'ce'] as const) {
    it(`${name}: the same seed gives bitwise the same weights as before the move to @supcon/train`, async () => {
      const expected = reference.runs[name];
      const out = tmp(name);
      const { summary } = await train({ ...configs[name], out }, { logger: quiet });
      const checkpoint = path.join(out, 'checkpoints', expected.checkpoint);
      expect(sha(readFileSync(path.join(checkpoint, 'model.weights.bin')))).toBe(expected.weightsSha256);
      expect(sha(readFileSync(path.join(checkpoint, 'optimizer.bin')))).toBe(expected.optimizerSha256);
      expect(summary.epochLoss).toEqual(expected.epochLoss);
      expect(top1(summary.eval.linearProbe)).toBe(expected.linearProbeTop1);
      expect(top1(summary.eval.knn)).toBe(expected.knnTop1);
    }, 300_000);
  }

  it('the same run in memory writes nothing to disk and ends with the same weights', async () => {
    const storage = memoryStorage('ref');
    const cwdBefore = readdirSync(process.cwd());
    const { summary, runDir } = await train(configs.supcon, { storage, logger: quiet });
    expect(runDir).toBe('memory://ref');
    expect(readdirSync(process.cwd())).toEqual(cwdBefore);
    const files = storage.files();
    const weights = files.get(`checkpoints/${reference.runs.supcon.checkpoint}/model.weights.bin`);
    expect(weights && sha(weights)).toBe(reference.runs.supcon.weightsSha256);
    expect(JSON.parse(new TextDecoder().decode(files.get('summary.json')))).toEqual(summary);
    expect(new TextDecoder().decode(files.get('metrics.jsonl')).trim().split('\n').length).toBeGreaterThan(2);
  }, 300_000);

  it('evaluate() re-runs the evaluators on a run folder, or on one of its checkpoints, and keeps the training facts', async () => {
    const out = tmp('eval');
    const trained = await train({ ...configs.supcon, out }, { logger: quiet });
    const again = await evaluate(out, undefined, { logger: quiet });
    // The probe is deterministic (full-batch L-BFGS): the same checkpoint, the same score.
    expect(top1(again.summary.eval.linearProbe)).toBe(top1(trained.summary.eval.linearProbe));
    expect(again.summary.evaluatedFrom).toBe(path.join(out, 'checkpoints', 'epoch-0002'));
    expect(again.summary.imagesPerSecond).toBe(trained.summary.imagesPerSecond);
    expect(again.summary.epochLoss).toEqual(trained.summary.epochLoss);
    // An earlier checkpoint, with another config's evaluators: only kNN is replaced.
    const first = await evaluate(path.join(out, 'checkpoints', 'epoch-0001'), { ...configs.supcon, eval: [{ type: 'knn', k: 5 }] }, { logger: quiet });
    expect(first.summary.evaluatedFrom).toBe(path.join(out, 'checkpoints', 'epoch-0001'));
    expect(top1(first.summary.eval.linearProbe)).toBe(top1(trained.summary.eval.linearProbe));
    expect(existsSync(path.join(out, 'summary.json'))).toBe(true);
  }, 300_000);
});
