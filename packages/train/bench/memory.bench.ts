/**
 * A memory bank at a small batch, side by side in one invocation: the same SupCon L_out run on
 * Fashion-MNIST at batch 32 without a bank, with `train.memory: { size: 4096 }`, and with a
 * momentum key encoder filling it (`momentum: 0.99`), and what each costs and gives:
 * memory used (the wasm heap and the peak resident set while training and over the whole run, the peak of
 * `tf.memory().numBytes` over the steps, the bank itself, the checkpoint's task state) and the
 * accuracy (linear probe and kNN top-1 on the frozen encoder), with ratios to the run without.
 *
 *   npm run bench:memory                       # builds @supcon/train first
 *   npm run bench:memory -- --seeds 2 --epochs 4 --images 6000
 *
 * Flags: --images N (6000; a seeded stratified subset of the training split, and 2000 test
 * images), --epochs E (4), --batch B (32), --size M (4096), --momentum m (0.99), --seeds S (1:
 * seeds 0..S-1), --threads T (1 per run), --out DIR (runs/bench-memory), --only none|memory|momentum.
 * Each run is a child process of its own (the wasm heap only grows, so its size at the end is that
 * run's peak) and writes `<out>/<variant>_seed-<s>/bench.json`; a rerun reads the runs already
 * measured instead of training them again, so a long comparison can be spread over sessions.
 * The recipe is the stability study's base run (examples/stability/supcon-base.yaml: small CNN
 * 32/64/128, head 128, crop + flip + brightness, SGD lr 0.05 with one cosine, 2 views) with the
 * batch changed; Fashion-MNIST from /usr/share/datasets/fashion-mnist (Debian's
 * dataset-fashion-mnist) or the data cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { train } from '../src/index';
import { wasmHeapBytes } from './wasm-heap';

const VARIANTS = ['none', 'memory', 'momentum'] as const;
type Variant = (typeof VARIANTS)[number];

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback;
};
const number = (name: string, fallback: string, check: (v: number) => boolean, what: string): number => {
  const v = Number(flag(name, fallback));
  if (!check(v)) throw new Error(`--${name}: expected ${what}, got ${flag(name, fallback)}`);
  return v;
};
const integer = (name: string, fallback: string) => number(name, fallback, (v) => Number.isInteger(v) && v > 0, 'a positive integer');

interface Settings {
  images: number;
  epochs: number;
  batch: number;
  size: number;
  momentum: number;
  threads: number;
}

interface Measured {
  variant: Variant;
  seed: number;
  settings: Settings;
  probeTop1: number;
  knnTop1: number;
  imagesPerSecond: number;
  /**
   * The wasm heap after the first epoch's last step, before the epoch's end (the 20-NN monitor,
   * which encodes 2500 images at once, and the checkpoint): the steps' own peak (MiB).
   */
  stepsHeapMiB: number;
  /** The wasm heap after the last step: it only grows, so training's peak, the monitor included (MiB). */
  trainHeapMiB: number;
  /** The process's peak resident set up to the last step (MiB). */
  trainRssMiB: number;
  /** The wasm heap at the end of the run, evaluation included (MiB). */
  heapMiB: number;
  /** The process's peak resident set over the whole run (MiB). */
  maxRssMiB: number;
  /** The largest `tf.memory().numBytes` after any step (MiB). */
  tensorsPeakMiB: number;
  /** The bank's rows and labels (MiB; 0 without one). */
  bankMiB: number;
  /** The last checkpoint's checkpoint.json, where the bank (and key weights) are saved (MiB). */
  checkpointJsonMiB: number;
  wallSeconds: number;
}

function config(variant: Variant, seed: number, s: Settings, out: string): Record<string, unknown> {
  const memory = variant === 'none' ? {} : { memory: { size: s.size, ...(variant === 'momentum' ? { momentum: s.momentum } : {}) } };
  return {
    name: `bench-memory-${variant}`,
    seed,
    backend: 'wasm',
    threads: s.threads,
    data: { type: 'fashion-mnist', trainSize: s.images, testSize: 2000 },
    backbone: { type: 'small-cnn', channels: [32, 64, 128] },
    head: { type: 'mlp', dim: 128 },
    augment: { type: 'simclr', scale: [0.5, 1], colorJitter: { brightness: 0.4, contrast: 0, saturation: 0, hue: 0, p: 0.8 }, grayscaleProbability: 0 },
    sampler: { type: 'random', dropLast: true },
    loss: { type: 'supcon-out', temperature: 0.1 },
    optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 0.0001 },
    schedule: { type: 'cosine', warmupEpochs: 1 },
    train: { epochs: s.epochs, batchSize: s.batch, views: 2, ...memory },
    eval: [{ type: 'linear-probe' }, { type: 'knn', k: 20 }],
    out,
  };
}

