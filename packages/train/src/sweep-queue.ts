/**
 * Sweeps across machines: one BullMQ job per expanded run on a Redis server, taken by
 * `runSweepWorker`s (`supcon worker --redis URL`) on any machine that sees the sweep's files at
 * the same path (a shared volume). A worker trains a job in a child process in index mode
 * (`supcon sweep --config F --index I`), which skips a finished run and resumes one from its last
 * checkpoint. Results never live in Redis: `enqueueSweep` ends with `gatherSweep`, read from the
 * run folders, so a Redis restart loses no finished run.
 *
 * A worker killed outright stops renewing its jobs' locks: once a lock expires (`lockDurationMs`),
 * another worker's stalled-job check (every `stalledIntervalMs`) puts the job back in the queue
 * and a worker resumes the run from its checkpoint.
 *
 * bullmq and ioredis are optional peer dependencies, loaded with `import()` only when one of these
 * functions runs. Node only.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as BullMQ from 'bullmq';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SupconConfigError } from '@supcon/core';
import { expandSweep, gatherSweep, loadSweep, sweepRunSummary } from './sweep';
import type { Sweep, SweepEntryOptions, SweepResult, SweepRun } from './sweep';

/** The queue `supcon sweep --redis` and `supcon worker` use unless told otherwise. */
export const DEFAULT_SWEEP_QUEUE = 'supcon-sweeps';

/** Exit code of index mode (`supcon sweep --index I`) when SIGTERM stopped the run after a checkpoint. */
export const SWEEP_INDEX_STOPPED_EXIT = 3;

/** A job's data: which run of which sweep file. */
export interface SweepJob {
  /** The sweep file (absolute), at the same path on every worker's machine. */
  sweepFile: string;
  /** The run's index in `expandSweep` (`--index`). */
  index: number;
  /** The run's id: the worker checks that the sweep file still expands to it at `index`. */
  id: string;
  /**
   * The folder the sweep was enqueued from (absolute): the child runs there, so that a relative
   * `out` (and any relative path in the configs) means the same folder as for the enqueuer.
   */
  cwd: string;
}

export interface SweepQueueOptions {
  /** The Redis server: `redis://HOST:PORT` (`rediss://` for TLS, `redis://:PASSWORD@HOST:PORT/DB`). */
  redis: string;
  /** Default {@link DEFAULT_SWEEP_QUEUE}. Workers take jobs from one queue, whatever sweep they belong to. */
  queueName?: string;
}

export interface EnqueueSweepOptions extends SweepQueueOptions {
  /** Tries per run before it is reported failed (a worker killed mid-run does not use one up). Default 2. */
  attempts?: number;
  /** The first retry's delay in ms, doubled for each later one. Default 2000. */
  backoffMs?: number;
  /** Once the jobs are in the queue: how many were added, how many were there already (queued or running), how many runs had finished before, and how many workers are connected to the queue now. */
  onEnqueued?: (counts: { enqueued: number; queued: number; finished: number; total: number; workers: number }) => void;
  /** As each run ends (and once at the start for the runs finished before): runs done, runs failed, runs in all; `result` is the run that just ended. */
  onProgress?: (done: number, failed: number, total: number, result?: SweepResult) => void;
  /** Stop waiting (the jobs stay in the queue, and the workers go on); resolves with the results so far. */
  signal?: AbortSignal;
  /** How often the jobs' states are read, in ms. Default 1000. */
  pollMs?: number;
}

/** Job counts of one sweep's runs, by BullMQ state. */
export interface SweepQueueCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
  /** Not in the queue: never enqueued, or removed (finished runs are not enqueued). */
  absent: number;
}

/** `sweepQueueStatus`: the queue's view and the run folders' view of a sweep. */
export interface SweepQueueStatus {
  total: number;
  queue: SweepQueueCounts;
  /** From the run folders and status files (`gatherSweep`): what is true whatever Redis says. */
  folders: { done: number; failed: number; stopped: number; running: number; pending: number };
  /** Each run's row, with its job's state (`absent` when it has no job). */
  runs: (SweepResult & { job: keyof SweepQueueCounts })[];
}

