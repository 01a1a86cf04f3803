/**
 * Training from your own code with @supcon/train: one epoch of SupCon on 1,000 images of the
 * Fashion-MNIST sample shipped with @supcon/data, then the linear probe and kNN on the frozen
 * encoder. The run folder (config.json, metrics.jsonl, checkpoints/, summary.json) goes to a
 * temporary folder here; leave `out` out and it goes to the config's `out` (runs/<name>).
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/train-from-code.ts`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const out = path.join(mkdtempSync(path.join(tmpdir(), 'supcon-example-')), 'run');

// #region train
import { train } from '@supcon/train';

const { summary, runDir } = await train(
  {
    name: 'train-from-code',
    data: { type: 'fashion-mnist', sample: true, trainSize: 1000, testSize: 500 },
    loss: { type: 'supcon-out', temperature: 0.1 },
    backbone: { type: 'small-cnn', channels: [16, 32] },
    train: { epochs: 1, batchSize: 64 },
    eval: [{ type: 'linear-probe' }, { type: 'knn', k: 20 }],
  },
  { out, logger: { info: () => {}, warn: console.warn } }, // without `out`: the config's (runs/train-from-code)
);
const probe = summary.eval.linearProbe as { top1: number };
const knn = summary.eval.knn as { top1: number };
console.log(`${runDir}: linear probe top-1 ${(100 * probe.top1).toFixed(1)}%, 20-NN top-1 ${(100 * knn.top1).toFixed(1)}%`);
// #endregion train
if (!(probe.top1 > 0.3)) throw new Error(`a trained encoder's probe should beat chance (10%) by far, got ${probe.top1}`);
