/**
 * `supcon sweep`: a thin shell over @supcon/train's sweep functions.
 *
 * - `--index I`: trains the I-th expanded run in this process (skipped when finished, resumed
 *   from its checkpoint when it has one): a Kubernetes Indexed Job's pod, a local worker, a
 *   BullMQ worker's child all run this. Exit codes: 0 done or skipped, 1 failed, 2 invalid
 *   config, 3 stopped by SIGTERM / SIGINT after writing a checkpoint.
 * - default: runs every unfinished run in `--workers N` child processes (`--index` each), with
 *   bounded retries, then writes results.json, results.csv and report.html.
 * - `--gather`: the results files from the run folders alone. `--list`: the expanded runs.
 * - `--redis URL` / `--status`: through BullMQ (./worker.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { SupconRunStoppedError, writeFileAtomic } from '@supcon/core';
import type { Plugin, ResolveOptions } from '@supcon/core';
import { DEFAULT_SWEEP_QUEUE, expandSweep, gatherSweep, loadSweep, runSweepEntry, strayRunFolders, writeSweepResults } from '@supcon/train';
import type { BackendStarter, Sweep, SweepResult, SweepRun } from '@supcon/train';
import { sweepReportHtml } from '../report/sweep-html';
import { pct, positiveInt, printSweepStatus, STOP_WITH_PARENT, stopOnSignals, supconBin, sweepViaRedis } from './worker';

export interface SweepCommandDeps {
  plugins: readonly Plugin[];
  defaults?: ResolveOptions['defaults'];
  startBackend: BackendStarter;
  print: (line: string) => void;
  printError: (line: string) => void;
  setExitCode: (code: number) => void;
}

/** Exit code of `--index` when SIGTERM / SIGINT stopped the run after a checkpoint. */
export const SWEEP_STOPPED_EXIT = 3;

const index = (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0 (a Kubernetes Indexed Job passes $JOB_COMPLETION_INDEX).');
  return n;
};

/** `node <bin> sweep --config F --index I [--threads T]`, its output into `log`. */
export function launchIndex(sweepFile: string, runIndex: number, options: { threads?: number; log?: string } = {}): ChildProcess {
  // STOP_WITH_PARENT: if this process dies outright, the child stops itself after a checkpoint
  // instead of training on beside the next `supcon sweep`'s child for the same run.
  const args = ['--import', STOP_WITH_PARENT, supconBin(), 'sweep', '--config', sweepFile, '--index', String(runIndex), ...(options.threads ? ['--threads', String(options.threads)] : [])];
  // Its own process group: a terminal's Ctrl-C reaches only the parent, which forwards one
  // SIGTERM (two signals would make the child quit without its checkpoint).
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env, detached: true });
  if (options.log) {
    mkdirSync(path.dirname(options.log), { recursive: true });
    const out = createWriteStream(options.log, { flags: 'a' });
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    child.on('close', () => out.end());
  }
  return child;
}

const describeValues = (values: Record<string, unknown>) =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');

/** results.json, results.csv and report.html from the run folders; prints where they are and the counts. */
export async function gatherAndReport(sweep: Sweep, print: (line: string) => void): Promise<readonly SweepResult[]> {
  const { json, csv, results } = await writeSweepResults(sweep, gatherSweep(sweep));
  const report = path.join(sweep.out, 'report.html');
  await writeFileAtomic(report, sweepReportHtml(sweep, results));
  const count = (s: SweepResult['status']) => results.filter((r) => r.status === s).length;
  print(`${results.length} runs: ${count('done')} done, ${count('failed')} failed, ${count('stopped') + count('running')} unfinished, ${count('pending')} not started`);
  for (const r of results.filter((x) => x.status === 'failed')) print(`  failed ${r.id}: ${r.error ?? 'see its status file'}`);
  print(`results: ${json}`);
  print(`         ${csv}`);
  print(`report:  ${report}`);
  const stray = strayRunFolders(sweep);
  if (stray.length) print(`note: ${stray.length} run folder(s) under ${sweep.out} are not in this sweep and were left alone: ${stray.slice(0, 5).join(', ')}${stray.length > 5 ? ', ...' : ''}`);
  return results;
}

