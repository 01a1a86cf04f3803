#!/usr/bin/env node
// The stability study's tables (README "Stability", docs/guide/sweeps.md), from the two sweeps'
// run folders: for each setting changed one at a time (augmentation, optimizer, learning rate,
// batch size, and temperature for SupCon), the linear probe top-1 at each value (mean ± std over
// the seeds that finished) and the spread of those means (sample std and max − min), SupCon L_out
// beside cross-entropy. It reads the folders only (gatherSweep), so it can run at any point of the
// sweeps; `npm run study:stability` runs them first.
//
//   node tools/stability-tables.mjs [--root DIR] [--seeds 0,1]
// DIR: where runs/stability is (default: .); --seeds: count only these seeds' runs (both losses on
// the same seeds when one sweep is further along than the other).
import path from 'node:path';
import { sweepAxisStats, sweepValueLabel } from '@supcon/cli';
import { loadStudy, pct, studyArgs } from './study-common.mjs';

const { root, seeds } = studyArgs();
const load = (name) => loadStudy(path.join('stability', `${name}.yaml`), { root, seeds });

const cell = (p) => (p && p.n ? `${pct(p.probeMean)}${p.n > 1 ? ` ± ${pct(p.probeStd)}` : ''} (${p.n})` : '–');
const LABELS = { augment: 'augmentation', optimizer: 'optimizer', 'optimizer.learningRate': 'learning rate', 'train.batchSize': 'batch size', 'loss.temperature': 'temperature' };
const short = (key, point) => {
  const v = point.value;
  if (v && typeof v === 'object' && typeof v.type === 'string') return point.base ? `${v.type} (base)` : v.type;
  return `${sweepValueLabel(v)}${point.base ? ' (base)' : ''}`;
};

const supcon = await load('supcon');
const ce = await load('ce');
const stats = { supcon: sweepAxisStats(supcon.sweep, supcon.results), ce: sweepAxisStats(ce.sweep, ce.results) };
const done = (r) => r.results.filter((x) => x.status === 'done').length;
if (seeds) console.log(`Seeds ${[...seeds].join(', ')} only.`);
console.log(`SupCon L_out: ${done(supcon)} of ${supcon.results.length} runs done; cross-entropy: ${done(ce)} of ${ce.results.length}.`);
console.log('Linear probe top-1 (%), mean ± sample std over seeds (n runs); spread = std and range of the per-value means.\n');

const spreadRows = [];
for (const key of Object.keys(LABELS)) {
  const s = stats.supcon.find((a) => a.key === key);
  const c = stats.ce.find((a) => a.key === key);
  if (!s && !c) continue;
  console.log(`### ${LABELS[key]}\n`);
  console.log('| value | SupCon L_out | cross-entropy |');
  console.log('| --- | --- | --- |');
  const labels = [...new Set([...(s?.points ?? []), ...(c?.points ?? [])].map((p) => short(key, p)))];
  for (const label of labels) {
    const sp = s?.points.find((p) => short(key, p) === label);
    const cp = c?.points.find((p) => short(key, p) === label);
    console.log(`| ${label} | ${cell(sp)} | ${cell(cp)} |`);
  }
  console.log('');
  const sp = (a) => (a?.spread ? `${pct(a.spread.std)} / ${pct(a.spread.range)}` : '–');
  spreadRows.push(`| ${LABELS[key]} | ${sp(s)} | ${sp(c)} |`);
}
console.log('### Spread of top-1 across each setting (std / range, points)\n');
console.log('| setting | SupCon L_out | cross-entropy |');
console.log('| --- | --- | --- |');
for (const r of spreadRows) console.log(r);
