#!/usr/bin/env node
// The denominator and positives-cap ablation's table (docs/losses.md), from the sweep's run
// folders (examples/ablation/supcon-options.yaml): for the base run (denominator 'all', no cap)
// and each setting changed from it, the linear probe and kNN top-1 (mean ± std over the seeds
// that finished, and each seed's) and the probe's difference from the base run of the same seed
// (mean ± std over seeds).
// It reads the folders only, so it can run at any point of the sweep; `npm run study:ablation`
// runs the sweep first.
//
//   node tools/ablation-tables.mjs [--root DIR] [--seeds 0,1]
import { loadStudy, mean, meanCell, pct, std, studyArgs } from './study-common.mjs';

const options = studyArgs();
const { sweep, results } = await loadStudy('ablation/supcon-options.yaml', options);
const done = results.filter((r) => r.status === 'done');
// A cap counts rows: views per other image, from the base config (train.views, default 2).
const views = sweep.base.train?.views ?? 2;
const label = (r) => {
  if (!r.varied) return "denominator 'all', no cap (base)";
  const v = r.values[r.varied];
  if (r.varied === 'loss.denominator') return `denominator '${v}'`;
  if (r.varied === 'loss.positivesCap') return `positivesCap ${v} (${v / views} other image${v / views > 1 ? 's' : ''})`;
  return `${r.varied} = ${JSON.stringify(v)}`;
};
const groups = new Map();
for (const r of results) {
  const key = label(r);
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(r);
}
const baseBySeed = new Map(done.filter((r) => !r.varied).map((r) => [r.values.seed, r.linearProbeTop1]));
console.log(`${done.length} of ${results.length} runs done. Top-1 (%), mean ± sample std over seeds (n runs); Δ probe: against the base run of the same seed, mean ± std over seeds.\n`);
console.log('| setting | linear probe | kNN (k = 20) | Δ probe (points) | probe per seed |');
console.log('| --- | --- | --- | --- | --- |');
for (const [key, rs] of groups) {
  const finished = rs.filter((r) => r.status === 'done');
  const probe = finished.map((r) => r.linearProbeTop1);
  const knn = finished.map((r) => r.knnTop1);
  const paired = finished.filter((r) => baseBySeed.has(r.values.seed)).map((r) => r.linearProbeTop1 - baseBySeed.get(r.values.seed));
  const delta = rs[0].varied && paired.length ? `${mean(paired) >= 0 ? '+' : ''}${(100 * mean(paired)).toFixed(2)}${paired.length > 1 ? ` ± ${(100 * std(paired)).toFixed(2)}` : ''}` : '–';
  const perSeed = finished.map((r) => `${r.values.seed}: ${pct(r.linearProbeTop1)}`).join(', ');
  console.log(`| ${key} | ${meanCell(probe)} | ${meanCell(knn)} | ${delta} | ${perSeed || '–'} |`);
}
