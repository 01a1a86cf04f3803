/**
 * Multi-hot labels through a real run (`loss.multiLabel`, wasm, one thread, the tiny SupCon config
 * of reference.json on the Fashion-MNIST sample). Independent facts:
 * - one-hot label sets with `multiLabel: 'any'` or `'jaccard'` train bitwise as the single-label
 *   run, with a memory bank too (the losses' own test shows the one-hot loss is bit for bit the
 *   `[batch]`-label one, so any difference would be the runner's);
 * - the label sets reach the loss: every multi-hot row the loss gets, the batch's and the bank's,
 *   is the set the data gives that image's label (sets made from the label by a rule the test
 *   knows), and the loss the part returns at the first step equals `supConLoss` with the
 *   positive mask of shared labels built here by hand;
 * - stopped and resumed, a multi-label run with a bank ends bitwise as an unbroken one, its bank's
 *   multi-hot rows included.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { defineFactory, definePlugin } from '@supcon/core';
import type { ImageDataset, LossInput, LossPart } from '@supcon/core';
import { imageDatasetFactory, loadFashionMnistSample } from '@supcon/data';
import { lossesPlugin, supConLoss } from '@supcon/losses';
import { MemoryBank } from '../src/memory-bank';
import configsJson from './fixtures/reference-configs.json';
import { checkpointFile, recordedRun } from './recorded-run';

const base = (configsJson as Record<string, Record<string, unknown>>).supcon;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const C = 10;
/** The label set of an image whose (first) label is k: {k, (3k + 1) mod 10}, never a single label. */
const setOf = (k: number) => [k, (3 * k + 1) % C];
const row = (labels: number[]) => Array.from({ length: C }, (_, c) => (labels.includes(c) ? 1 : 0));

/** Every step's inputs as the loss got them (copied out), and its first step's check. */
interface Seen {
  labels: number[];
  multiHot?: number[][];
  memoryLabels?: number[];
  memoryMultiHot?: number[][];
}
const seen: Seen[] = [];
let firstStep: { value: number; byMask: number } | undefined;

const rows2d = (t: tf.Tensor2D) => t.arraySync();

/** The real supcon-out part, recording what it is handed. */
const recording = defineFactory({
  schema: lossesPlugin.losses['supcon-out'].schema,
  description: 'supcon-out that records its inputs (test)',
  create: (options, context) => {
    const part = lossesPlugin.losses['supcon-out'].create(options, context) as LossPart;
    return {
      ...part,
      compute(input: LossInput) {
        seen.push({
          labels: Array.from(input.labels.dataSync()),
          ...(input.multiHot ? { multiHot: rows2d(input.multiHot) } : {}),
          ...(input.memory ? { memoryLabels: Array.from(input.memory.labels.dataSync()) } : {}),
          ...(input.memory?.multiHot ? { memoryMultiHot: rows2d(input.memory.multiHot) } : {}),
        });
        const value = part.compute(input);
        if (!firstStep && input.multiHot && options.multiLabel === 'any') {
          // 'any' by hand: j is a positive of i when their sets share a label (views of one image share theirs).
          const sets = rows2d(input.multiHot);
          const mask = tf.tensor2d(sets.map((a) => sets.map((b) => (a.some((x, c) => x > 0 && b[c]! > 0) ? 1 : 0))));
          const byMask = tf.tidy(() => supConLoss(input.features!, null, { mask, temperature: options.temperature }));
          firstStep = { value: tf.tidy(() => tf.clone(value)).dataSync()[0]!, byMask: byMask.dataSync()[0]! };
          tf.dispose([mask, byMask]);
        }
        return value;
      },
    };
  },
});

async function sampleSplits() {
  const train = await loadFashionMnistSample({ split: 'train' });
  const test = await loadFashionMnistSample({ split: 'test' });
  const multi = (rule: (k: number) => number[]): ImageDataset & { multiLabels: Uint8Array } => ({
    ...train,
    multiLabels: Uint8Array.from(Array.from(train.labels, (k) => row(rule(k))).flat()),
  });
  return { train, test, sets: multi(setOf), oneHot: multi((k) => [k]) };
}

let plugin: ReturnType<typeof definePlugin>;
beforeAll(async () => {
  const { train, test, sets, oneHot } = await sampleSplits();
  plugin = definePlugin({
    name: 'multi-label-test',
    datasets: {
      plain: imageDatasetFactory({ train, test }),
      'one-hot': imageDatasetFactory({ train: oneHot, test }),
      sets: imageDatasetFactory({ train: sets, test }),
    },
    losses: { recording },
  });
});

const config = (data: string, loss: Record<string, unknown>, memory?: number) => ({
  ...base,
  plugins: [plugin],
  data: { type: data, trainSize: 200, testSize: 100 },
  loss,
  train: { ...(base.train as object), ...(memory ? { memory: { size: memory } } : {}) },
});
const weights = (out: string) => sha(checkpointFile(out, 'epoch-0002', 'model.weights.bin'));

