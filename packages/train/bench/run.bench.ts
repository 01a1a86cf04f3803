/**
 * Whole training runs, side by side in one invocation: the project through `train()`
 * (@supcon/train, wasm backend, threads as the CLI's default: the available CPUs, at most 8)
 * against PyTorch running the identical recipe (bench/run_torch.py, Debian's python3-torch), on
 * the same N Fashion-MNIST training images, the same number of steps.
 *
 *   npm run bench:run                                   # builds @supcon/train first
 *   node --import jiti/register packages/train/bench/run.bench.ts --images 1024 --model small-cnn
 *
 * Flags: --images N (default 6000; @supcon/data's seeded stratified `trainSize` subset, handed to
 * PyTorch as bytes), --epochs E (1), --only supcon|ce (both), --model small-cnn|resnet|all (all),
 * --no-torch, --torch-threads T (default: the project's thread count), --threads T (the project's
 * wasm threads instead of the CLI's default), --warmup W (2: the first W steps of each run are not
 * timed), --resnet-width X (0.5). ResNet-18 at full width, batch 128 in one pass, with its peak heap:
 * `--model resnet --resnet-width 1 --only supcon --images 640 --no-torch`.
 *
 * The recipe is the Fashion-MNIST reproduction's (examples/fashion-mnist-repro/supcon-out.yaml,
 * ce.yaml) with E epochs and no evaluators: small CNN 32/64/128, or ResNet-18 (CIFAR stem) at
 * width X, the smallest ResNet @supcon/backbones has; an MLP head of 128 (SupCon); crop scale
 * [0.5, 1] + flip + brightness 0.4 with p 0.8; batch 128, drop_last; SGD lr 0.05, momentum 0.9,
 * weight decay 1e-4 on kernels, cosine with one warm-up epoch; SupCon L_out at temperature 0.1 on
 * 2 views, or cross-entropy on a linear classifier (1 view). Both sides also do what a run does
 * besides the steps: the gradient norm and a metrics line every step, the 20-NN monitor and a
 * checkpoint every epoch. images/s counts images (not views) over the timed steps, from the start
 * of the first timed step to the end of training (the last checkpoint written); CPU is process CPU
 * seconds (every thread) over wall seconds in that span, as a % of one core and of the cores
 * available. Each project run is profiled (`TrainOptions.profile`); the table after each pair is
 * the time per phase, with PyTorch's same phases beside it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { RunnerContext, RunnerHooks } from '@supcon/core';
import { PROFILE_PHASES, StepProfile, train } from '../src/index';
import { wasmHeapBytes } from './wasm-heap';
import type { ProfilePhase, StepProfileReport } from '../src/index';

type Stage = 'supcon' | 'ce';
type ModelName = 'small-cnn' | 'resnet';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback;
};
const positive = (name: string, fallback: string, integer = true): number => {
  const v = Number(flag(name, fallback));
  if (!(v > 0) || (integer && !Number.isInteger(v)))
    throw new Error(
      `--${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${flag(name, fallback)}`,
    );
  return v;
};
const images = positive('images', '6000');
const epochs = positive('epochs', '1');
const warmup = Number(flag('warmup', '2'));
const resnetWidth = positive('resnet-width', '0.5', false);
const threadsFlag = flag('threads', '');
const torchThreadsFlag = flag('torch-threads', '');
const withTorch = !args.includes('--no-torch');
const only = flag('only', '');
const modelFlag = flag('model', 'all');
if (only && only !== 'supcon' && only !== 'ce')
  throw new Error(`--only: expected supcon or ce, got ${only}`);
if (!['small-cnn', 'resnet', 'all'].includes(modelFlag))
  throw new Error(`--model: expected small-cnn, resnet or all, got ${modelFlag}`);
if (!Number.isInteger(warmup) || warmup < 0)
  throw new Error(`--warmup: expected an integer >= 0, got ${flag('warmup', '2')}`);
const BATCH = 128;
const stepsPerEpoch = Math.floor(images / BATCH);
if (stepsPerEpoch * epochs <= warmup)
  throw new Error(
    `--images ${images} x --epochs ${epochs}: ${stepsPerEpoch * epochs} steps of ${BATCH}, none left after ${warmup} warm-up steps`,
  );
const stages: Stage[] = only ? [only as Stage] : ['supcon', 'ce'];
const models: ModelName[] =
  modelFlag === 'all' ? ['small-cnn', 'resnet'] : [modelFlag as ModelName];
const cores = availableParallelism();
const here = path.dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'supcon-bench-run-'));

function config(stage: Stage, model: ModelName, out: string): Record<string, unknown> {
  return {
    name: `bench-run-${stage}-${model}`,
    seed: 0,
    backend: 'wasm',
    // Absent: 'auto', as the CLI (the available CPUs, at most 8).
    ...(threadsFlag ? { threads: Number(threadsFlag) } : {}),
    data: { type: 'fashion-mnist', trainSize: images },
    backbone:
      model === 'small-cnn'
        ? { type: 'small-cnn', channels: [32, 64, 128] }
        : { type: 'resnet', depth: 18, stem: 'cifar', widthMultiplier: resnetWidth },
    head: { type: 'mlp', dim: 128 },
    augment: {
      type: 'simclr',
      scale: [0.5, 1],
      colorJitter: { brightness: 0.4, contrast: 0, saturation: 0, hue: 0, p: 0.8 },
      grayscaleProbability: 0,
    },
    sampler: { type: 'random', dropLast: true },
    loss: stage === 'supcon' ? { type: 'supcon-out', temperature: 0.1 } : { type: 'cross-entropy' },
    optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4 },
    schedule: { type: 'cosine', warmupEpochs: 1 },
    train: { epochs, batchSize: BATCH, views: 2 },
    eval: [],
    out,
  };
}

/** Writes the run's own train and test splits (uint8) for PyTorch, before the first step. */
function dumpData(dir: string): RunnerHooks<RunnerContext> {
  return {
    beforeRun(context) {
      const { train: tr, test: te } = context.parts;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'train.u8'), tr.images);
      writeFileSync(path.join(dir, 'train-labels.u8'), Uint8Array.from(tr.labels));
      writeFileSync(path.join(dir, 'test.u8'), te.images);
      writeFileSync(path.join(dir, 'test-labels.u8'), Uint8Array.from(te.labels));
      writeFileSync(
        path.join(dir, 'shape.json'),
        JSON.stringify({
          shape: tr.shape,
          train: tr.size,
          test: te.size,
          classes: tr.classes.length,
        }),
      );
    },
  };
}

