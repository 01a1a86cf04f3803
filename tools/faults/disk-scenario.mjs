// Child of disk.test.ts: one full- or read-only-disk scenario with the built CLI, printed as JSON.
//   node disk-scenario.mjs <mode: tmpfs|inject> <case: enospc|erofs-checkpoints|erofs-run> <work dir> <config file>
// tmpfs: run inside a private mount namespace (`unshare -rm`, or `unshare -m` as root); the run
// folder is on a 4 MiB tmpfs that is filled up or remounted read-only. inject: no mounts; the
// writes fail through tools/faults/fs-fault.cjs (preloaded, SUPCON_FS_FAULT).
//
// 1. train, killed by the fault seam after its second checkpoint (epoch-0000-step-000006);
// 2. the fault on, --resume: must fail; the hashes of every earlier checkpoint file are taken
//    before and after, and the newest checkpoint is loaded with @supcon/core;
// 3. the fault off, --resume to the end; the run folder is copied to <work dir>/result.
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [mode, scenario, work, configFile] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const bin = path.join(repo, 'packages', 'cli', 'dist', 'bin.js');
const mnt = path.join(work, 'mnt');
const runDir = path.join(mnt, 'run');
const checkpoints = path.join(runDir, 'checkpoints');

const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
};

function supcon(args, env = {}) {
  const base = { ...process.env, CI: 'true' };
  delete base.SUPCON_FAULT_KILL_AT;
  delete base.SUPCON_FS_FAULT;
  const r = spawnSync(process.execPath, [...(env.SUPCON_FS_FAULT ? ['--require', path.join(here, 'fs-fault.cjs')] : []), bin, ...args], {
    encoding: 'utf8',
    env: { ...base, ...env },
    timeout: 240_000,
  });
  return { code: r.status, signal: r.signal, stderr: r.stderr, stdout: r.stdout };
}
const train = (env, resume) => supcon(['train', '--config', configFile, '--out', runDir, '--no-report', ...(resume ? ['--resume'] : [])], env);

/** sha256 of every file under `dir`, by relative path. */
function hashes(dir, prefix = '') {
  const out = {};
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) Object.assign(out, hashes(file, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return out;
}

function loadLatest() {
  const script = `import '@tensorflow/tfjs-backend-cpu';
    import { registerBackboneLayers } from '@supcon/backbones';
    import { latestCheckpoint, loadCheckpoint } from '@supcon/core';
    registerBackboneLayers();
    const dir = await latestCheckpoint(${JSON.stringify(runDir)});
    const loaded = await loadCheckpoint(dir);
    console.log(JSON.stringify({ dir, weights: loaded.model.countParams(), optimizer: loaded.optimizerClass }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop()) : { error: r.stderr };
}

const report = { mode, scenario };
mkdirSync(mnt, { recursive: true });
if (mode === 'tmpfs') sh('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);

// 1. A run killed after its second checkpoint.
report.first = train({ SUPCON_FAULT_KILL_AT: 'checkpoint-saved:2' });
report.checkpointsBefore = readdirSync(checkpoints).sort();
const watched = scenario === 'erofs-run' ? runDir : checkpoints;
const before = hashes(watched);

// 2. The fault on.
let faultEnv = {};
const filler = path.join(mnt, 'filler');
if (scenario === 'enospc') {
  if (mode === 'tmpfs') {
    // Leave 3 pages: enough for config.json's rewrite and the log's lines, not for a checkpoint.
    const { bavail, bsize } = statfsSync(mnt);
    writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 3 * 4096)));
    report.freeBytes = statfsSync(mnt).bavail * statfsSync(mnt).bsize;
  } else {
    faultEnv = { SUPCON_FS_FAULT: `ENOSPC:${checkpoints}/` };
  }
} else if (scenario === 'erofs-checkpoints') {
  if (mode === 'tmpfs') {
    sh('mount', ['--bind', checkpoints, checkpoints]);
    sh('mount', ['-o', 'remount,bind,ro', checkpoints]);
  } else {
    faultEnv = { SUPCON_FS_FAULT: `EROFS:${checkpoints}` };
  }
} else if (scenario === 'erofs-run') {
  if (mode === 'tmpfs') sh('mount', ['-o', 'remount,ro', mnt]);
  else faultEnv = { SUPCON_FS_FAULT: `EROFS:${runDir}` };
}
report.failed = train(faultEnv, true);
report.unchanged = JSON.stringify(hashes(watched)) === JSON.stringify(before);
report.changedFiles = Object.keys({ ...before, ...hashes(watched) }).filter((f) => before[f] !== hashes(watched)[f]);
report.checkpointsAfterFailure = readdirSync(checkpoints).sort();
report.loaded = loadLatest();

// 3. The fault off: resume to the end.
if (scenario === 'enospc' && mode === 'tmpfs') rmSync(filler);
if (scenario === 'erofs-checkpoints' && mode === 'tmpfs') sh('umount', [checkpoints]);
if (scenario === 'erofs-run' && mode === 'tmpfs') sh('mount', ['-o', 'remount,rw', mnt]);
report.last = train({}, true);
if (existsSync(path.join(runDir, 'summary.json'))) cpSync(runDir, path.join(work, 'result'), { recursive: true });
if (mode === 'tmpfs') sh('umount', [mnt]);
for (const key of ['first', 'failed', 'last']) report[key].stderr = report[key].stderr.split('\n').slice(-12).join('\n');
process.stdout.write(`${JSON.stringify(report)}\n`);
