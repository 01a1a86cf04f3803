/**
 * Sweeps through Redis (BullMQ): `supcon worker --redis URL` takes runs from the queue and trains
 * each in a child process in index mode (`supcon sweep --config F --index I`); `supcon sweep
 * --redis URL` enqueues a sweep's runs and waits for them (`sweepViaRedis`), `--status --redis`
 * shows the queue beside the run folders (`printSweepStatus`). bullmq and ioredis are optional:
 * @supcon/train loads them only here, and says how to install them when they are missing.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { writeFileAtomic } from '@supcon/core';
import type { Plugin, ResolveOptions } from '@supcon/core';
import { DEFAULT_SWEEP_QUEUE, enqueueSweep, runSweepWorker, shownRedisUrl, sweepQueueStatus, writeSweepResults } from '@supcon/train';
import type { Sweep, SweepJob, SweepResult } from '@supcon/train';
import { sweepReportHtml } from '../report/sweep-html';

export interface WorkerCommandDeps {
  plugins?: readonly Plugin[];
  defaults?: ResolveOptions['defaults'];
  print: (line: string) => void;
  printError: (line: string) => void;
  setExitCode: (code: number) => void;
}

export const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name}: expected an integer >= 1.`);
  return n;
};

export const pct = (v: number | undefined) => (typeof v === 'number' ? `${(100 * v).toFixed(2)}%` : '–');

/** The CLI's committed launcher, bin/supcon.mjs, found by walking up from this module (dist/ or src/commands/). */
export function supconBin(): string {
  const here = fileURLToPath(import.meta.url);
  let dir = path.dirname(here);
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'bin', 'supcon.mjs');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the supcon launcher bin/supcon.mjs in a folder above ${here}`);
}

/**
 * Loaded into each child before the CLI: when the worker dies (SIGKILL, out of memory) the child
 * is re-parented, and SIGTERMs itself, so it stops after its current step with a checkpoint
 * instead of training on beside the worker that takes its job over. Its output went to the dead
 * worker's pipes: it is dropped from then on (a write would fail with EPIPE, which ends the CLI
 * at once, without the checkpoint).
 */
export const STOP_WITH_PARENT = `data:text/javascript,${encodeURIComponent(
  [
    'import { isMainThread } from "node:worker_threads";',
    'if (isMainThread) {',
    '  const parent = process.ppid;',
    '  const timer = setInterval(() => {',
    '    if (process.ppid === parent) return;',
    '    clearInterval(timer);',
    '    for (const stream of [process.stdout, process.stderr]) stream.write = (_chunk, encoding, callback) => { const done = typeof encoding === "function" ? encoding : callback; if (done) queueMicrotask(done); return true; };',
    '    process.kill(process.pid, "SIGTERM");',
    '  }, 500);',
    '  timer.unref();',
    '}',
  ].join('\n'),
)}`;

/** Each line of a child's stream, to `out`, prefixed with the run's id. */
function forwardLines(stream: NodeJS.ReadableStream | null, prefix: string, out: (line: string) => void): void {
  if (!stream) return;
  let partial = '';
  stream.on('data', (chunk: Buffer | string) => {
    const lines = (partial + chunk.toString()).split(/\r?\n/);
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) out(`${prefix}${line}`);
  });
  stream.on('end', () => {
    if (partial.trim()) out(`${prefix}${partial}`);
  });
}

/** `node bin/supcon.mjs sweep --config F --index I [--threads T]` in the job's folder, its output forwarded line by line. */
export function launchSweepIndex(job: SweepJob, options: { threads?: number; print: (line: string) => void; printError: (line: string) => void }): ChildProcess {
  const args = ['--import', STOP_WITH_PARENT, supconBin(), 'sweep', '--config', job.sweepFile, '--index', String(job.index), ...(options.threads ? ['--threads', String(options.threads)] : [])];
  // Its own process group: a terminal's Ctrl-C reaches only this worker, which forwards one SIGTERM
  // (a second signal would make the child quit at once, without its checkpoint).
  const child = spawn(process.execPath, args, { cwd: job.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: process.env, detached: true });
  forwardLines(child.stdout, `[${job.id}] `, options.print);
  forwardLines(child.stderr, `[${job.id}] `, options.printError);
  return child;
}

/** SIGTERM / SIGINT abort once; a second one exits at once (the children stop themselves when this process is gone). */
export function stopOnSignals(onFirst: (name: NodeJS.Signals) => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    onFirst(name);
    controller.abort();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}

/** One line per run: index, status, id, then its accuracies or its error. */
function resultLine(r: SweepResult, extra = ''): string {
  const what = r.status === 'done' ? `probe ${pct(r.linearProbeTop1)}, kNN ${pct(r.knnTop1)}` : (r.error?.split('\n')[0] ?? '');
  return `${String(r.index).padStart(4)}  ${r.status.padEnd(8)}${extra} ${r.id}${what ? `  ${what}` : ''}`;
}

function countsLine(results: readonly SweepResult[]): string {
  const n = (s: SweepResult['status']) => results.filter((r) => r.status === s).length;
  return `${results.length} runs: ${n('done')} done, ${n('failed')} failed, ${n('stopped') + n('running')} unfinished, ${n('pending')} not started`;
}

/**
 * `supcon sweep --config F --redis URL`: enqueues the unfinished runs (one BullMQ job each), prints
 * a line as each run ends, then writes results.json, results.csv and report.html from the run
 * folders and prints a table. Exit code 1 when a run is not done (3 when a signal stopped the wait).
 */
export async function sweepViaRedis(deps: WorkerCommandDeps, options: { sweep: Sweep; redis: string; attempts?: number; queueName?: string }): Promise<readonly SweepResult[]> {
  const { sweep, redis } = options;
  const queueName = options.queueName ?? DEFAULT_SWEEP_QUEUE;
  const url = shownRedisUrl(redis);
  const stop = stopOnSignals((name) => deps.printError(`${name}: stopped waiting; the runs stay in the queue and the workers go on (rerun this command to wait again, or --status)`));
  let results: SweepResult[];
  try {
    results = await enqueueSweep(sweep, {
      redis,
      queueName,
      ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
      signal: stop.signal,
      onEnqueued: (c) => {
        deps.print(`${sweep.name}: ${c.total} runs, ${c.finished} finished before (skipped), ${c.enqueued} enqueued on ${url} (queue ${queueName}), ${c.queued} already queued or running`);
        if (c.finished < c.total) {
          deps.print(c.workers ? `${c.workers} worker(s) connected; waiting for the runs` : `no worker is connected yet: start \`supcon worker --redis ${url}\` on each machine (the sweep's files at the same path on each)`);
        }
      },
      onProgress: (done, failed, total, r) => {
        if (!r) return;
        const line = `[${done + failed}/${total}] ${r.status === 'done' ? 'done' : r.status} ${r.id}`;
        if (r.status === 'done') deps.print(`${line}: probe ${pct(r.linearProbeTop1)}, kNN ${pct(r.knnTop1)}${typeof r.seconds === 'number' ? `, ${r.seconds.toFixed(0)} s` : ''}`);
        else deps.printError(`${line}: ${r.error?.split('\n')[0] ?? 'see its status file'}`);
      },
    });
  } finally {
    stop.dispose();
  }
  const { json, csv } = await writeSweepResults(sweep, results);
  const report = path.join(sweep.out, 'report.html');
  await writeFileAtomic(report, sweepReportHtml(sweep, results));
  for (const r of results) deps.print(resultLine(r));
  deps.print(countsLine(results));
  deps.print(`results: ${json}`);
  deps.print(`         ${csv}`);
  deps.print(`report:  ${report}`);
  if (results.some((r) => r.status !== 'done')) deps.setExitCode(stop.signal.aborted ? 3 : 1);
  return results;
}

