// Shared by the study table tools (stability-tables.mjs, ablation-tables.mjs,
// long-tail-tables.mjs): reading a sweep's finished runs from a root folder, and number formats.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { gatherSweep, loadSweep } from '@supcon/train';

/** `--root DIR` (where runs/ is; default .) and `--seeds 0,1` (only these seeds' runs) from argv. */
export function studyArgs(args = process.argv.slice(2)) {
  const at = args.indexOf('--root');
  const root = at >= 0 ? path.resolve(args[at + 1]) : process.cwd();
  const seedsAt = args.indexOf('--seeds');
  const seeds = seedsAt >= 0 ? new Set(args[seedsAt + 1].split(',').map(Number)) : undefined;
  return { root, seeds };
}

/** This repository's root (the sweep files are read from its examples/). */
export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/**
 * A sweep file of examples/ and its gathered runs (filtered to `seeds`), with the runs' folders
 * under `root`: the sweep files' `out` is relative to the current folder, so they are read from there.
 */
export async function loadStudy(file, { root, seeds }) {
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const sweep = await loadSweep(path.join(repoRoot, 'examples', file));
    const results = gatherSweep(sweep).filter((r) => !seeds || seeds.has(r.values.seed));
    return { sweep, results };
  } finally {
    process.chdir(cwd);
  }
}

/** A finished run's summary.json. */
export const runSummary = (result) => JSON.parse(readFileSync(path.join(result.dir, 'summary.json'), 'utf8'));

export const pct = (v) => (typeof v === 'number' && Number.isFinite(v) ? (100 * v).toFixed(2) : '–');
export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1); 0 for one value. */
export const std = (xs) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0);
/** `mean ± std (n)` in percent of fractions `xs`; `–` when there are none. */
export const meanCell = (xs) => (xs.length ? `${pct(mean(xs))}${xs.length > 1 ? ` ± ${pct(std(xs))}` : ''} (${xs.length})` : '–');