export interface SweepWorkerOptions {
  /** The Redis server: `redis://HOST:PORT`. */
  redis: string;
  /** Runs trained at once by this worker, each in its own child process. Default 1. */
  concurrency?: number;
  /** Default {@link DEFAULT_SWEEP_QUEUE}. */
  queueName?: string;
  /**
   * Starts the child process that trains one run in index mode (`supcon sweep --config F --index I`),
   * in the folder `job.cwd`, and exits 0 (done or skipped), 1 (failed), 2 (invalid config, a data
   * folder missing on this machine) or 3 (stopped by SIGTERM after a checkpoint: the job goes back
   * to the queue, no attempt used). Its stderr, when
   * piped, gives a failed run's error its last lines. The child should stop when this process dies
   * (`supcon worker`'s children SIGTERM themselves when their parent is gone).
   */
  launch: (job: SweepJob) => ChildProcess;
  /** Once aborted: SIGTERM to every running child (each stops after its current step, with a checkpoint), their jobs back to the queue, no new job taken; then the worker closes and the promise resolves. */
  signal?: AbortSignal;
  /** How long a job's lock lasts without renewal (renewed every half of it while the child runs). A killed worker's job waits this long, then up to `stalledIntervalMs`, before another worker may take it. Default 30000. */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose lock expired (stalled) and puts them back. Default 30000. */
  stalledIntervalMs?: number;
  /** How many times a job may stall (its worker died) before it is failed. Default 2. */
  maxStalledCount?: number;
  /** Progress lines: a run started, done, failed, stopped; the worker's own errors. */
  log?: (line: string) => void;
  /** Plugins and defaults for reading the sweep files (`loadSweep`), as the children will. */
  plugins?: SweepEntryOptions['plugins'];
  defaults?: SweepEntryOptions['defaults'];
}

/** What this file uses of the two optional packages. */
interface QueueModules {
  bullmq: typeof BullMQ;
  Redis: typeof Redis;
}

const MISSING = 'the Redis queue (supcon sweep --redis, supcon worker) needs the packages bullmq and ioredis: npm install bullmq ioredis';

const isNotFound = (error: unknown, name: string): boolean => {
  const e = error as { code?: unknown; message?: unknown } | null;
  return (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') && typeof e.message === 'string' && e.message.includes(`'${name}`);
};

/** `import(name)`, else from the current folder's project (a package the user installed there for a global CLI). */
async function importPackage(name: string): Promise<unknown> {
  try {
    return await import(name);
  } catch (error) {
    if (!isNotFound(error, name)) throw error;
    let file: string;
    try {
      file = createRequire(path.join(process.cwd(), 'package.json')).resolve(name);
    } catch {
      throw error;
    }
    return import(pathToFileURL(file).href);
  }
}

/**
 * Loads bullmq and ioredis (`load` stands in for `import()` in tests).
 * @throws Error naming both packages and the install command when either is missing.
 */
export async function loadQueueModules(load: (name: string) => Promise<unknown> = importPackage): Promise<QueueModules> {
  const missing: string[] = [];
  const get = async (name: string): Promise<unknown> => {
    try {
      return await load(name);
    } catch (error) {
      if (!isNotFound(error, name)) throw new Error(`the package ${name} failed to load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      missing.push(name);
      return undefined;
    }
  };
  const bullmq = (await get('bullmq')) as (QueueModules['bullmq'] & { default?: QueueModules['bullmq'] }) | undefined;
  const ioredis = (await get('ioredis')) as { Redis?: typeof Redis; default?: typeof Redis | { Redis?: typeof Redis } } | undefined;
  if (missing.length) throw new Error(`${MISSING} (not installed: ${missing.join(', ')})`);
  const queue = typeof bullmq!.Worker === 'function' ? bullmq! : bullmq!.default;
  const def = ioredis!.default;
  const RedisCtor = ioredis!.Redis ?? (typeof def === 'function' ? def : def?.Redis);
  if (!queue || typeof queue.Worker !== 'function' || typeof queue.Queue !== 'function') throw new Error('the package bullmq exports no Queue and Worker: is it bullmq from npm?');
  if (typeof RedisCtor !== 'function') throw new Error('the package ioredis exports no Redis client: is it ioredis from npm?');
  return { bullmq: queue, Redis: RedisCtor };
}

/** A Redis URL as printed: its password hidden (`redis://user:***@host:6379`). */
export function shownRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_, scheme: string, auth: string) => `${scheme}${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`);
}

