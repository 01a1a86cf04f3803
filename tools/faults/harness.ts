/**
 * Shared pieces of the fault-injection suite (`npm run test:faults`): the tiny run on the shipped
 * Fashion-MNIST sample, the built CLI as a child process, and comparisons of run folders.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRng } from '@supcon/core';

export const REPO = path.resolve(__dirname, '..', '..');
export const BIN = path.join(REPO, 'packages', 'cli', 'dist', 'bin.js');

/**
 * A run small enough to repeat dozens of times: 256 training and 128 test images of the sample,
 * a two-layer CNN, batches of 32 (8 steps an epoch, 24 in all), a checkpoint every 3 global steps
 * (mid-epoch after global steps 3, 6, 9, 12, 15, 18, 21; epoch checkpoints after 8, 16, 24), the
 * wasm backend on one thread, a linear probe and kNN at the end.
 */
export const TINY_CONFIG = {
  name: 'faults',
  seed: 1,
  backend: 'wasm',
  threads: 1,
  data: { type: 'fashion-mnist-sample', trainSize: 256, testSize: 128 },
  backbone: { type: 'small-cnn', channels: [8, 16] },
  head: { type: 'mlp', dim: 16 },
  augment: { type: 'simclr', scale: [0.6, 1], colorJitter: false, grayscaleProbability: 0 },
  loss: { type: 'supcon-out', temperature: 0.1 },
  optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9 },
  sampler: { type: 'random', dropLast: true },
  train: { epochs: 3, batchSize: 32, views: 2 },
  checkpoint: { everySteps: 3 },
  eval: [{ type: 'linear-probe' }, { type: 'knn', k: 10 }],
};

/** Files in the tiny run's checkpoints, for ranges of fault moments. */
export const TINY = {
  steps: 24,
  /** 7 mid-epoch + 3 epoch checkpoints. */
  checkpoints: 10,
  /** model.weights.bin, model.json, optimizer.bin, optimizer.json, checkpoint.json. */
  filesPerCheckpoint: 5,
  epochs: 3,
  final: 'epoch-0003',
};

export function writeConfig(dir: string, config: Record<string, unknown> = TINY_CONFIG): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the parent killed the child (`killAfter`). */
  killedByParent: boolean;
}

export interface CliOptions {
  /** Extra environment (e.g. SUPCON_FAULT_KILL_AT); the suite's own fault variable is never inherited. */
  env?: Record<string, string>;
  /** SIGKILL the child `delayMs` after a line of its stderr matches `line`. */
  killAfter?: { line: RegExp; delayMs: number };
  /** Prefix of the command (e.g. `['unshare', ...]`); the default runs node directly. */
  wrap?: string[];
  timeoutMs?: number;
}

/** Runs `node packages/cli/dist/bin.js ...args` and resolves when it exits. */
export function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...options.env };
  if (!options.env?.SUPCON_FAULT_KILL_AT) delete env.SUPCON_FAULT_KILL_AT;
  const argv = [...(options.wrap ?? []), process.execPath, BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killedByParent = false;
    let armed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => {
      stderr += String(d);
      const kill = options.killAfter;
      if (kill && !armed && kill.line.test(stderr)) {
        armed = true;
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) {
            killedByParent = true;
            child.kill('SIGKILL');
          }
        }, kill.delayMs);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killedByParent });
    });
  });
}

export const trainArgs = (config: string, out: string, resume = false) => ['train', '--config', config, '--out', out, '--no-report', ...(resume ? ['--resume'] : [])];

/** Train; after a run that did not finish, `--resume` until one does (at most `maxResumes`). */
export async function trainToTheEnd(config: string, out: string, first: CliOptions, later: CliOptions[] = [], maxResumes = 4): Promise<CliResult[]> {
  const attempts = [await cli(trainArgs(config, out), first)];
  while (attempts[attempts.length - 1].code !== 0 && attempts.length <= maxResumes) {
    attempts.push(await cli(trainArgs(config, out, true), later[attempts.length - 1] ?? {}));
  }
  return attempts;
}

