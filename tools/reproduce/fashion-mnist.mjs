#!/usr/bin/env node
/**
 * The Fashion-MNIST reproduction (README "Result"), in one command that can be run in parts:
 *
 *   npm run reproduce:fashion-mnist [-- --only supcon-out,ce] [--seeds 0,1,2] [--runs DIR] [--dry-run]
 *
 * Runs examples/fashion-mnist-repro/{supcon-out,ce}.yaml with seeds 0, 1 and 2 and
 * {supcon-in,simclr}.yaml with seed 0, each into runs/fashion-mnist-repro/<loss>-seed<k>, one after
 * the other with the built CLI (`--runs DIR` puts the run folders elsewhere, e.g. outside a clone
 * that may be replaced). A run with a summary.json is done and skipped; a run folder without
 * one is resumed from its last checkpoint (`--resume`), so the set survives being stopped at any
 * point. The finished runs' summaries are copied to examples/fashion-mnist-repro/results/ (commit
 * them), and the comparison table over seeds is printed at the end (`supcon compare --group`).
 *
 * Runs longer than a session: `--park` (after stopping the command) copies each unfinished run's
 * latest checkpoint, metrics and generated config into examples/fashion-mnist-repro/parked/<run>/
 * (commit it). On a fresh clone, a run with no run folder but a parked copy starts from that copy
 * and resumes, byte-exact, with the config it was started with.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import console from 'node:console';
import process from 'node:process';
import { parse, stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'packages/cli/dist/bin.js');
const configsDir = path.join(root, 'examples/fashion-mnist-repro');
const resultsDir = path.join(configsDir, 'results');
const parkedDir = path.join(configsDir, 'parked');
/** The generated config of a parked run, beside its run files. */
const PARKED_CONFIG = 'run-config.yaml';

/** Which configs run with which seeds (the plan: three seeds for L_out and cross-entropy). */
const PLAN = [
  { loss: 'supcon-out', seeds: [0, 1, 2] },
  { loss: 'ce', seeds: [0, 1, 2] },
  { loss: 'supcon-in', seeds: [0] },
  { loss: 'simclr', seeds: [0] },
];

function option(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = process.argv[i + 1];
  if (!value || value.startsWith('--')) throw new Error(`reproduce: --${name} needs a value`);
  return value;
}

const runsDir = path.resolve(option('runs') ?? path.join(root, 'runs/fashion-mnist-repro'));
const only = option('only')?.split(',');
const seedsOverride = option('seeds')?.split(',').map(Number);
const dryRun = process.argv.includes('--dry-run');
const park = process.argv.includes('--park');
if (only) for (const o of only) if (!PLAN.some((p) => p.loss === o)) throw new Error(`reproduce: --only ${o}: expected one of ${PLAN.map((p) => p.loss).join(', ')}`);
if (seedsOverride?.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`reproduce: --seeds: expected integers >= 0, got ${option('seeds')}`);
if (!existsSync(cli)) {
  console.error(`reproduce: ${path.relative(root, cli)} is missing: build first (npx nx run @supcon/cli:build)`);
  process.exit(1);
}

const runs = PLAN.filter((p) => !only || only.includes(p.loss)).flatMap((p) => (seedsOverride ?? p.seeds).map((seed) => ({ loss: p.loss, seed })));
const started = Date.now();

/** The newest `checkpoints/epoch-NNNN` folder name of a run folder, or undefined. */
function latestCheckpoint(out) {
  const dir = path.join(out, 'checkpoints');
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir).filter((d) => /^epoch-\d+$/.test(d)).sort().pop();
}

if (park) {
  // Copy each unfinished run with a checkpoint into parked/<run>: written beside, then renamed
  // over the previous parked copy of the same run (this tool's own files), so a failure midway
  // leaves the previous copy whole.
  let parked = 0;
  for (const { loss, seed } of runs) {
    const name = `${loss}-seed${seed}`;
    const out = path.join(runsDir, name);
    const checkpoint = existsSync(out) && !existsSync(path.join(out, 'summary.json')) ? latestCheckpoint(out) : undefined;
    if (!checkpoint) continue;
    const target = path.join(parkedDir, name);
    const staging = `${target}.tmp-${process.pid}`;
    mkdirSync(path.join(staging, 'checkpoints'), { recursive: true });
    for (const f of ['config.json', 'metrics.jsonl']) if (existsSync(path.join(out, f))) copyFileSync(path.join(out, f), path.join(staging, f));
    cpSync(path.join(out, 'checkpoints', checkpoint), path.join(staging, 'checkpoints', checkpoint), { recursive: true });
    copyFileSync(path.join(runsDir, 'configs', `${name}.yaml`), path.join(staging, PARKED_CONFIG));
    if (existsSync(target)) rmSync(target, { recursive: true });
    renameSync(staging, target);
    console.error(`${name}: parked at ${checkpoint} in ${path.relative(root, target)} (commit it; a fresh clone resumes from it)`);
    parked++;
  }
  console.error(parked ? `${parked} run(s) parked` : 'nothing to park: no unfinished run has a checkpoint');
  process.exit(0);
}

