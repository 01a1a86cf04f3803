import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRegistry, createRng, type EvalInput, type EvaluatorPart, type ImageDataset } from '@supcon/core';
import { computeMce, corruptionSchema, evalPlugin, linearProbeSchema } from '../src';
import { useCpu } from './helpers';

beforeAll(useCpu);

const S = 8;
/** Class 0: dark images (mean ~50), class 1: bright images (mean ~190), with a little texture. */
function dataset(n: number, seed: number): ImageDataset {
  const rng = createRng(seed);
  const images = new Uint8Array(n * S * S);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    const base = i % 2 === 0 ? 50 : 190;
    for (let p = 0; p < S * S; p++) images[i * S * S + p] = Math.round(base + 15 * (rng.next() - 0.5));
  }
  return { size: n, shape: [S, S, 1], images, labels, classes: ['dark', 'bright'] };
}

/** A fixed "encoder": features [mean, 1 - mean] of the preprocessed image. */
const encoder = {
  predict: (x: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      const m = tf.reshape(tf.mean(x, [1, 2, 3]), [-1, 1]);
      return tf.concat([m, tf.sub(1, m)], 1) as tf.Tensor2D;
    }),
};

function evalInput(): EvalInput {
  const train = dataset(40, 1);
  const test = dataset(20, 2);
  const features = (d: ImageDataset): tf.Tensor2D =>
    tf.tidy(() => encoder.predict(tf.div(tf.tensor4d(d.images, [d.size, S, S, 1], 'float32'), 255)));
  return {
    encoder: encoder as unknown as EvalInput['encoder'],
    train,
    test,
    trainFeatures: features(train),
    testFeatures: features(test),
    preprocess: (images) => tf.div(tf.cast(images, 'float32'), 255),
    rng: createRng(0),
    logger: { info: () => undefined, warn: () => undefined },
  };
}

const build = (config: Record<string, unknown>): Promise<EvaluatorPart> =>
  createRegistry([evalPlugin]).build('evaluator', config as { type: string }, { rng: createRng(0) });

