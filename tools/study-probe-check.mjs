#!/usr/bin/env node
// An independent check of a study run's linear probe: re-runs the run's evaluators on its last
// checkpoint (on a copy of the run folder, which is only read) with one more evaluator that writes
// the frozen encoder features the probe saw, then fits scikit-learn's logistic regression on them
// (tools/study_probe_sklearn.py: StandardScaler + lbfgs, C = 1, as packages/eval/bench/probe-vs-sklearn.py)
// and prints both probes' top-1 and per-class accuracy side by side.
//
//   node tools/study-probe-check.mjs --run runs/long-tail/samplers/<id> [--run ...]
// Needs /usr/bin/python3 with python3-sklearn (run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { defineFactory, definePlugin } from '@supcon/core';
import { builtinPlugins, evaluate } from '@supcon/train';
import { z } from 'zod';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const runs = args.flatMap((a, i) => (a === '--run' ? [path.resolve(args[i + 1])] : []));
if (runs.length === 0) throw new Error('--run DIR: a finished run folder (repeat for more)');

/** An evaluator that writes the features and labels it is handed (FILE.json + FILE.f32: train rows, then test rows). */
const dump = definePlugin({
  name: 'study-probe-check',
  evaluators: {
    'dump-features': defineFactory({
      schema: z.strictObject({ file: z.string() }),
      description: 'writes the frozen features (probe check)',
      create: (o) => ({
        key: 'dumpFeatures',
        async evaluate(input) {
          const [n, dim] = input.trainFeatures.shape;
          const m = input.testFeatures.shape[0];
          const rows = new Float32Array((n + m) * dim);
          rows.set(await input.trainFeatures.data(), 0);
          rows.set(await input.testFeatures.data(), n * dim);
          writeFileSync(`${o.file}.f32`, Buffer.from(rows.buffer));
          writeFileSync(`${o.file}.json`, JSON.stringify({ dim, train: { rows: n, labels: Array.from(input.train.labels) }, test: { rows: m, labels: Array.from(input.test.labels) } }));
          return { rows: n + m };
        },
      }),
    }),
  },
});

const quiet = { info: () => undefined, warn: (m) => console.warn(m) };
// Debian's OpenBLAS runs only with these two unset (not empty).
const pythonEnv = { ...process.env };
delete pythonEnv.OPENBLAS_CORETYPE;
delete pythonEnv.OPENBLAS_L2_SIZE;
for (const run of runs) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'supcon-probe-check-'));
  try {
    const copy = path.join(work, 'run');
    cpSync(run, copy, { recursive: true });
    const config = JSON.parse(readFileSync(path.join(copy, 'config.json'), 'utf8'));
    const file = path.join(work, 'features');
    config.eval = [{ type: 'linear-probe' }, { type: 'dump-features', file }];
    const { summary } = await evaluate(copy, config, { plugins: [...builtinPlugins, dump], logger: quiet });
    const ours = summary.eval.linearProbe;
    const py = spawnSync('/usr/bin/python3', [path.join(here, 'study_probe_sklearn.py'), file], { encoding: 'utf8', env: pythonEnv });
    if (py.status !== 0) throw new Error(`study_probe_sklearn.py: ${py.stderr}`);
    const sk = JSON.parse(py.stdout);
    const f = (x) => (100 * x).toFixed(2);
    console.log(`${path.relative(process.cwd(), run)}: top-1 supcon ${f(ours.top1)} / scikit-learn ${f(sk.top1)} (train ${f(ours.trainTop1)} / ${f(sk.trainTop1)})`);
    console.log(`  per class, supcon:       ${ours.perClassAccuracy.map(f).join(' ')}`);
    console.log(`  per class, scikit-learn: ${sk.perClassAccuracy.map(f).join(' ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
