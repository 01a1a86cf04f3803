/**
 * The config file swapped-loss.config.ts (the run of examples/fashion-mnist-tiny.yaml, with
 * SupCon's L_in), run from code with each of four losses in turn by overriding its `loss`. The
 * summary says which training procedure each loss called for (`stage`). The runs go to
 * runs/tiny-<loss> (replacing an earlier one there), where `supcon compare` puts them side by side.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/swap-losses.ts`).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'swapped-loss.config.ts');

// #region swap
import { loadConfigFile } from '@supcon/core';
import { train } from '@supcon/train';

const base = await loadConfigFile(file); // examples/code/swapped-loss.config.ts
const logger = { info: () => {}, warn: console.warn }; // warnings only, no progress lines
const runs: { type: string; stage: unknown; top1: number }[] = [];
for (const type of ['supcon-out', 'supcon-in', 'simclr', 'cross-entropy']) {
  const { summary } = await train({ ...base, loss: { type }, out: `runs/tiny-${type}` }, { overwrite: true, logger });
  runs.push({ type, stage: summary.stage, top1: (summary.eval.linearProbe as { top1: number }).top1 });
}
// #endregion swap

const stages = runs.map((r) => r.stage).join(', ');
if (stages !== 'supcon, supcon, simclr, ce') throw new Error(`the losses should pick the stages supcon, supcon, simclr, ce, got ${stages}`);
const listed = runs.map((r) => `${r.type} (${String(r.stage)}) ${(100 * r.top1).toFixed(1)}%`).join(', ');
if (!runs.every((r) => r.top1 > 0.2)) throw new Error(`every loss's probe should beat chance (10%): ${listed}`);
console.log(`runs/tiny-*, linear probe top-1 after one epoch: ${listed}`);