describe('loss.multiLabel in a run', () => {
  it("one-hot label sets with 'any' or 'jaccard' train bitwise as the single-label run, with a memory bank too", async () => {
    const plain = await recordedRun(config('plain', { type: 'supcon-out' }, 120));
    expect(plain.result).not.toBeInstanceOf(Error);
    for (const multiLabel of ['any', 'jaccard']) {
      const run = await recordedRun(config('one-hot', { type: 'supcon-out', multiLabel }, 120));
      expect(run.result).not.toBeInstanceOf(Error);
      expect(run.losses).toEqual(plain.losses);
      expect(weights(run.out)).toBe(weights(plain.out));
    }
  }, 600_000);

  it("hands the loss each image's label set, for the batch and the bank; 'any' equals the loss of the shared-label mask", async () => {
    seen.length = 0;
    firstStep = undefined;
    const run = await recordedRun(config('sets', { type: 'recording', multiLabel: 'any' }, 120));
    expect(run.result).not.toBeInstanceOf(Error);
    expect(seen.length).toBe(8);
    seen.forEach((s, step) => {
      // One set per image (50), in the order of the (first) labels, row for row.
      expect(s.multiHot!.length).toBe(50);
      s.multiHot!.forEach((r, i) => expect(r).toEqual(row(setOf(s.labels[i]!))));
      if (step === 0) expect(s.memoryLabels).toBeUndefined(); // the bank is filled after the loss
      else {
        expect(s.memoryLabels!.length).toBe(Math.min(120, 100 * step));
        s.memoryMultiHot!.forEach((r, i) => expect(r).toEqual(row(setOf(s.memoryLabels![i]!))));
        // The bank's newest rows are the previous step's 2 views of its 50 images, view-major.
        expect(s.memoryLabels!.slice(-100)).toEqual([...seen[step - 1]!.labels, ...seen[step - 1]!.labels]);
      }
    });
    expect(firstStep!.value).toBeCloseTo(firstStep!.byMask, 5);
    // The sets matter: the first-label run and 'jaccard' take other steps from the first one on.
    const firstLabel = await recordedRun(config('sets', { type: 'supcon-out' }, 120));
    const jaccard = await recordedRun(config('sets', { type: 'supcon-out', multiLabel: 'jaccard' }, 120));
    expect(firstLabel.losses[0]).not.toBe(run.losses[0]);
    expect(jaccard.losses[0]).not.toBe(run.losses[0]);
    expect(jaccard.losses[0]).not.toBe(firstLabel.losses[0]);
  }, 600_000);

  it('resumed with a bank, a multi-label run ends bitwise as an unbroken one, the bank\'s label sets included', async () => {
    const cfg = config('sets', { type: 'supcon-out', multiLabel: 'jaccard' }, 120);
    const straight = await recordedRun(cfg);
    const stopped = await recordedRun(cfg, { stopAt: 4 });
    expect(String(stopped.result)).toContain('stopped by the test');
    const resumed = await recordedRun(cfg, { out: stopped.out, resume: true });
    expect(resumed.result).not.toBeInstanceOf(Error);
    expect(resumed.losses).toEqual(straight.losses.slice(4));
    for (const file of ['model.weights.bin', 'optimizer.bin'])
      expect(sha(checkpointFile(resumed.out, 'epoch-0002', file))).toBe(sha(checkpointFile(straight.out, 'epoch-0002', file)));
    const memory = (out: string) => JSON.parse(checkpointFile(out, 'epoch-0002', 'checkpoint.json').toString()).state.task.memory;
    expect(memory(straight.out)).toMatchObject({ size: 120, classes: C, count: 120 });
    expect(memory(resumed.out)).toEqual(memory(straight.out));
  }, 600_000);

  it('says when label sets go unused, or when multiLabel meets single-label data; refuses a bad multiLabel by path', async () => {
    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (m: string) => warnings.push(m) };
    const { train } = await import('../src');
    const tiny = (data: string, loss: Record<string, unknown>) => ({ ...config(data, loss), train: { epochs: 1, batchSize: 50 }, eval: [] });
    const out = () => path.join(mkdtempSync(path.join(tmpdir(), 'supcon-multi-label-')), 'run');
    await train({ ...tiny('sets', { type: 'supcon-out' }), out: out() }, { logger });
    expect(warnings.join('\n')).toMatch(/data: 200 of 200 training images have several labels, but the loss uses each image's first label \(set loss\.multiLabel/);
    warnings.length = 0;
    await train({ ...tiny('plain', { type: 'supcon-out', multiLabel: 'any' }), out: out() }, { logger });
    expect(warnings.join('\n')).toMatch(/loss\.multiLabel: every training image has one label/);
    await expect(train({ ...tiny('sets', { type: 'supcon-out', multiLabel: 'all' }), out: out() }, { logger })).rejects.toThrow(/loss\.multiLabel/);
    await expect(train({ ...tiny('sets', { type: 'simclr', multiLabel: 'any' }), out: out() }, { logger })).rejects.toThrow(/loss.*multiLabel/);
  }, 300_000);
});

