#!/usr/bin/env node
// The long-tailed sampler study's tables (docs/samplers.md), from the sweep's run folders
// (examples/long-tail/samplers.yaml): for SupCon L_out and cross-entropy with each sampler,
// the linear probe and kNN top-1 on the balanced test split, the probe's mean per-class accuracy
// over the head (the 3 largest classes), middle (4) and tail (3 smallest) of the training split,
// and every class's accuracy; means over the seeds that finished. For reference, the same per-class
// figures of the stability study's base runs (the same recipe on a balanced 600 images per class,
// examples/stability/results, seeds 0-2): Fashion-MNIST's classes are not equally hard, so the tail's
// accuracy is best read against the same classes trained balanced. It reads the folders only, so it
// can run at any point of the sweep; `npm run study:long-tail` runs the sweep first.
//
//   node tools/long-tail-tables.mjs [--root DIR] [--seeds 0,1]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { longTailCounts } from '@supcon/data';
import { loadStudy, mean, meanCell, repoRoot, runSummary, studyArgs } from './study-common.mjs';

const options = studyArgs();
const { sweep, results } = await loadStudy('long-tail/samplers.yaml', options);
const done = results.filter((r) => r.status === 'done');
// Fashion-MNIST's training split: 10 classes of 6000, cut to the base config's profile.
const ratio = sweep.base.data.longTail.imbalanceRatio;
const counts = longTailCounts(10, 6000, ratio);
const LOSS = { 'supcon-out': 'SupCon L_out', 'cross-entropy': 'cross-entropy' };
const groups = new Map();
for (const r of results) {
  const key = `${LOSS[r.values.loss.type] ?? r.values.loss.type} | ${r.values.sampler.type}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(r);
}
const perClass = (rs) => rs.map((r) => runSummary(r).eval.linearProbe.perClassAccuracy);
const part = (rows, from, to) => rows.map((acc) => mean(acc.slice(from, to)));
console.log(`${done.length} of ${results.length} runs done. Training images per class: ${counts.join(', ')} (imbalance ratio ${ratio}); test: 200 per class.`);
console.log('Top-1 (%), mean ± sample std over seeds (n runs); head / middle / tail: the probe\'s mean per-class accuracy over classes 0–2 / 3–6 / 7–9.\n');
console.log('| loss | sampler | linear probe | kNN (k = 20) | head | middle | tail |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const classRows = [];
// The balanced reference: the stability study's base runs, committed.
for (const [loss, folder] of [['SupCon L_out', 'supcon'], ['cross-entropy', 'ce']]) {
  const summaries = [0, 1, 2].map((seed) => JSON.parse(readFileSync(path.join(repoRoot, 'examples/stability/results', folder, `base_seed-${seed}.summary.json`), 'utf8')));
  const rows = summaries.map((s) => s.eval.linearProbe.perClassAccuracy);
  const key = `${loss} | balanced, 600 per class (reference)`;
  console.log(`| ${key} | ${meanCell(summaries.map((s) => s.eval.linearProbe.top1))} | ${meanCell(summaries.map((s) => s.eval.knn.top1))} | ${meanCell(part(rows, 0, 3))} | ${meanCell(part(rows, 3, 7))} | ${meanCell(part(rows, 7, 10))} |`);
  classRows.push(`| ${key} | ${counts.map((_, c) => (100 * mean(rows.map((acc) => acc[c]))).toFixed(1)).join(' | ')} |`);
}
for (const [key, rs] of groups) {
  const finished = rs.filter((r) => r.status === 'done');
  const rows = perClass(finished);
  console.log(`| ${key} | ${meanCell(finished.map((r) => r.linearProbeTop1))} | ${meanCell(finished.map((r) => r.knnTop1))} | ${meanCell(part(rows, 0, 3))} | ${meanCell(part(rows, 3, 7))} | ${meanCell(part(rows, 7, 10))} |`);
  if (rows.length) classRows.push(`| ${key} | ${counts.map((_, c) => (100 * mean(rows.map((acc) => acc[c]))).toFixed(1)).join(' | ')} |`);
}
console.log('\nThe probe\'s accuracy per class (%), mean over seeds; the header gives each class\'s training images.\n');
console.log(`| loss | sampler | ${counts.map((n, c) => `${c} (${n})`).join(' | ')} |`);
console.log(`| --- | --- | ${counts.map(() => '---').join(' | ')} |`);
for (const row of classRows) console.log(row);
