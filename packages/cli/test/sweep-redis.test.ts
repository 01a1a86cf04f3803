/**
 * Sweeps through Redis (BullMQ), end to end on a real redis-server (Debian's, started here on a
 * free 127.0.0.1 port and stopped after) and the built `supcon` bin, on the shipped Fashion-MNIST
 * sample with tiny runs:
 * - two `supcon worker`s run a 4-run sweep enqueued by `supcon sweep --redis`; one worker is
 *   SIGKILLed mid-run, its orphaned child stops itself, the job's lock expires and another worker
 *   resumes the run from its checkpoint; a second worker is stopped with SIGTERM mid-run (its run
 *   back in the queue) and a third finishes. Every result arrives, and both interrupted runs end
 *   with the weights of the same runs trained uninterrupted (`--index` into another folder);
 * - enqueueing the finished sweep again adds no job; after a Redis restart (an empty server) the
 *   results are all still there, from the run folders;
 * - a run that fails at train time is reported with its error, after its bounded attempts, while
 *   the other run of its sweep finishes.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tinyBase, writeSweepFile } from './sweep-fixtures';

const bin = path.join(__dirname, '..', 'bin', 'supcon.mjs');
const built = path.join(__dirname, '..', 'dist', 'bin.js');
const root = mkdtempSync(path.join(tmpdir(), 'supcon-sweep-redis-'));
const env = { ...process.env, CI: 'true' };

/** Debian's redis-server (CI installs the package), or $REDIS_SERVER. */
function redisServerBinary(): string {
  const candidates = [process.env.REDIS_SERVER, '/usr/bin/redis-server', ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'redis-server'))];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (!found) throw new Error('redis-server is not installed: the sweep queue tests need it (Debian: apt-get install redis-server; .ci/run installs it), or set REDIS_SERVER to its path');
  return found;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** PING until PONG. */