/** Runs the unfinished runs in `workers` child processes; a failed run is retried up to `attempts` times in all. */
async function runLocal(sweep: Sweep, opts: { workers: number; attempts: number; threads?: number }, deps: SweepCommandDeps, signal: AbortSignal): Promise<void> {
  const runs = expandSweep(sweep);
  const done = new Set(gatherSweep(sweep).filter((r) => r.status === 'done').map((r) => r.id));
  const todo = runs.filter((r) => !done.has(r.id));
  if (done.size) deps.print(`${done.size} of ${runs.length} runs already finished: skipped`);
  if (!todo.length) return;
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  // Weights do not depend on the thread count, so the cores are shared out between the workers.
  const threads = opts.threads ?? Math.max(1, Math.floor(cpus / opts.workers));
  deps.print(`running ${todo.length} runs in ${Math.min(opts.workers, todo.length)} worker process(es) of ${threads} thread(s) each; logs in ${path.join(sweep.out, 'logs')}`);
  const queue = [...todo];
  const tries = new Map<string, number>();
  const children = new Set<ChildProcess>();
  const onAbort = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  signal.addEventListener('abort', onAbort);
  let finished = done.size;
  const worker = async () => {
    for (let run = queue.shift(); run && !signal.aborted; run = queue.shift()) {
      const attempt = (tries.get(run.id) ?? 0) + 1;
      tries.set(run.id, attempt);
      const started = Date.now();
      const child = launchIndex(sweep.file!, run.index, { threads, log: path.join(sweep.out, 'logs', `${run.id}.log`) });
      children.add(child);
      const code = await new Promise<number>((resolve) => {
        child.on('error', () => resolve(1));
        child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
      });
      children.delete(child);
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      if (code === 0) {
        finished++;
        const row = gatherSweep(sweep).find((r) => r.id === run!.id);
        deps.print(`[${finished}/${runs.length}] done ${run.id}: probe ${pct(row?.linearProbeTop1)}, kNN ${pct(row?.knnTop1)}, ${seconds} s`);
      } else if (code === SWEEP_STOPPED_EXIT || signal.aborted) {
        deps.print(`stopped ${run.id} after a checkpoint (resume with the same command)`);
      } else if (code === 2) {
        // An invalid config (a data folder that is not there, ...): another try cannot help.
        const row = gatherSweep(sweep).find((r) => r.id === run!.id);
        deps.printError(`run ${run.id} failed: its config is invalid (exit 2), not retried: ${row?.error ?? `see ${path.join(sweep.out, 'logs', `${run.id}.log`)}`}`);
      } else if (attempt < opts.attempts) {
        deps.printError(`run ${run.id} failed (exit ${code}, attempt ${attempt} of ${opts.attempts}): retrying; see ${path.join(sweep.out, 'logs', `${run.id}.log`)}`);
        queue.push(run);
      } else {
        const row = gatherSweep(sweep).find((r) => r.id === run!.id);
        deps.printError(`run ${run.id} failed after ${attempt} attempt(s): ${row?.error ?? `exit ${code}`}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.workers, todo.length) }, worker));
  signal.removeEventListener('abort', onAbort);
}

/** SIGTERM / SIGINT abort `signal` once (the step under way finishes, a checkpoint is written); a second one exits at once. */
const stopSignal = (deps: SweepCommandDeps) => stopOnSignals((name) => deps.printError(`${name}: finishing the current step, writing a checkpoint, then stopping (again to quit now)`));

interface SweepOptions {
  config: string;
  workers?: number;
  index?: number;
  threads?: number;
  attempts: number;
  gather?: boolean;
  list?: boolean;
  redis?: string;
  queue?: string;
  status?: boolean;
}

export function registerSweepCommand(program: Command, deps: SweepCommandDeps): void {
  program
    .command('sweep')
    .description('run a sweep file: a base config and a grid of values, every run in its own folder; locally, through Redis (BullMQ) or one index at a time (Kubernetes)')
    .requiredOption('-c, --config <file>', 'the sweep file (.yaml, .json, .ts): base or config, grid or random, out')
    .option('-w, --workers <n>', 'worker processes on this machine (default 1)', positiveInt('--workers'))
    .option('-i, --index <i>', 'train only the i-th expanded run in this process (Kubernetes: $JOB_COMPLETION_INDEX); see --list', index)
    .option('--threads <n>', 'wasm threads per run (default: the CPUs shared out between the workers; the weights do not depend on it)', positiveInt('--threads'))
    .option('--attempts <n>', 'tries per run before it is reported failed', positiveInt('--attempts'), 2)
    .option('--gather', 'write results.json, results.csv and report.html from the run folders and stop')
    .option('--list', 'print the expanded runs (index, id, values) and stop')
    .option('--redis <url>', 'enqueue the runs in BullMQ on this Redis (redis://HOST:PORT), wait for `supcon worker`s, gather the results')
    .option('--queue <name>', `with --redis: the BullMQ queue (default ${DEFAULT_SWEEP_QUEUE}; the workers' --queue)`)
    .option('--status', 'show how far the sweep is (with --redis: the queue as well)')
    .action(async (opts: SweepOptions) => {
      if (opts.queue !== undefined && !opts.redis) throw new Error('--queue: only with --redis (it names the BullMQ queue)');
      const sweep = await loadSweep(opts.config, { plugins: deps.plugins, defaults: deps.defaults });
      const exclusive = (['index', 'gather', 'list', 'status'] as const).filter((k) => opts[k] !== undefined);
      if (exclusive.length > 1) throw new Error(`--${exclusive[0]} and --${exclusive[1]} cannot be combined`);
      if (opts.list) {
        const runs = expandSweep(sweep);
        deps.print(`${runs.length} runs (completions: ${runs.length}) in ${sweep.out}`);
        // The grid's values and the one key a `vary` run changes (the rest are the base's).
        const shown = (r: SweepRun) => Object.fromEntries(Object.entries(r.values).filter(([k]) => sweep.grid.some((a) => a.key === k) || k === r.varied));
        for (const r of runs) deps.print(`${String(r.index).padStart(4)}  ${r.id}  ${describeValues(shown(r))}`);
        return;
      }
      if (opts.status) {
        if (opts.redis) return printSweepStatus(deps, { sweep, redis: opts.redis, ...(opts.queue ? { queueName: opts.queue } : {}) });
        const results = gatherSweep(sweep);
        for (const r of results) deps.print(`${String(r.index).padStart(4)}  ${r.status.padEnd(8)} ${r.id}${r.status === 'done' ? `  probe ${pct(r.linearProbeTop1)}` : r.error ? `  ${r.error}` : ''}`);
        const n = (s: SweepResult['status']) => results.filter((r) => r.status === s).length;
        deps.print(`${n('done')} of ${results.length} done, ${n('failed')} failed, ${n('running') + n('stopped')} unfinished, ${n('pending')} not started`);
        return;
      }
      if (opts.gather) {
        await gatherAndReport(sweep, deps.print);
        return;
      }
      if (opts.index !== undefined) {
        const stop = stopSignal(deps);
        try {
          const runs = expandSweep(sweep);
          const run: SweepRun | undefined = runs[opts.index];
          if (!run) throw new Error(`--index ${opts.index}: the sweep has runs 0 to ${runs.length - 1} (see --list)`);
          const result = await runSweepEntry(sweep, opts.index, {
            plugins: deps.plugins,
            defaults: deps.defaults,
            startBackend: opts.threads ? (name) => deps.startBackend(name, opts.threads) : deps.startBackend,
            signal: stop.signal,
          });
          const s = result.summary as { linearProbe?: { top1?: number }; knn?: { top1?: number } };
          deps.print(`${result.status === 'skipped' ? 'already finished' : 'done'}: ${run.id} (${run.dir}): probe ${pct(s.linearProbe?.top1)}, kNN ${pct(s.knn?.top1)}`);
        } catch (error) {
          if (error instanceof SupconRunStoppedError) {
            deps.printError(error.message);
            deps.setExitCode(SWEEP_STOPPED_EXIT);
            return;
          }
          throw error;
        } finally {
          stop.dispose();
        }
        return;
      }
      if (!sweep.file) throw new Error('a sweep needs its file to start worker processes');
      if (opts.redis) {
        await sweepViaRedis(deps, { sweep, redis: opts.redis, attempts: opts.attempts, ...(opts.queue ? { queueName: opts.queue } : {}) });
        return;
      }
      const stop = stopSignal(deps);
      try {
        await runLocal(sweep, { workers: opts.workers ?? 1, attempts: opts.attempts, ...(opts.threads ? { threads: opts.threads } : {}) }, deps, stop.signal);
      } finally {
        stop.dispose();
      }
      const results = await gatherAndReport(sweep, deps.print);
      if (results.some((r) => r.status !== 'done')) deps.setExitCode(stop.signal.aborted ? SWEEP_STOPPED_EXIT : 1);
    });
}