/** Runs `jobs` with at most `concurrency` at a time; results in order. */
export async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]();
      }
    }),
  );
  return results;
}

/** The suite's seeded choice of fault moments: an integer in [0, n) from core's one seeded generator. */
export function seeded(seed: number): (n: number) => number {
  const rng = createRng(seed);
  return (n) => rng.int(n);
}

/**
 * checkpoint.json without what differs between two runs that did the same work: when it was
 * written, the training seconds and the size of metrics.jsonl (whose lines hold timings).
 */
export function checkpointJsonWithoutTimings(file: string): unknown {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { createdAt?: string; state?: { runner?: Record<string, unknown>; task?: Record<string, unknown> } };
  delete json.createdAt;
  if (json.state?.runner) {
    delete json.state.runner.metricsBytes;
    const partial = json.state.runner.partial as Record<string, unknown> | undefined;
    if (partial) delete partial.seconds;
  }
  if (json.state?.task) delete json.state.task.trainSeconds;
  return json;
}

/**
 * Differences between two checkpoint folders: every file byte for byte, but checkpoint.json
 * compared without its timings (`checkpointJsonWithoutTimings`). Empty when they match.
 */
export function checkpointDifferences(a: string, b: string): string[] {
  const files = (dir: string) => readdirSync(dir).sort();
  const [fa, fb] = [files(a), files(b)];
  if (fa.join() !== fb.join()) return [`files differ: ${fa.join(', ')} vs ${fb.join(', ')}`];
  const out: string[] = [];
  for (const f of fa) {
    if (f === 'checkpoint.json') {
      if (JSON.stringify(checkpointJsonWithoutTimings(path.join(a, f))) !== JSON.stringify(checkpointJsonWithoutTimings(path.join(b, f)))) out.push(`${f} differs (beyond createdAt and timings)`);
    } else if (!readFileSync(path.join(a, f)).equals(readFileSync(path.join(b, f)))) {
      out.push(`${f} differs`);
    }
  }
  return out;
}

/** metrics.jsonl lines without timings (`seconds`, `imagesPerSecond`). */
export function metricsWithoutTimings(runDir: string): Record<string, unknown>[] {
  return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => {
      const { seconds: _s, imagesPerSecond: _i, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

export function summaryOf(runDir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as Record<string, unknown>;
}

/** The parts of summary.json that do not depend on timing. */
export function stableSummary(runDir: string): Record<string, unknown> {
  const s = summaryOf(runDir);
  return { steps: s.steps, epochs: s.epochs, epochLoss: s.epochLoss, finalLoss: s.finalLoss, eval: s.eval };
}

/**
 * The uninterrupted tiny run, shared by the suite's files: run once per build of the CLI (keyed
 * by the config and the built files' times) into a folder under the system's temp folder.
 */
export async function baselineRun(): Promise<string> {
  const stamps = readdirSync(path.join(REPO, 'packages'))
    .map((p) => path.join(REPO, 'packages', p, 'dist', 'index.js'))
    .filter((f) => existsSync(f))
    .map((f) => `${f}:${statSync(f).mtimeMs}`);
  const key = createHash('sha256').update(JSON.stringify([TINY_CONFIG, stamps, statSync(BIN).mtimeMs])).digest('hex').slice(0, 16);
  const dir = path.join(tmpdir(), `supcon-faults-baseline-${key}`);
  if (existsSync(path.join(dir, 'run', 'summary.json'))) return path.join(dir, 'run');
  // Those of earlier builds go.
  for (const name of readdirSync(tmpdir())) if (name.startsWith('supcon-faults-baseline-')) rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
  const config = writeConfig(dir);
  const r = await cli(trainArgs(config, path.join(dir, 'run')));
  if (r.code !== 0) throw new Error(`the uninterrupted run failed:\n${r.stderr}`);
  return path.join(dir, 'run');
}