describe('a multi-label-folder (PNGs and a labels CSV the test writes) in a run', () => {
  it("trains on the CSV's label sets: the loss gets each image's set", async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'supcon-multi-label-folder-'));
    const tags = ['cat', 'dog', 'outdoor'];
    // 60 images 8x8: image i's tags are a rule of i, its brightness follows its first tag.
    const setOfImage = (i: number) => [[0], [1], [0, 2], [1, 2], [2, 0]][i % 5]!;
    const lines = ['file,labels'];
    for (let i = 0; i < 60; i++) {
      const png = new PNG({ width: 8, height: 8 });
      const set = setOfImage(i);
      for (let p = 0; p < 64; p++) png.data.set([40 + 80 * set[0]! + (p % 8), 30 * set.length, (i * 7) % 255, 255], p * 4);
      writeFileSync(path.join(root, `${i}.png`), PNG.sync.write(png));
      lines.push(`${i}.png,${set.map((c) => tags[c]).join(';')}`);
    }
    writeFileSync(path.join(root, 'labels.csv'), `${lines.join('\n')}\n`);
    seen.length = 0;
    const run = await recordedRun({
      ...base,
      plugins: [plugin],
      data: { type: 'multi-label-folder', root, channels: 1 },
      loss: { type: 'recording', multiLabel: 'any' },
      train: { epochs: 1, batchSize: 16, memory: { size: 64 } },
      eval: [{ type: 'knn', k: 3 }],
    });
    expect(run.result).not.toBeInstanceOf(Error);
    // classes sorted: cat, dog, outdoor; the sets the CSV gives, by each image's first tag.
    const csvSets = new Set([[0], [1], [0, 2], [1, 2], [2, 0]].map((set) => JSON.stringify(row(set).slice(0, 3))));
    const fromSets = seen.flatMap((s) => [...s.multiHot!, ...(s.memoryMultiHot ?? [])]);
    expect(fromSets.length).toBeGreaterThan(0);
    for (const r of fromSets) expect(csvSets.has(JSON.stringify(r))).toBe(true);
    seen.forEach((s) => s.multiHot!.forEach((r, i) => expect(r[s.labels[i]!]).toBe(1)));
    // The CSV's sets with several tags reach the loss.
    expect(fromSets.some((r) => r[0]! + r[1]! + r[2]! > 1)).toBe(true);
  }, 300_000);
});

describe('loss.positivesCap in a run', () => {
  it("draws a new choice each step from the loss part's generator, which a resume restores: bitwise the unbroken run", async () => {
    const cfg = config('plain', { type: 'supcon-out', positivesCap: 2 });
    const straight = await recordedRun(cfg);
    const uncapped = await recordedRun(config('plain', { type: 'supcon-out' }));
    expect(straight.losses[0]).not.toBe(uncapped.losses[0]);
    const stopped = await recordedRun(cfg, { stopAt: 4 });
    const resumed = await recordedRun(cfg, { out: stopped.out, resume: true });
    expect(resumed.losses).toEqual(straight.losses.slice(4));
    expect(weights(resumed.out)).toBe(weights(straight.out));
  }, 600_000);
});

describe('MemoryBank with label sets', () => {
  it('keeps each row\'s set with it, FIFO, saves and restores them, and refuses a checkpoint of the other kind', () => {
    const bank = new MemoryBank(3, 1, 4);
    bank.push(Float32Array.from([1, 2]), [0, 1], Uint8Array.from([1, 0, 0, 1, 0, 1, 1, 0]));
    bank.push(Float32Array.from([3, 4]), [2, 3], Uint8Array.from([0, 0, 1, 0, 1, 1, 1, 1]));
    const copy = new MemoryBank(3, 1, 4);
    copy.restore(JSON.parse(JSON.stringify(bank.state())));
    for (const b of [bank, copy]) {
      const t = b.tensors()!;
      expect(Array.from(t.features.dataSync())).toEqual([2, 3, 4]);
      expect(t.multiHot!.arraySync()).toEqual([
        [0, 1, 1, 0],
        [0, 0, 1, 0],
        [1, 1, 1, 1],
      ]);
      tf.dispose([t.features, t.labels, t.multiHot!]);
    }
    expect(() => bank.push(Float32Array.from([5]), [1])).toThrow(/expected 1 multi-hot rows of 4 classes, got none/);
    expect(() => new MemoryBank(3, 1).restore(bank.state())).toThrow(/holds multi-hot labels \(the run was started with loss\.multiLabel\)/);
    const single = new MemoryBank(3, 1);
    expect(() => bank.restore(single.state())).toThrow(/holds no multi-hot labels/);
    expect(() => new MemoryBank(3, 1, 5).restore(bank.state())).toThrow(/multi-hot rows have 4 classes, the data has 5/);
  });
});