/** `supcon sweep --config F --status --redis URL`: each run's folder status and job state, then the counts of both. */
export async function printSweepStatus(deps: WorkerCommandDeps, options: { sweep: Sweep; redis: string; queueName?: string }): Promise<void> {
  const queueName = options.queueName ?? DEFAULT_SWEEP_QUEUE;
  const status = await sweepQueueStatus(options.sweep, { redis: options.redis, queueName });
  for (const r of status.runs) deps.print(resultLine(r, ` ${(r.job === 'absent' ? 'no job' : r.job).padEnd(9)}`));
  const q = status.queue;
  deps.print(`queue ${queueName} on ${shownRedisUrl(options.redis)}: ${q.waiting} waiting, ${q.active} active, ${q.delayed} delayed, ${q.completed} completed, ${q.failed} failed, ${q.absent} not queued`);
  deps.print(`folders: ${countsLine(status.runs)}`);
}

interface WorkerOptions {
  redis: string;
  concurrency: number;
  threads?: number;
  queue: string;
  lockDuration: number;
  stalledInterval: number;
}

export function registerWorkerCommand(program: Command, deps: WorkerCommandDeps): void {
  program
    .command('worker')
    .description('train sweep runs taken from a Redis queue (BullMQ), each in a child process (supcon sweep --index); one per machine, until SIGTERM')
    .requiredOption('--redis <url>', 'the Redis server the sweeps are enqueued on (supcon sweep --redis): redis://HOST:PORT')
    .option('--concurrency <n>', 'runs trained at once on this machine', positiveInt('--concurrency'), 1)
    .option('--threads <n>', 'wasm threads per run (default: the CPUs shared out between the runs; the weights do not depend on it)', positiveInt('--threads'))
    .option('--queue <name>', 'the BullMQ queue', DEFAULT_SWEEP_QUEUE)
    .option('--lock-duration <ms>', "how long a run's lock lasts unrenewed: a killed worker's run is taken over after this (plus up to --stalled-interval)", positiveInt('--lock-duration'), 30000)
    .option('--stalled-interval <ms>', 'how often to look for runs whose worker died and put them back in the queue', positiveInt('--stalled-interval'), 30000)
    .action(async (opts: WorkerOptions) => {
      const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
      const threads = opts.threads ?? Math.max(1, Math.floor(cpus / opts.concurrency));
      const stop = stopOnSignals((name) => deps.printError(`${name}: each run finishes its current step and writes a checkpoint, its job goes back to the queue; then this worker exits (again to quit now)`));
      const log = (line: string) => deps.print(`supcon worker ${process.pid}: ${line}`);
      log(`${shownRedisUrl(opts.redis)}, ${opts.concurrency} run(s) at a time, ${threads} thread(s) each`);
      try {
        await runSweepWorker({
          redis: opts.redis,
          concurrency: opts.concurrency,
          queueName: opts.queue,
          lockDurationMs: opts.lockDuration,
          stalledIntervalMs: opts.stalledInterval,
          signal: stop.signal,
          log,
          ...(deps.plugins ? { plugins: deps.plugins } : {}),
          ...(deps.defaults ? { defaults: deps.defaults } : {}),
          launch: (job) => launchSweepIndex(job, { threads, print: deps.print, printError: deps.printError }),
        });
      } finally {
        stop.dispose();
      }
      log('stopped');
    });
}