async function waitForRedis(port: number, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
    if (pong) return;
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}:\n${log()}`);
    await sleep(100);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: ChildProcess | undefined;
let port = 0;
let url = '';
const processes = new Set<ChildProcess>();

/** redis-server on `port`, keeping nothing on disk (a restart starts empty). */
async function startRedis(): Promise<void> {
  const dir = path.join(root, 'redis');
  mkdirSync(dir, { recursive: true });
  let output = '';
  redis = spawn(redisServerBinary(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  redis.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  redis.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitForRedis(port, redis, () => output);
}

async function stopRedis(): Promise<void> {
  if (!redis || redis.exitCode !== null || redis.signalCode !== null) return;
  const exited = new Promise((r) => redis!.once('exit', r));
  redis.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  if (!existsSync(built)) throw new Error(`${built} is missing: build first (npx nx build @supcon/cli)`);
  redisServerBinary();
  port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  await startRedis();
}, 30_000);

afterAll(async () => {
  for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await stopRedis();
});

/** A spawned `supcon` with its output collected. */
interface Proc {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  processes.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, exit };
}

function supcon(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A worker with a short lock, so that a killed worker's run is taken over within seconds. */
const worker = (extra: string[] = []) => start(['worker', '--redis', url, '--lock-duration', '3000', '--stalled-interval', '2000', ...extra]);

/** The run a worker is training now, from its `started` / `done` / `stopped` / `failed` lines. */
function currentRun(w: Proc): string | undefined {
  let current: string | undefined;
  for (const line of w.out().split('\n')) {
    const m = /^supcon worker \d+: (started|done|stopped|failed) (\S+)/.exec(line);
    if (m) current = m[1] === 'started' ? m[2] : undefined;
  }
  return current;
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// 8 steps an epoch, a checkpoint after each: a kill always lands between two of them.
const base = { ...tinyBase, train: { epochs: 2, batchSize: 25 }, checkpoint: { everySteps: 1 } };
const sweepFile = (name: string, body: Record<string, unknown>, out = 'runs') => writeSweepFile(root, name, body, { config: base, out, file: `sweep-${out}.json` });

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const finalWeights = (runDir: string) => readFileSync(path.join(runDir, 'checkpoints', 'epoch-0002', 'model.weights.bin'));
/** A checkpoint taken mid-epoch, `steps` or more steps into an epoch (into the first one only, with `firstEpoch`). */
const midEpoch = (runDir: string, steps: number, firstEpoch = false) => {
  const dir = path.join(runDir, 'checkpoints');
  const name = firstEpoch ? /^epoch-0000-step-(\d{6})$/ : /^epoch-\d{4}-step-(\d{6})$/;
  return existsSync(dir) && readdirSync(dir).some((n) => name.test(n) && Number(n.slice(-6)) >= steps);
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Row {
  index: number;
  id: string;
  status: string;
  error?: string;
  linearProbeTop1?: number;
  knnTop1?: number;
  values: Record<string, unknown>;
}

describe('supcon sweep --redis and supcon worker', () => {
  const grid = { 'loss.temperature': [0.1, 0.5], seed: [0, 1] };
  const file = () => path.join(root, 'main', 'sweep-runs.json');
  const out = path.join(root, 'main', 'runs');
  let third: Proc | undefined;

  it('two workers run a 4-run sweep; one SIGKILLed and one SIGTERMed mid-run: every result arrives, the interrupted runs end with the uninterrupted weights', async () => {
    sweepFile('main', { grid });
    const a = worker();
    const b = worker();
    const sweep = start(['sweep', '--config', file(), '--redis', url]);

    // A is SIGKILLed once its run has a checkpoint 3 steps into its first epoch (13 steps to go).
    const killedId = await until('worker A to checkpoint mid-epoch', () => {
      const id = currentRun(a);
      return id && midEpoch(path.join(out, id), 3, true) && id;
    });
    a.child.kill('SIGKILL');
    await a.exit;
    // Its child, orphaned, notices and stops itself after a step (the status file has its pid).
    const orphan = json(path.join(out, 'status', `${killedId}.json`)).pid as number;
    await until('the orphaned child to stop', () => !alive(orphan), 20_000);
    // It stopped cleanly, after a step, with a checkpoint: not still training, not cut off.
    expect(json(path.join(out, 'status', `${killedId}.json`)).status).toBe('stopped');
    expect(existsSync(path.join(out, killedId, 'summary.json'))).toBe(false);

    // B is SIGTERMed in the middle of another run: that run goes back to the queue with a checkpoint.
    const stoppedId = await until('worker B to checkpoint mid-epoch in a run of its own', () => {
      const id = currentRun(b);
      return id && id !== killedId && midEpoch(path.join(out, id), 3) && id;
    });
    b.child.kill('SIGTERM');
    expect(await b.exit).toBe(0);
    expect(b.out()).toContain(`stopped ${stoppedId} after a checkpoint: back in the queue`);
    expect(json(path.join(out, 'status', `${stoppedId}.json`)).status).toBe('stopped');
    expect(existsSync(path.join(out, stoppedId, 'summary.json'))).toBe(false);

    // A third worker finishes the sweep: the stopped run, the killed one once its lock expires, the rest.
    third = worker(['--concurrency', '2']);
    const code = await sweep.exit;
    expect(sweep.out()).toContain('4 runs: 4 done, 0 failed, 0 unfinished, 0 not started');
    expect(code).toBe(0);
    expect(a.out()).toMatch(new RegExp(`started ${killedId} `));
    expect(third.out()).toMatch(new RegExp(`started ${stoppedId} `));
    expect(third.out()).toMatch(new RegExp(`started ${killedId} `));

    const results = json(path.join(out, 'results.json')).runs as Row[];
    expect(results.map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);
    for (const r of results) {
      const summary = json(path.join(out, r.id, 'summary.json'));
      expect(Number.isFinite(r.linearProbeTop1)).toBe(true);
      expect(Number.isFinite(r.knnTop1)).toBe(true);
      expect(r.linearProbeTop1).toBe(summary.eval.linearProbe.top1);
      expect(summary.seed).toBe(r.values.seed);
      expect(json(path.join(out, r.id, 'config.json')).loss.temperature).toBe(r.values['loss.temperature']);
    }
    for (const id of [killedId, stoppedId]) {
      expect(json(path.join(out, 'status', `${id}.json`)).attempts).toBe(2);
      expect(json(path.join(out, id, 'summary.json')).resumedFrom).toMatch(/epoch-\d{4}(-step-\d{6})?$/);
    }

    // The same two runs, uninterrupted, each in index mode into another folder.
    const copy = sweepFile('main', { grid }, 'whole');
    const index = (id: string) => results.find((r) => r.id === id)!.index;
    const whole = [killedId, stoppedId].map((id) => start(['sweep', '--config', copy, '--index', String(index(id))]));
    expect(await Promise.all(whole.map((w) => w.exit))).toEqual([0, 0]);
    // Different runs end with different weights: the comparison below can tell them apart.
    expect(finalWeights(path.join(out, killedId)).equals(finalWeights(path.join(out, stoppedId)))).toBe(false);
    for (const id of [killedId, stoppedId]) {
      const uninterrupted = path.join(root, 'main', 'whole', id);
      expect(json(path.join(uninterrupted, 'summary.json')).resumedFrom ?? null).toBeNull();
      expect(finalWeights(path.join(out, id)).equals(finalWeights(uninterrupted))).toBe(true);
    }
  }, 150_000);

  it('enqueueing the finished sweep again adds no job', () => {
    const again = supcon(['sweep', '--config', file(), '--redis', url]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('4 runs, 4 finished before (skipped), 0 enqueued');
    const status = supcon(['sweep', '--config', file(), '--status', '--redis', url]);
    expect(status.code).toBe(0);
    // The four jobs of the first enqueue, completed; nothing waiting.
    expect(status.out).toContain('0 waiting, 0 active, 0 delayed, 4 completed, 0 failed, 0 not queued');
    expect(status.out).toContain('folders: 4 runs: 4 done');
  });

  it('a Redis restart loses no finished result: the folders have them, and enqueueing again adds nothing', async () => {
    await stopRedis();
    await startRedis();
    const status = supcon(['sweep', '--config', file(), '--status', '--redis', url]);
    expect(status.code).toBe(0);
    // The new server has no job of the sweep; its runs are done all the same.
    expect(status.out).toContain('0 waiting, 0 active, 0 delayed, 0 completed, 0 failed, 4 not queued');
    expect(status.out).toContain('folders: 4 runs: 4 done');
    const again = supcon(['sweep', '--config', file(), '--redis', url]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('4 runs, 4 finished before (skipped), 0 enqueued');
    expect((json(path.join(out, 'results.json')).runs as Row[]).map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);
  });

  it('a run that fails at train time is reported with its error after its attempts; the other run finishes', async () => {
    // The second `data` passes validation and fails when the run loads it: the folder does not exist.
    const missing = path.join(root, 'no-such-folder');
    const data = [base.data, { type: 'fashion-mnist', root: missing, trainSize: 200, testSize: 100 }];
    const failing = sweepFile('failing', { grid: { data } });
    // The third worker reconnected to the restarted server by itself; a fourth joins.
    const fourth = worker();
    // Spawned, not spawnSync: the workers' output is read while it runs.
    const enqueue = start(['sweep', '--config', failing, '--redis', url, '--attempts', '2']);
    expect(await enqueue.exit).toBe(1);
    expect(enqueue.out()).toContain('2 runs: 1 done, 1 failed');
    expect(enqueue.out()).toMatch(/\[[12]\/2\] failed data-fashion-mnist-[0-9a-f]{8}: .*no-such-folder/);
    const results = json(path.join(root, 'failing', 'runs', 'results.json')).runs as Row[];
    // The failing run was tried twice, by whichever workers took it.
    expect(third!.out() + fourth.out()).toMatch(new RegExp(`started ${results[1]!.id} .*attempt 2 of 2`));
    expect(results.map((x) => x.status)).toEqual(['done', 'failed']);
    expect(Number.isFinite(results[0]!.linearProbeTop1)).toBe(true);
    expect(results[1]!.error).toContain('no-such-folder');
    expect(json(path.join(root, 'failing', 'runs', 'status', `${results[1]!.id}.json`)).attempts).toBe(2);
    const status = supcon(['sweep', '--config', failing, '--status', '--redis', url]);
    expect(status.out).toContain('0 waiting, 0 active, 0 delayed, 1 completed, 1 failed, 0 not queued');

    for (const w of [third!, fourth]) w.child.kill('SIGTERM');
    expect(await Promise.all([third!.exit, fourth.exit])).toEqual([0, 0]);
  }, 90_000);

  it('--queue names the BullMQ queue, for supcon sweep as for supcon worker; without --redis it is refused', async () => {
    const named = sweepFile('named', { grid: { seed: [5] } });
    const w = worker(['--queue', 'supcon-other']);
    const enqueue = start(['sweep', '--config', named, '--redis', url, '--queue', 'supcon-other']);
    expect(await enqueue.exit).toBe(0);
    expect(enqueue.out()).toContain('1 runs: 1 done, 0 failed');
    expect(w.out()).toMatch(/supcon worker \d+: done seed-5/);
    const status = supcon(['sweep', '--config', named, '--status', '--redis', url, '--queue', 'supcon-other']);
    expect(status.out).toContain(`queue supcon-other on ${url}: 0 waiting, 0 active, 0 delayed, 1 completed, 0 failed, 0 not queued`);
    // The default queue never saw the run.
    const other = supcon(['sweep', '--config', named, '--status', '--redis', url]);
    expect(other.out).toContain('0 completed, 0 failed, 1 not queued');
    const bad = supcon(['sweep', '--config', named, '--queue', 'supcon-other']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('--queue: only with --redis');
    w.child.kill('SIGTERM');
    expect(await w.exit).toBe(0);
  }, 90_000);
});
