#!/usr/bin/env node
/**
 * Frozen encoder features of a trained checkpoint on Fashion-MNIST, for the linear-probe benchmark
 * (packages/eval/bench/probe.bench.ts, probe-vs-sklearn.py):
 *
 *   node tools/dump-encoder-features.mjs [--run runs/fashion-mnist-repro/supcon-out-seed0]
 *     [--checkpoint epoch-0004 | latest] [--subset FILE] [--full FILE] [--threads N]
 *
 * Rebuilds the run's model (encoder + projection head) from the run's config.json the way
 * `supcon eval` (evalRun in packages/cli/src/train/run.ts) does, with the built packages' public
 * APIs, loads the checkpoint's weights into it (from a copy in /tmp, so that a concurrent prune of
 * the run's checkpoints cannot remove it mid-read) and encodes the whole train and test splits with
 * the encoder alone (before the head, in inference mode: @supcon/cli's encodeDataset, the features
 * the evaluators see). Writes, when asked:
 *
 * - `--subset FILE`: the first 200 training and 100 test images of each class in file order (the
 *   rows of bench/fashion-subset.ts's pixel case), train rows then test rows;
 * - `--full FILE`: all 60,000 train then 10,000 test rows.
 *
 * FILE.json is the header (format, dim, per split: rows, row offset, labels and, for the subset,
 * the image indices; the source run, checkpoint, epoch and its createdAt; the commit of this
 * checkout; the tfjs backend) and FILE.f32 the features, float32 little-endian, row-major.
 * The run folder is only read.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { builtinDefaults, builtinPlugins, createTrainingTask, encodeDataset } from '@supcon/cli';
import { createRegistry, createRunner, loadCheckpoint, resolveConfig } from '@supcon/core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FASHION = '/usr/share/datasets/fashion-mnist';
const TRAIN_PER_CLASS = 200;
const TEST_PER_CLASS = 100;

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = process.argv[i + 1];
  if (!value || value.startsWith('--')) throw new Error(`dump-encoder-features: --${name} needs a value`);
  return value;
}

const runDir = path.resolve(root, option('run', 'runs/fashion-mnist-repro/supcon-out-seed0'));
const which = option('checkpoint', 'latest');
const subsetFile = option('subset');
const fullFile = option('full');
const threads = Number(option('threads', '1'));
if (!subsetFile && !fullFile) throw new Error('dump-encoder-features: nothing to write: give --subset FILE and/or --full FILE');

const checkpointsDir = path.join(runDir, 'checkpoints');
const names = existsSync(checkpointsDir)
  ? readdirSync(checkpointsDir)
      .filter((n) => /^epoch-\d+$/.test(n) && existsSync(path.join(checkpointsDir, n, 'checkpoint.json')))
      .sort()
  : [];
if (names.length === 0) throw new Error(`dump-encoder-features: ${path.relative(root, runDir)} holds no complete checkpoint`);
const name = which === 'latest' ? names[names.length - 1] : which;
if (!names.includes(name)) throw new Error(`dump-encoder-features: no checkpoint ${name} in ${checkpointsDir} (there are ${names.join(', ')})`);

// A private copy of the checkpoint: the training run may prune its own folder while we read.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'supcon-dump-'));
const copy = path.join(tmp, name);
cpSync(path.join(checkpointsDir, name), copy, { recursive: true });
const meta = JSON.parse(readFileSync(path.join(copy, 'checkpoint.json'), 'utf8'));
const epoch = meta.state?.runner?.epochsCompleted;

// The run's resolved config (as evalRun when the source config file is not used): built-in parts only.
const raw = JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8'));
if ((raw.plugins ?? []).length) throw new Error(`dump-encoder-features: the run used plugins ${raw.plugins.map((p) => p.name).join(', ')}: only built-in parts are rebuilt`);
delete raw.plugins;
raw.eval = []; // evaluators are not run here
const registry = createRegistry(builtinPlugins);
const config = resolveConfig(raw, registry, { defaults: builtinDefaults });
config.out = path.join(tmp, 'run'); // the runner is never run; nothing is written into the real run folder

const backend = await initBackend('wasm', { threads });
const task = createTrainingTask({ backend, monitor: false });
const runner = createRunner(config, { registry, task, logger: { info() {}, warn: (m) => console.error(`warning: ${m}`) } });
const sampler = config.sampler ? await runner.context.build('sampler', config.sampler, 'sampler') : undefined;
const context = sampler ? Object.create(runner.context, { sampler: { value: sampler } }) : runner.context;
await task.setup(context);
const { model } = task.checkpoint();
await loadCheckpoint(copy, { model });
// The encoder is the nested model between the input and the head (task.ts: model = head(encoder(input))).
const nested = model.layers.filter((l) => Array.isArray(l.layers));
if (nested.length !== 2) throw new Error(`dump-encoder-features: expected the model to hold encoder and head models, got ${model.layers.map((l) => l.name).join(', ')}`);
const encoder = nested[0];

// The datasets as the task loaded them (same builder, same config).
const dataset = await context.build('dataset', config.data, 'data');
const [train, test] = await Promise.all([dataset.load('train'), dataset.load('test')]);
// They must be the IDX files in file order (the pixel case and probe-vs-sklearn.py read those).
for (const [split, prefix] of [
  [train, 'train'],
  [test, 't10k'],
]) {
  const labels = gunzipSync(readFileSync(path.join(FASHION, `${prefix}-labels-idx1-ubyte.gz`))).subarray(8);
  if (labels.length !== split.size || labels.some((v, i) => v !== split.labels[i])) {
    throw new Error(`dump-encoder-features: the ${prefix} split of the dataset is not ${FASHION}/${prefix}-* in file order`);
  }
}

const started = performance.now();
const encode = (split) => {
  const t = encodeDataset(encoder, split);
  const x = t.dataSync();
  t.dispose();
  return x;
};
const trainX = encode(train);
const testX = encode(test);
const dim = trainX.length / train.size;
const seconds = (performance.now() - started) / 1000;
console.error(`encoded ${train.size} + ${test.size} images with ${name} (epoch ${epoch}) in ${seconds.toFixed(1)} s on ${backend}: ${dim}-d features`);

function firstPerClass(labels, perClass) {
  const taken = new Array(10).fill(0);
  const keep = [];
  for (let i = 0; i < labels.length && keep.length < 10 * perClass; i++) {
    if (taken[labels[i]] < perClass) {
      taken[labels[i]]++;
      keep.push(i);
    }
  }
  return keep;
}

const commit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout.trim() !== '';

function write(file, parts) {
  const rows = parts.reduce((s, p) => s + p.indices.length, 0);
  const data = new Float32Array(rows * dim);
  const splits = {};
  let offset = 0;
  for (const p of parts) {
    p.indices.forEach((src, r) => data.set(p.x.subarray(src * dim, (src + 1) * dim), (offset + r) * dim));
    splits[p.name] = {
      rows: p.indices.length,
      rowOffset: offset,
      labels: Array.from(p.indices, (i) => p.split.labels[i]),
      ...(p.indices.length === p.split.size ? {} : { indices: p.indices }),
    };
    offset += p.indices.length;
  }
  // float32 little-endian (a big-endian host would have to swap: refuse it instead)
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('dump-encoder-features: big-endian host');
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const header = {
    format: 'supcon-encoder-features',
    version: 1,
    data: `${path.basename(file)}.f32`,
    dtype: 'float32',
    byteOrder: 'little',
    shape: [rows, dim],
    sha256: createHash('sha256').update(bytes).digest('hex'),
    description:
      parts[0].indices.length === train.size
        ? `encoder features of all of Fashion-MNIST: ${train.size} train rows (train-*-idx*-ubyte, file order) then ${test.size} test rows (t10k-*)`
        : `encoder features of the first ${TRAIN_PER_CLASS} train images of each class (train-*-idx*-ubyte, file order) then the first ${TEST_PER_CLASS} of each class of t10k-*`,
    features: 'frozen encoder output (before the projection head), inference mode, images / 255: @supcon/cli encodeDataset',
    splits,
    source: {
      run: path.relative(root, runDir),
      runName: raw.name,
      checkpoint: name,
      epochsCompleted: epoch,
      globalStep: meta.state?.runner?.globalStep,
      checkpointCreatedAt: meta.createdAt,
      backbone: raw.backbone,
      loss: raw.loss?.type,
    },
    generatedBy: 'tools/dump-encoder-features.mjs',
    commit: dirty ? `${commit} (with uncommitted changes)` : commit,
    backend,
  };
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(`${file}.f32`, bytes);
  writeFileSync(`${file}.json`, `${compactJson(header)}\n`);
  console.error(`wrote ${file}.json and ${file}.f32 (${rows} x ${dim}, ${(bytes.length / 2 ** 20).toFixed(2)} MiB)`);
}

/** JSON with one key per line but arrays of numbers on one line (the labels, indices). */
function compactJson(value, indent = '') {
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent} `;
  const entries = Array.isArray(value) ? value.map((v) => compactJson(v, inner)) : Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${compactJson(v, inner)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return entries.length === 0 ? `${open}${close}` : `${open}\n${entries.map((e) => inner + e).join(',\n')}\n${indent}${close}`;
}

const all = (split) => Array.from({ length: split.size }, (_, i) => i);
if (subsetFile) {
  write(subsetFile, [
    { name: 'train', split: train, x: trainX, indices: firstPerClass(train.labels, TRAIN_PER_CLASS) },
    { name: 'test', split: test, x: testX, indices: firstPerClass(test.labels, TEST_PER_CLASS) },
  ]);
}
if (fullFile) {
  write(fullFile, [
    { name: 'train', split: train, x: trainX, indices: all(train) },
    { name: 'test', split: test, x: testX, indices: all(test) },
  ]);
}
rmSync(tmp, { recursive: true, force: true });
tf.disposeVariables();