interface Side {
  imagesPerSecond: number;
  wallS: number;
  cpuS: number;
  steps: number;
  threads: number;
  phases: Record<ProfilePhase | 'idle', number>;
}

interface ProjectSide extends Side {
  report: StepProfileReport;
  finalLoss: number;
  /** The wasm heap's size after the run: it only grows, so this is the run's peak (MiB). */
  heapMiB: number;
}

const logger = { info: () => undefined, warn: (m: string) => console.warn(m) };

async function project(stage: Stage, model: ModelName, dataDir: string): Promise<ProjectSide> {
  const out = path.join(work, `${stage}-${model}`);
  const profile = new StepProfile({ warmupSteps: warmup });
  const { summary } = await train(config(stage, model, out), {
    logger,
    profile,
    hooks: withTorch ? [dumpData(dataDir)] : [],
  });
  const report = profile.report();
  const heapMiB = wasmHeapBytes() / 2 ** 20;
  rmSync(out, { recursive: true, force: true });
  // Free this run's models and optimizer before the next.
  tf.disposeVariables();
  const wallS = report.wallMs / 1000;
  return {
    imagesPerSecond: report.images / wallS,
    wallS,
    cpuS: (report.cpuMs ?? Number.NaN) / 1000,
    steps: report.steps,
    threads: (summary.threads as number | undefined) ?? 1,
    phases: report.phases,
    report,
    finalLoss: summary.finalLoss ?? Number.NaN,
    heapMiB,
  };
}

interface TorchJson {
  images_per_s: number;
  wall_s: number;
  cpu_s: number;
  steps: number;
  threads: number;
  torch: string;
  final_loss: number;
  phases: Record<ProfilePhase | 'idle', number>;
}

type TorchSide = Side & { version: string; finalLoss: number };

function torch(
  stage: Stage,
  model: ModelName,
  dataDir: string,
  threads: number,
): TorchSide | string {
  const out = mkdtempSync(path.join(work, `torch-${stage}-${model}-`));
  const env = { ...process.env };
  // Debian's OpenBLAS with these set picks a slow path (see docs/guide/performance.md).
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const argv = [
    path.join(here, 'run_torch.py'),
    '--data',
    dataDir,
    '--stage',
    stage,
    '--model',
    model,
    '--resnet-width',
    String(resnetWidth),
    '--epochs',
    String(epochs),
    '--batch',
    String(BATCH),
    '--views',
    '2',
    '--warmup',
    String(warmup),
    '--threads',
    String(threads),
    '--out',
    out,
  ];
  const r = spawnSync('/usr/bin/python3', argv, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0)
    return `PyTorch run failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}): ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`;
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchJson;
  return {
    imagesPerSecond: j.images_per_s,
    wallS: j.wall_s,
    cpuS: j.cpu_s,
    steps: j.steps,
    threads: j.threads,
    phases: j.phases,
    version: j.torch,
    finalLoss: j.final_loss,
  };
}

const fixed = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const cpuText = (s: Side): string => {
  const pct = (100 * s.cpuS) / s.wallS;
  return `${fixed(pct, 0)}% of a core, ${fixed(pct / cores, 0)}% of ${cores}`;
};
const load = (): string =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

const PHASE_LABELS: Record<ProfilePhase | 'idle', string> = {
  augmentation: 'augmentation',
  batching: 'batching',
  forward: 'forward',
  loss: 'loss',
  backward: 'backward',
  optimizer: 'optimizer',
  monitor: 'monitor',
  io: 'I/O',
  idle: 'idle',
};