describe('evalPlugin', () => {
  it('registers the five evaluators and rejects bad options by path', async () => {
    const registry = createRegistry([evalPlugin]);
    expect([...registry.list('evaluator')].sort()).toEqual(['clustering', 'corruption', 'knn', 'linear-probe', 'retrieval']);
    await expect(build({ type: 'knn', k: -1 })).rejects.toThrow(/k/);
    await expect(build({ type: 'corruption', corruptions: ['rain'] })).rejects.toThrow(/corruptions/);
    // options of the other solver are errors, named by path
    await expect(build({ type: 'linear-probe', solver: 'lbfgs', epochs: 5 })).rejects.toThrow(/epochs: applies to solver 'sgd' only \(solver is 'lbfgs'\)/);
    await expect(build({ type: 'linear-probe', solver: 'sgd', C: 2 })).rejects.toThrow(/C: applies to solver 'lbfgs' only/);
    await expect(build({ type: 'linear-probe', C: 2, epochs: 5 })).rejects.toThrow(/solver: options C are for solver 'lbfgs' and epochs for 'sgd'/);
    await expect(build({ type: 'corruption', probe: { C: -1 } })).rejects.toThrow(/probe\.C/);
  });

  it('linear-probe and corruption probe default to lbfgs (schema defaults)', () => {
    // no sgd defaults are filled in any more: left out, every option takes trainLinearProbe's (lbfgs) default
    expect(linearProbeSchema.parse({})).toEqual({});
    expect(corruptionSchema.parse({}).probe).toEqual({});
    expect(linearProbeSchema.parse({ solver: 'sgd', epochs: 3 })).toEqual({ solver: 'sgd', epochs: 3 });
  });

  it('linear-probe, knn, retrieval and clustering on separable features', async () => {
    const input = evalInput();
    const before = tf.memory().numTensors;
    const probe = await (await build({ type: 'linear-probe' })).evaluate(input);
    expect(probe).toMatchObject({ top1: 1, solver: 'lbfgs', converged: 1 });
    expect(typeof probe.iterations).toBe('number');
    // a config written for the earlier SGD-only probe (no solver) still means SGD, with a warning
    const warnings: string[] = [];
    const sgdInput = { ...input, logger: { info: () => undefined, warn: (m: string) => void warnings.push(m) } };
    const sgd = await (await build({ type: 'linear-probe', epochs: 50, batchSize: 8, learningRate: 1, normalize: 'none' })).evaluate(sgdInput);
    expect(warnings).toEqual([expect.stringMatching(/sgd options without 'solver' select the SGD probe as before/)]);
    expect(sgd).toMatchObject({ top1: 1, solver: 'sgd', converged: 0, stopReason: 'epochs', iterations: 50 * 5 });
    expect(probe.confusionMatrix).toEqual([
      [10, 0],
      [0, 10],
    ]);
    expect(probe.perClassAccuracy).toEqual([1, 1]);
    expect((await (await build({ type: 'knn', k: 5 })).evaluate(input)).top1).toBe(1);
    const retrieval = await (await build({ type: 'retrieval', recallK: [1] })).evaluate(input);
    expect(retrieval.precisionAt1).toBe(1);
    expect(retrieval.mapAtR).toBeCloseTo(1, 6);
    const clustering = await (await build({ type: 'clustering' })).evaluate(input);
    expect(clustering.nmi).toBeCloseTo(1, 10);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([input.trainFeatures, input.testFeatures]);
  });

  it('corruption: errors per severity, mean error, and mCE against a baseline (record or summary.json)', async () => {
    const input = evalInput();
    const base = { type: 'corruption', corruptions: ['brightness', 'contrast'], severities: [1, 5] }; // default (lbfgs) probe
    const before = tf.memory().numTensors;
    const r = await (await build(base)).evaluate(input);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.cleanError).toBe(0);
    expect(r.mCE).toBeUndefined();
    const corr = r.corruptions as Record<string, { error: number; perSeverity: number[] }>;
    // +0.5 brightness pushes every dark image past the bright threshold: half the test set wrong
    expect(corr.brightness?.perSeverity[1]).toBe(0.5);
    // contrast towards each image's own mean leaves the mean feature unchanged
    expect(corr.contrast?.perSeverity).toEqual([0, 0]);
    const errs = [corr.brightness?.error, corr.contrast?.error] as number[];
    expect(r.meanError).toBeCloseTo((errs[0] as number) / 2 + (errs[1] as number) / 2);
    expect(corr.brightness?.error).toBeCloseTo(((corr.brightness?.perSeverity[0] as number) + 0.5) / 2);

    const baseline = { brightness: [0.25, 1], contrast: [0.1, 0.3] };
    const withRecord = await (await build({ ...base, baseline })).evaluate(input);
    const expected = computeMce({ brightness: corr.brightness?.perSeverity as number[], contrast: [0, 0] }, baseline);
    expect(withRecord.mCE).toBeCloseTo(expected.mCE);
    const dir = mkdtempSync(path.join(tmpdir(), 'supcon-eval-'));
    const file = path.join(dir, 'summary.json');
    writeFileSync(file, JSON.stringify({ eval: { corruption: { corruptions: { brightness: { perSeverity: [0.25, 1] }, contrast: { perSeverity: [0.1, 0.3] } } } } }));
    const withFile = await (await build({ ...base, baseline: file })).evaluate(input);
    expect(withFile.mCE).toBeCloseTo(expected.mCE);
    await expect((await build({ ...base, baseline: path.join(dir, 'missing.json') })).evaluate(input)).rejects.toThrow(/corruption.baseline: cannot read/);
    tf.dispose([input.trainFeatures, input.testFeatures]);
  });
});