const mib = (bytes: number) => bytes / 2 ** 20;

/** One run, in this (child) process; prints nothing but warnings. */
async function child(variant: Variant, seed: number, s: Settings, out: string): Promise<void> {
  let peak = 0;
  let trainHeap = 0;
  let trainRss = 0;
  let stepsHeap = Number.NaN;
  const hooks = [
    {
      afterStep: (_context: unknown, step: { epoch: number }) => {
        peak = Math.max(peak, tf.memory().numBytes);
        trainHeap = wasmHeapBytes();
        if (step.epoch === 0) stepsHeap = trainHeap;
        trainRss = process.resourceUsage().maxRSS;
      },
    },
  ];
  const started = performance.now();
  const { summary } = await train(config(variant, seed, s, out), { logger: { info: () => undefined, warn: (m) => console.warn(m) }, hooks, resume: true });
  const last = path.join(out, 'checkpoints', `epoch-${String(s.epochs).padStart(4, '0')}`, 'checkpoint.json');
  const top1 = (key: string) => ((summary as Record<string, unknown>)[key] as { top1?: number } | undefined)?.top1 ?? Number.NaN;
  const measured: Measured = {
    variant,
    seed,
    settings: s,
    probeTop1: top1('linearProbe'),
    knnTop1: top1('knn'),
    imagesPerSecond: (summary as { imagesPerSecond?: number }).imagesPerSecond ?? Number.NaN,
    stepsHeapMiB: mib(stepsHeap),
    trainHeapMiB: mib(trainHeap),
    trainRssMiB: trainRss / 1024,
    heapMiB: mib(wasmHeapBytes()),
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    tensorsPeakMiB: mib(peak),
    // Rows of 128 float32 and an int32 label each.
    bankMiB: variant === 'none' ? 0 : mib(s.size * (128 * 4 + 4)),
    checkpointJsonMiB: existsSync(last) ? mib(statSync(last).size) : Number.NaN,
    wallSeconds: (performance.now() - started) / 1000,
  };
  writeFileSync(path.join(out, 'bench.json'), `${JSON.stringify(measured, null, 2)}\n`);
}

function parent(): void {
  const s: Settings = {
    images: integer('images', '6000'),
    epochs: integer('epochs', '4'),
    batch: integer('batch', '32'),
    size: integer('size', '4096'),
    momentum: number('momentum', '0.99', (v) => v >= 0 && v < 1, 'a number in [0, 1)'),
    threads: integer('threads', '1'),
  };
  const seeds = integer('seeds', '1');
  const only = flag('only', '');
  if (only && !VARIANTS.includes(only as Variant)) throw new Error(`--only: expected one of ${VARIANTS.join(', ')}, got ${only}`);
  const variants = only ? [only as Variant] : [...VARIANTS];
  const root = path.resolve(flag('out', 'runs/bench-memory'));
  const script = fileURLToPath(import.meta.url);
  const results: Measured[] = [];
  const total = variants.length * seeds;
  let n = 0;
  for (let seed = 0; seed < seeds; seed++) {
    for (const variant of variants) {
      n++;
      const out = path.join(root, `${variant}_seed-${seed}`);
      const file = path.join(out, 'bench.json');
      const known = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Measured) : undefined;
      if (known && JSON.stringify(known.settings) === JSON.stringify(s)) {
        console.log(`[${n}/${total}] ${variant}, seed ${seed}: measured before (${file})`);
        results.push(known);
        continue;
      }
      if (known) throw new Error(`${file}: measured with other settings (${JSON.stringify(known.settings)}); pass those, or another --out`);
      // A finished run without its measurement (stopped between the two) would train nothing: say so.
      if (existsSync(path.join(out, 'summary.json'))) throw new Error(`${out}: a finished run without bench.json; move the folder away to measure it again`);
      mkdirSync(out, { recursive: true });
      console.log(`[${n}/${total}] ${variant}, seed ${seed}: training (${s.epochs} epochs of ${s.images} images at batch ${s.batch}) into ${out}`);
      const r = spawnSync(process.execPath, [...process.execArgv, script, '--child', JSON.stringify({ variant, seed, s, out })], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`${variant}, seed ${seed}: the run exited with ${r.status ?? r.signal}; rerun to resume it from its checkpoint`);
      results.push(JSON.parse(readFileSync(file, 'utf8')) as Measured);
    }
  }
  report(results, variants, seeds, s);
}