function profileTable(name: string, ours: ProjectSide, theirs: Side | undefined): string[] {
  const lines = [
    '',
    `profile, ${name}: ${ours.steps} timed steps, ${fixed(ours.wallS, 2)} s wall${theirs ? ` (PyTorch: ${theirs.steps} steps, ${fixed(theirs.wallS, 2)} s)` : ''}`,
    `| phase        | supcon ms/step | % of wall |${theirs ? ' torch ms/step | % of wall |' : ''}`,
    `| ------------ | -------------- | --------- |${theirs ? ' ------------- | --------- |' : ''}`,
  ];
  for (const phase of [...PROFILE_PHASES, 'idle'] as const) {
    const cell = (s: Side, w: number) =>
      `${fixed(s.phases[phase] / s.steps, 2).padStart(w)} | ${fixed((100 * s.phases[phase]) / (1000 * s.wallS), 1).padStart(8)}% |`;
    lines.push(
      `| ${PHASE_LABELS[phase].padEnd(12)} | ${cell(ours, 14)}${theirs ? ` ${cell(theirs, 13)}` : ''}`,
    );
  }
  const total = (s: Side) => `${fixed((1000 * s.wallS) / s.steps, 2).padStart(14)} |    100.0% |`;
  lines.push(
    `| ${'wall'.padEnd(12)} | ${total(ours)}${theirs ? ` ${total(theirs).slice(1)}` : ''}`,
  );
  return lines;
}

async function main(): Promise<void> {
  const dataDir = path.join(work, 'data');
  console.log(
    `whole runs: ${images} Fashion-MNIST training images, ${epochs} epoch(s) of ${stepsPerEpoch} steps of ${BATCH} (drop_last), the first ${warmup} steps not timed; ` +
      `${cores} CPUs available, load average ${load()} (1/5/15 min)`,
  );
  const rows: string[] = [];
  const profiles: string[] = [];
  let torchVersion = '';
  let projectThreads = 0;
  let torchThreads = 0;
  for (const model of models) {
    for (const stage of stages) {
      const name = `${stage} ${model}${model === 'resnet' ? `-18 x${resnetWidth}` : ''}`;
      const loadBefore = load();
      const ours = await project(stage, model, dataDir);
      projectThreads = ours.threads;
      console.log(
        `  ${name}: project ${fixed(ours.imagesPerSecond)} images/s over ${ours.steps} steps (${ours.threads} wasm threads; CPU ${cpuText(ours)}; final loss ${fixed(ours.finalLoss, 4)}; wasm heap ${fixed(ours.heapMiB, 0)} MiB, the peak so far)`,
      );
      let theirs: TorchSide | undefined;
      if (withTorch) {
        const threads = torchThreadsFlag ? Number(torchThreadsFlag) : ours.threads;
        const r = torch(stage, model, dataDir, threads);
        if (typeof r === 'string') console.log(`  ${name}: ${r}`);
        else {
          theirs = r;
          torchVersion = r.version;
          torchThreads = r.threads;
          console.log(
            `  ${name}: PyTorch ${fixed(r.imagesPerSecond)} images/s over ${r.steps} steps (${r.threads} threads; CPU ${cpuText(r)}; final loss ${fixed(r.finalLoss, 4)})`,
          );
        }
      }
      const ratio = theirs ? ours.imagesPerSecond / theirs.imagesPerSecond : Number.NaN;
      rows.push(
        `| ${name.padEnd(21)} | ${fixed(ours.imagesPerSecond).padStart(12)} | ${(theirs ? fixed(theirs.imagesPerSecond) : 'n/a').padStart(11)} | ${fixed(ratio, 3).padStart(20)} | ${cpuText(ours).padStart(26)} | ${(theirs ? cpuText(theirs) : 'n/a').padStart(26)} | ${loadBefore} |`,
      );
      profiles.push(...profileTable(name, ours, theirs));
    }
  }
  console.log('');
  console.log(
    `supcon: the project, train() (@supcon/train) on tfjs-core ${tf.version_core} wasm, ${projectThreads} thread(s)${withTorch ? `; PyTorch ${torchVersion || '?'}, ${torchThreads || '?'} thread(s)` : ''}`,
  );
  console.log(
    `| run                   | supcon img/s | torch img/s | ratio (supcon/torch) | supcon CPU                 | torch CPU                  | load before    |`,
  );
  console.log(
    `| --------------------- | ------------ | ----------- | -------------------- | -------------------------- | -------------------------- | -------------- |`,
  );
  for (const r of rows) console.log(r);
  for (const l of profiles) console.log(l);
  console.log(
    '\n(batching: images gathered into float tensors; augmentation: every view, concatenated; forward/loss: timed inside the gradient function, backward: the rest of it; ' +
      'optimizer: gradient norm, loss read, SGD update; monitor: the per-epoch 20-NN; I/O: metrics lines and checkpoints; idle: wall minus the rest)',
  );
  console.log(`load average at the end: ${load()}`);
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