/** A connected ioredis client (commands wait through reconnections, as BullMQ needs). */
async function connect(modules: QueueModules, url: string, option = '--redis'): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url)) throw new Error(`${option} ${shownRedisUrl(url)}: expected a Redis URL, redis://HOST:PORT`);
  // Once connected, a lost connection is retried for ever (a Redis restart); before, the first failure is the answer.
  let connected = false;
  const client = new modules.Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: (times: number) => (connected ? Math.min(200 * times, 2000) : null) });
  // ioredis reports connection errors as events (without a listener it would print them); the
  // last one says why a connection failed better than connect()'s "Connection is closed".
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer in 10 s')), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    connected = true;
  } catch (error) {
    // Already ended when the connection was refused (a disconnect() then would hold the process 2 s for nothing).
    if (client.status !== 'end') client.disconnect();
    const why = lastError ?? error;
    throw new Error(`${option} ${shownRedisUrl(url)}: cannot reach the Redis server: ${why instanceof Error ? why.message : String(why)}`, { cause: why });
  }
  return client;
}

/** The job id of a run: a hash of the sweep file's path and the run's id, so enqueueing a sweep twice adds nothing. */
export function sweepJobId(sweepFile: string, runId: string): string {
  return `supcon-${createHash('sha256').update(`${path.resolve(sweepFile)}\0${runId}`).digest('hex').slice(0, 24)}`;
}

type QueueState = keyof SweepQueueCounts;
function stateOf(state: string): QueueState {
  if (state === 'waiting' || state === 'prioritized' || state === 'waiting-children') return 'waiting';
  if (state === 'active' || state === 'completed' || state === 'failed' || state === 'delayed') return state;
  return 'absent';
}

const sweepFileOf = (sweep: Sweep, what: string): string => {
  if (!sweep.file) throw new Error(`${what}: the sweep has no file, and workers load the sweep from its file (loadSweep(file))`);
  return sweep.file;
};

