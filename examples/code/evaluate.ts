/**
 * `evaluate()` of @supcon/train: re-runs evaluators on a trained run and updates its
 * summary.json. A short run (one epoch on 512 images of the Fashion-MNIST sample, with the linear
 * probe) is trained into a temporary folder, then evaluated again with retrieval added: the
 * probe's result is kept, retrieval's is added, and `evaluatedFrom` names the checkpoint.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/evaluate.ts`).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig, train } from '@supcon/train';

const run = path.join(mkdtempSync(path.join(tmpdir(), 'supcon-evaluate-')), 'run');
const config = defineConfig({
  data: { type: 'fashion-mnist-sample', trainSize: 512, testSize: 200 },
  backbone: { type: 'small-cnn', channels: [8, 16] },
  loss: { type: 'supcon-out', temperature: 0.1 },
  train: { epochs: 1, batchSize: 64 },
  eval: [{ type: 'linear-probe' }],
  out: run,
});
const quiet = { info: () => {}, warn: console.warn };
await train({ ...config }, { logger: quiet });

// #region evaluate
import { evaluate } from '@supcon/train';

await evaluate(run, { ...config, eval: [{ type: 'retrieval' }] }, { logger: quiet }); // run: the run's folder
// #endregion evaluate

const summary = JSON.parse(readFileSync(path.join(run, 'summary.json'), 'utf8')) as {
  eval: { linearProbe?: { top1: number }; retrieval?: { precisionAt1: number } };
  evaluatedFrom?: string;
};
const { linearProbe, retrieval } = summary.eval;
if (!linearProbe || !retrieval) throw new Error(`summary.json should hold both results, has ${Object.keys(summary.eval).join(', ')}`);
if (!(retrieval.precisionAt1 > 0.2)) throw new Error(`precision@1 should beat chance (10%), got ${retrieval.precisionAt1}`);
if (!summary.evaluatedFrom?.endsWith('epoch-0001')) throw new Error(`evaluatedFrom: ${summary.evaluatedFrom}`);
console.log(`evaluate(): retrieval added (precision@1 ${(100 * retrieval.precisionAt1).toFixed(1)}%), linear probe kept (${(100 * linearProbe.top1).toFixed(1)}%), from ${path.basename(summary.evaluatedFrom)}`);
