/**
 * The config file swapped-loss.config.ts, run from code with each of four losses in turn: the
 * config's own (supcon-in), then supcon-out, simclr and cross-entropy, by overriding its `loss`.
 * The summary says which training procedure each loss called for (`stage`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '@supcon/core';
import { train } from '@supcon/train';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'swapped-loss.config.ts');
const base = await loadConfigFile(file);
const root = mkdtempSync(path.join(tmpdir(), 'supcon-swap-'));
for (const loss of [base.loss, { type: 'supcon-out' }, { type: 'simclr' }, { type: 'cross-entropy' }]) {
  const type = (loss as { type: string }).type;
  const { summary } = await train({ ...base, loss, out: path.join(root, type) }, { logger: { info: () => {}, warn: console.warn } });
  const probe = (summary.eval.linearProbe as { top1: number }).top1;
  console.log(`${type.padEnd(14)} stage ${String(summary.stage).padEnd(7)} linear probe top-1 ${(100 * probe).toFixed(1)}%`);
}