mkdirSync(path.join(runsDir, 'configs'), { recursive: true });
mkdirSync(resultsDir, { recursive: true });
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();

for (const [i, { loss, seed }] of runs.entries()) {
  const name = `${loss}-seed${seed}`;
  const out = path.join(runsDir, name);
  const label = `[${i + 1}/${runs.length}] ${name}`;
  if (existsSync(path.join(out, 'summary.json'))) {
    console.error(`${label}: done (${path.relative(root, out)}/summary.json)`);
  } else {
    const configFile = path.join(runsDir, 'configs', `${name}.yaml`);
    const parkedCopy = path.join(parkedDir, name);
    if (!existsSync(out) && existsSync(path.join(parkedCopy, PARKED_CONFIG))) {
      // A run parked by an earlier session: its files and the config it was started with.
      if (!dryRun) {
        cpSync(parkedCopy, out, { recursive: true, filter: (src) => path.basename(src) !== PARKED_CONFIG || path.dirname(src) !== parkedCopy });
        const text = readFileSync(path.join(parkedCopy, PARKED_CONFIG), 'utf8');
        const config = parse(text);
        config.out = path.relative(root, out);
        writeFileSync(configFile, `# restored from ${path.relative(root, parkedCopy)}/${PARKED_CONFIG}\n${stringify(config)}`);
      }
      console.error(`${label}: restored from ${path.relative(root, parkedCopy)} (checkpoint ${latestCheckpoint(parkedCopy)})`);
    } else if (!existsSync(out) || !existsSync(configFile)) {
      // The example config with this seed: written beside the runs, not into a run folder.
      const config = parse(readFileSync(path.join(configsDir, `${loss}.yaml`), 'utf8'));
      Object.assign(config, { name: `fashion-mnist-${name}`, seed, out: path.relative(root, out) });
      writeFileSync(configFile, `# generated by tools/reproduce/fashion-mnist.mjs from examples/fashion-mnist-repro/${loss}.yaml\n${stringify(config)}`);
    }
    const args = [cli, 'train', '--config', configFile, '--out', out];
    if (existsSync(out)) args.push('--resume');
    console.error(`${label}: ${existsSync(out) ? 'resuming' : 'starting'} (node ${args.map((a) => path.relative(root, a) || a).join(' ')})`);
    if (dryRun) continue;
    const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) {
      console.error(`${label}: failed with exit code ${result.status ?? result.signal}; rerun the command to resume it`);
      process.exit(result.status ?? 1);
    }
  }
  if (!dryRun && existsSync(path.join(out, 'summary.json'))) {
    copyFileSync(path.join(out, 'summary.json'), path.join(resultsDir, `${name}.summary.json`));
    if (existsSync(path.join(parkedDir, name))) console.error(`${label}: finished; its parked copy is no longer needed: git rm -r ${path.relative(root, path.join(parkedDir, name))}`);
    const provenance = path.join(resultsDir, `${name}.provenance.json`);
    if (!existsSync(provenance)) writeFileSync(provenance, `${JSON.stringify({ commit, copiedAt: new Date().toISOString() }, null, 2)}\n`);
  }
}
if (dryRun) process.exit(0);

console.error(`all ${runs.length} runs done in this invocation's ${((Date.now() - started) / 60000).toFixed(1)} min`);
const groups = PLAN.filter((p) => !only || only.includes(p.loss)).map((p) => (seedsOverride ?? p.seeds).map((s) => path.join(runsDir, `${p.loss}-seed${s}`)).join(','));
const compare = spawnSync(process.execPath, [cli, 'compare', ...groups.flatMap((g) => ['--group', g])], { cwd: root, stdio: 'inherit' });
process.exit(compare.status ?? 1);