function report(results: Measured[], variants: Variant[], seeds: number, s: Settings): void {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const of = (v: Variant) => results.filter((r) => r.variant === v);
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const label: Record<Variant, string> = { none: 'no bank', memory: `memory ${s.size}`, momentum: `memory ${s.size} + momentum ${s.momentum}` };
  console.log(`\nSupCon L_out, batch ${s.batch} (2 views), ${s.images} Fashion-MNIST images, ${s.epochs} epochs, ${s.threads} wasm thread(s) per run, ${seeds} seed(s); means over seeds`);
  console.log(
    "Memory in MiB: the wasm heap after the first epoch's steps (before its 20-NN monitor), after the last step (monitor included) and over the whole run (evaluation included); " +
      'the peak RSS while training and over the whole run; tensors: the largest tf.memory().numBytes after a step.',
  );
  console.log('| run | probe top-1 | kNN top-1 | heap, steps | heap, training | heap, whole run | RSS, training | RSS, whole run | tensors | bank | checkpoint.json | images/s |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const base = of('none');
  for (const v of variants) {
    const rs = of(v);
    const m = (k: keyof Measured) => mean(rs.map((r) => r[k] as number));
    const acc = (k: 'probeTop1' | 'knnTop1') => `${f(100 * m(k), 2)}${seeds > 1 ? ` (${rs.map((r) => f(100 * (r[k] as number), 2)).join(', ')})` : ''}`;
    console.log(
      `| ${label[v]} | ${acc('probeTop1')} | ${acc('knnTop1')} | ${f(m('stepsHeapMiB'), 0)} | ${f(m('trainHeapMiB'), 0)} | ${f(m('heapMiB'), 0)} | ${f(m('trainRssMiB'), 0)} | ${f(m('maxRssMiB'), 0)} | ${f(m('tensorsPeakMiB'))} | ${f(m('bankMiB'), 2)} | ${f(m('checkpointJsonMiB'), 2)} | ${f(m('imagesPerSecond'))} |`,
    );
  }
  if (base.length && variants.length > 1) {
    console.log('\nAgainst the run without a bank (same seeds):');
    const bm = (k: keyof Measured) => mean(base.map((r) => r[k] as number));
    for (const v of variants.filter((x) => x !== 'none')) {
      const rs = of(v);
      const m = (k: keyof Measured) => mean(rs.map((r) => r[k] as number));
      console.log(
        `  ${label[v]}: probe ${m('probeTop1') >= bm('probeTop1') ? '+' : ''}${f(100 * (m('probeTop1') - bm('probeTop1')), 2)} points, kNN ${m('knnTop1') >= bm('knnTop1') ? '+' : ''}${f(100 * (m('knnTop1') - bm('knnTop1')), 2)} points; ` +
          `the steps' wasm heap ${m('stepsHeapMiB') >= bm('stepsHeapMiB') ? '+' : ''}${f(m('stepsHeapMiB') - bm('stepsHeapMiB'))} MiB (x${f(m('stepsHeapMiB') / bm('stepsHeapMiB'), 2)}), training's RSS x${f(m('trainRssMiB') / bm('trainRssMiB'), 2)}; speed x${f(m('imagesPerSecond') / bm('imagesPerSecond'), 2)}`,
      );
    }
  }
}

const childAt = args.indexOf('--child');
if (childAt >= 0) {
  const { variant, seed, s, out } = JSON.parse(args[childAt + 1]!) as { variant: Variant; seed: number; s: Settings; out: string };
  child(variant, seed, s, out).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else parent();