async function withQueue<T>(options: SweepQueueOptions, body: (queue: Queue<SweepJob>) => Promise<T>): Promise<T> {
  const modules = await loadQueueModules();
  const client = await connect(modules, options.redis);
  const queue = new modules.bullmq.Queue<SweepJob>(options.queueName ?? DEFAULT_SWEEP_QUEUE, { connection: client });
  // Connection errors come as events too (an 'error' with no listener would end the process); the client reconnects.
  queue.on('error', () => undefined);
  try {
    return await body(queue);
  } finally {
    await queue.close().catch(() => undefined);
    await client.quit().catch(() => client.disconnect());
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Enqueues one job per unfinished run of `sweep` (`expandSweep`) and waits until each has
 * completed or failed, then returns `gatherSweep(sweep)`: the rows from the run folders, a failed
 * run with its error. Runs whose folder holds summary.json are not enqueued. A run's job id is
 * {@link sweepJobId}, so a run already queued or running is not added twice (a second enqueuer
 * just waits with the first); a finished job whose run has no summary.json (a failed run, or a
 * folder removed) is replaced by a new one. A job that disappears while waiting (Redis restarted
 * without persistence) is enqueued again. Workers: {@link runSweepWorker}.
 * @throws Error naming `--redis` when the server cannot be reached, or the packages when bullmq or ioredis are missing.
 */
export async function enqueueSweep(sweep: Sweep, options: EnqueueSweepOptions): Promise<SweepResult[]> {
  const sweepFile = sweepFileOf(sweep, 'enqueueSweep');
  const attempts = options.attempts ?? 2;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts: expected an integer >= 1, got ${attempts}`);
  const runs = expandSweep(sweep);
  const jobOptions = (run: SweepRun) => ({
    jobId: sweepJobId(sweepFile, run.id),
    attempts,
    backoff: { type: 'exponential' as const, delay: options.backoffMs ?? 2000 },
    // The results are in the run folders; the finished jobs are kept a week for `--status`.
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
  return withQueue(options, async (queue) => {
    const cwd = process.cwd();
    const add = (run: SweepRun) => queue.add(run.id, { sweepFile, index: run.index, id: run.id, cwd }, jobOptions(run));
    const pending: SweepRun[] = [];
    let enqueued = 0;
    for (const run of runs) {
      if (sweepRunSummary(run)) continue;
      const jobId = sweepJobId(sweepFile, run.id);
      let state = stateOf(await queue.getJobState(jobId));
      if (state === 'completed' || state === 'failed') {
        // Ended before without a summary.json: a failed run (or a folder removed since), tried again.
        await queue.remove(jobId);
        state = 'absent';
      }
      if (state === 'absent') {
        await add(run);
        enqueued++;
      }
      pending.push(run);
    }
    const total = runs.length;
    let done = total - pending.length;
    let failed = 0;
    const workers = await queue.getWorkersCount().catch(() => 0);
    options.onEnqueued?.({ enqueued, queued: pending.length - enqueued, finished: done, total, workers });
    options.onProgress?.(done, failed, total);
    const pollMs = options.pollMs ?? 1000;
    while (pending.length && !options.signal?.aborted) {
      for (const run of [...pending]) {
        const state = stateOf(await queue.getJobState(sweepJobId(sweepFile, run.id)));
        if (state === 'absent' && !sweepRunSummary(run)) {
          await add(run);
          continue;
        }
        if (state !== 'completed' && state !== 'failed' && state !== 'absent') continue;
        pending.splice(pending.indexOf(run), 1);
        const row = gatherSweep(sweep).find((r) => r.id === run.id);
        if (row?.status === 'done') done++;
        else failed++;
        options.onProgress?.(done, failed, total, row);
      }
      if (pending.length) await sleep(pollMs, options.signal);
    }
    return gatherSweep(sweep);
  });
}

/** The state of each of this sweep's jobs on the Redis server, beside what its run folders say (for `supcon sweep --status --redis`). */
export async function sweepQueueStatus(sweep: Sweep, options: SweepQueueOptions): Promise<SweepQueueStatus> {
  const sweepFile = sweepFileOf(sweep, 'sweepQueueStatus');
  return withQueue(options, async (queue) => {
    const results = gatherSweep(sweep);
    const counts: SweepQueueCounts = { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0, absent: 0 };
    const rows: SweepQueueStatus['runs'] = [];
    for (const row of results) {
      const job = stateOf(await queue.getJobState(sweepJobId(sweepFile, row.id)));
      counts[job]++;
      rows.push({ ...row, job });
    }
    const n = (s: SweepResult['status']) => results.filter((r) => r.status === s).length;
    return { total: results.length, queue: counts, folders: { done: n('done'), failed: n('failed'), stopped: n('stopped'), running: n('running'), pending: n('pending') }, runs: rows };
  });
}

function checkJob(data: unknown): SweepJob | string {
  const d = data as Partial<SweepJob> | null;
  if (typeof d !== 'object' || d === null) return 'its data is not an object';
  if (typeof d.sweepFile !== 'string' || !path.isAbsolute(d.sweepFile)) return `sweepFile: expected an absolute path, got ${JSON.stringify(d.sweepFile)}`;
  if (typeof d.index !== 'number' || !Number.isInteger(d.index) || d.index < 0) return `index: expected an integer >= 0, got ${JSON.stringify(d.index)}`;
  if (typeof d.id !== 'string' || d.id === '') return `id: expected a run id, got ${JSON.stringify(d.id)}`;
  if (typeof d.cwd !== 'string' || !path.isAbsolute(d.cwd)) return `cwd: expected an absolute path, got ${JSON.stringify(d.cwd)}`;
  return { sweepFile: d.sweepFile, index: d.index, id: d.id, cwd: d.cwd };
}

/** The last `max` lines written to a stream (when it is piped). */
function tail(stream: NodeJS.ReadableStream | null | undefined, max = 12): () => string {
  if (!stream) return () => '';
  let lines: string[] = [];
  let partial = '';
  stream.on('data', (chunk: Buffer | string) => {
    const parts = (partial + chunk.toString()).split(/\r?\n/);
    partial = parts.pop() ?? '';
    lines = [...lines, ...parts.filter((l) => l.trim() !== '')].slice(-max);
  });
  return () => [...lines, ...(partial.trim() ? [partial] : [])].slice(-max).join('\n');
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * A BullMQ worker: takes the runs of any sweep from the queue, `concurrency` at a time, each
 * trained by `launch(job)`'s child process. Exit 0 completes the job; 3 (stopped after a
 * checkpoint) puts it back in the queue; any other exit fails this attempt, with the child's last
 * stderr lines as its error, and BullMQ retries it while attempts are left (a config error shows
 * in every worker's first look at the sweep file, and fails the job at once).
 * Resolves once `signal` is aborted and the running children have stopped.
 * @throws Error naming `--redis` when the server cannot be reached, or the packages when bullmq or ioredis are missing.
 */
export async function runSweepWorker(options: SweepWorkerOptions): Promise<void> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency: expected an integer >= 1, got ${concurrency}`);
  const log = options.log ?? (() => undefined);
  const modules = await loadQueueModules();
  const { Worker, WaitingError, UnrecoverableError } = modules.bullmq;
  const client = await connect(modules, options.redis);
  const children = new Set<ChildProcess>();
  const signal = options.signal;

  // The job names a run by index and id: the sweep file must be here (a shared volume) and still expand to that run.
  const checkRun = async (data: SweepJob, name: string) => {
    for (const [what, file] of [['the sweep file', data.sweepFile], [`the folder it was enqueued from (${data.cwd})`, data.cwd]] as const) {
      if (!existsSync(file)) throw new Error(`${name}: ${what} is not on this machine; every worker needs the sweep's files at the same path (a shared volume)`);
    }
    let sweep: Sweep;
    try {
      sweep = await loadSweep(data.sweepFile, { plugins: options.plugins, defaults: options.defaults });
    } catch (error) {
      if (error instanceof SupconConfigError) throw new UnrecoverableError(`${name}: ${error.message}`);
      throw error;
    }
    const now = expandSweep(sweep)[data.index]?.id;
    if (now !== data.id) throw new UnrecoverableError(`${name}: the sweep file changed since the run was enqueued (run ${data.index} is now ${now ?? 'gone'}); enqueue the sweep again`);
  };

  const processor = async (job: Job<SweepJob>, token?: string): Promise<{ id: string; seconds: number }> => {
    const data = checkJob(job.data);
    if (typeof data === 'string') throw new UnrecoverableError(`job ${job.id}: not a supcon sweep run: ${data}`);
    const backToQueue = async () => {
      await job.moveToWait(token);
      throw new WaitingError();
    };
    if (signal?.aborted) return backToQueue();
    const name = `${data.id} (run ${data.index} of ${data.sweepFile})`;
    await checkRun(data, name);
    log(`started ${name}, attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}`);
    const started = Date.now();
    const child = options.launch(data);
    children.add(child);
    const stderr = tail(child.stderr);
    let exit: Awaited<ReturnType<typeof exitOf>>;
    try {
      exit = await exitOf(child);
    } catch (error) {
      throw new Error(`${name}: the child process did not start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      children.delete(child);
    }
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    if (exit.code === 0) {
      log(`done ${data.id} in ${seconds} s`);
      return { id: data.id, seconds };
    }
    if (exit.code === SWEEP_INDEX_STOPPED_EXIT) {
      log(`stopped ${data.id} after a checkpoint: back in the queue`);
      return backToQueue();
    }
    const why = exit.code !== null ? `exit ${exit.code}` : `killed by ${exit.signal}`;
    const lines = stderr();
    const message = `${name} failed (${why})${lines ? `:\n${lines}` : ''}`;
    log(`failed ${data.id} (${why})${lines ? `: ${lines.split('\n').pop()}` : ''}`);
    throw new Error(message);
  };

  const worker = new Worker<SweepJob>(options.queueName ?? DEFAULT_SWEEP_QUEUE, processor, {
    connection: client,
    concurrency,
    autorun: false,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
  });
  worker.on('error', (error) => log(`worker error: ${error.message}`));
  worker.on('stalled', (jobId) => log(`job ${jobId} stalled (its worker stopped answering): back in the queue`));
  const stop = () => {
    log(`stopping: ${children.size} run(s) finish their current step and write a checkpoint; their jobs go back to the queue`);
    for (const child of children) child.kill('SIGTERM');
    void worker.close();
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    if (signal?.aborted) stop();
    else {
      await worker.waitUntilReady();
      log(`waiting for sweep runs on ${options.queueName ?? DEFAULT_SWEEP_QUEUE} (concurrency ${concurrency})`);
      await worker.run();
    }
    await worker.close();
  } finally {
    signal?.removeEventListener('abort', stop);
    await client.quit().catch(() => client.disconnect());
  }
}
