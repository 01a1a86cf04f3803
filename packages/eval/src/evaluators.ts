import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { EvalInput, EvalResult, EvaluatorPart } from '@supcon/core';
import { z } from 'zod';
import { clusteringNmi } from './clustering';
import { CORRUPTIONS, corruptImages, type CorruptionName } from './corruptions';
import { evaluateKnn } from './knn';
import { computeMce, extractCorruptionErrors, type CorruptionErrors } from './mce';
import { evaluateLinearProbe, probeScores, trainLinearProbe, type LinearProbeOptions } from './probe';
import { retrievalMetrics } from './retrieval';
import { topKAccuracy } from './metrics';

/** Options of the `linear-probe` evaluator (and of the probe inside `corruption`). */
export const linearProbeSchema = z.object({
  epochs: z.number().int().positive().default(30),
  batchSize: z.number().int().positive().default(256),
  learningRate: z.number().positive().optional(),
  weightDecay: z.number().nonnegative().default(0),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  momentum: z.number().min(0).max(1).default(0.9),
  schedule: z.enum(['cosine', 'step', 'constant']).default('cosine'),
  milestones: z.array(z.number().min(0).max(1)).default([0.6, 0.8]),
  gamma: z.number().positive().default(0.1),
  normalize: z.enum(['none', 'l2', 'standardize']).default('l2'),
});
export type LinearProbeConfig = z.infer<typeof linearProbeSchema>;

export const knnSchema = z.object({
  k: z.number().int().positive().default(200),
  temperature: z.number().positive().default(0.1),
});

export const retrievalSchema = z.object({
  recallK: z.array(z.number().int().positive()).default([1, 2, 4, 8]),
  /** 'test': leave-one-out within the test set; 'train': test queries against the train set. */
  database: z.enum(['test', 'train']).default('test'),
});

export const clusteringSchema = z.object({
  restarts: z.number().int().positive().default(3),
  maxIterations: z.number().int().positive().default(100),
  normalize: z.boolean().default(true),
});

export const corruptionSchema = z.object({
  corruptions: z.array(z.enum(CORRUPTIONS)).default([...CORRUPTIONS]),
  severities: z.array(z.number().int().min(1).max(5)).default([1, 2, 3, 4, 5]),
  /** Test images used (the first N); default all. */
  maxImages: z.number().int().positive().optional(),
  batchSize: z.number().int().positive().default(256),
  probe: linearProbeSchema.default(linearProbeSchema.parse({})),
  /** Baseline for mCE: a path to another run's summary.json, or its errors `{ name: number[] }`. */
  baseline: z.union([z.string(), z.record(z.string(), z.array(z.number()))]).optional(),
});

const classCount = (...labels: ArrayLike<number>[]): number => {
  let m = 0;
  for (const l of labels) for (let i = 0; i < l.length; i++) m = Math.max(m, l[i] as number);
  return m + 1;
};

function probeOptions(cfg: LinearProbeConfig, numClasses: number): LinearProbeOptions {
  return { ...cfg, numClasses, learningRate: cfg.learningRate };
}

/** `linear-probe`: top1/top5 (fractions), perClassAccuracy, confusionMatrix, predictions. */
export function createLinearProbeEvaluator(cfg: LinearProbeConfig): EvaluatorPart {
  return {
    key: 'linearProbe',
    evaluate(input: EvalInput): Promise<EvalResult> {
      const c = Math.max(input.train.classes.length, classCount(input.train.labels, input.test.labels));
      const r = evaluateLinearProbe(input.trainFeatures, input.train.labels, input.testFeatures, input.test.labels, input.rng.fork('linear-probe'), probeOptions(cfg, c));
      return Promise.resolve({ ...r });
    },
  };
}

/** `knn`: weighted kNN top1/top5 and the effective k. */
export function createKnnEvaluator(cfg: z.infer<typeof knnSchema>): EvaluatorPart {
  return {
    key: 'knn',
    evaluate(input: EvalInput): Promise<EvalResult> {
      const c = Math.max(input.train.classes.length, classCount(input.train.labels, input.test.labels));
      return Promise.resolve(evaluateKnn(input.trainFeatures, input.train.labels, input.testFeatures, input.test.labels, { ...cfg, numClasses: c }));
    },
  };
}

/** `retrieval`: precisionAt1, recallAtK, mapAtR, rPrecision. */
export function createRetrievalEvaluator(cfg: z.infer<typeof retrievalSchema>): EvaluatorPart {
  return {
    key: 'retrieval',
    evaluate(input: EvalInput): Promise<EvalResult> {
      const ref = cfg.database === 'train' ? { features: input.trainFeatures, labels: input.train.labels } : undefined;
      return Promise.resolve({ ...retrievalMetrics(input.testFeatures, input.test.labels, { recallK: cfg.recallK }, ref) });
    },
  };
}

/** `clustering`: NMI of k-means clusters (k = number of classes) of the test features. */
export function createClusteringEvaluator(cfg: z.infer<typeof clusteringSchema>): EvaluatorPart {
  return {
    key: 'clustering',
    evaluate(input: EvalInput): Promise<EvalResult> {
      return Promise.resolve(clusteringNmi(input.testFeatures, input.test.labels, input.rng.fork('clustering'), cfg));
    },
  };
}

async function loadBaseline(baseline: string | CorruptionErrors): Promise<CorruptionErrors> {
  if (typeof baseline !== 'string') return baseline;
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(baseline, 'utf8');
  } catch (error) {
    throw new Error(`corruption.baseline: cannot read '${baseline}': ${(error as Error).message}`);
  }
  return extractCorruptionErrors(JSON.parse(text) as unknown);
}

/**
 * `corruption`: trains a linear probe on clean train features, then classifies corrupted test
 * images through `preprocess` + encoder + probe. Reports `cleanError`, per corruption `error`
 * (mean over severities) and `perSeverity`, `meanError` (mean over corruptions) and, with a
 * baseline, `mCE` and `ce` (percentages). Without a baseline mCE is omitted: compute it across
 * runs with `computeMce`.
 */
export function createCorruptionEvaluator(cfg: z.infer<typeof corruptionSchema>): EvaluatorPart {
  return {
    key: 'corruption',
    async evaluate(input: EvalInput): Promise<EvalResult> {
      const { test } = input;
      const c = Math.max(input.train.classes.length, classCount(input.train.labels, input.test.labels));
      const n = Math.min(test.size, cfg.maxImages ?? test.size);
      const [h, w, ch] = test.shape;
      const size = h * w * ch;
      const images = test.images.subarray(0, n * size);
      const labels = Array.from(test.labels.subarray(0, n));
      const baseline = cfg.baseline === undefined ? undefined : await loadBaseline(cfg.baseline);
      const probe = trainLinearProbe(input.trainFeatures, input.train.labels, input.rng.fork('corruption-probe'), probeOptions(cfg.probe, c));
      const errorOf = (data: Uint8Array): number => {
        const scores = new Float32Array(n * c);
        for (let s = 0; s < n; s += cfg.batchSize) {
          const m = Math.min(cfg.batchSize, n - s);
          const logits = tf.tidy(() => {
            const x = tf.tensor4d(data.subarray(s * size, (s + m) * size), [m, h, w, ch], 'int32');
            const out = input.encoder.predict(input.preprocess(x as Tensor4D)) as Tensor | Tensor[];
            const feats = (Array.isArray(out) ? out[0] : out) as Tensor2D;
            return probe.logits(tf.reshape(feats, [m, -1]));
          });
          scores.set(logits.dataSync(), s * c);
          logits.dispose();
        }
        return 1 - topKAccuracy(scores, labels, c, 1);
      };
      try {
        const cleanFeatures = tf.slice(input.testFeatures, [0, 0], [n, -1]);
        const cleanScores = probeScores(probe, cleanFeatures);
        cleanFeatures.dispose();
        const cleanError = 1 - topKAccuracy(cleanScores, labels, c, 1);
        const corruptions: Record<string, { error: number; perSeverity: number[] }> = {};
        const errors: CorruptionErrors = {};
        for (const name of cfg.corruptions as CorruptionName[]) {
          const perSeverity = cfg.severities.map((sev) => errorOf(corruptImages(name, images, test.shape, sev, input.rng.fork(`corruption/${name}/${sev}`))));
          errors[name] = perSeverity;
          corruptions[name] = { error: perSeverity.reduce((a, b) => a + b, 0) / perSeverity.length, perSeverity };
          input.logger.info(`corruption ${name}: error ${corruptions[name].error.toFixed(4)}`);
        }
        const names = Object.keys(corruptions);
        const meanError = names.reduce((a, k) => a + (corruptions[k]?.error ?? 0), 0) / Math.max(names.length, 1);
        const result: EvalResult = { cleanError, meanError, severities: cfg.severities, corruptions };
        if (baseline) {
          const { mCE, ce } = computeMce(errors, baseline);
          result.mCE = mCE;
          result.ce = ce;
        }
        return result;
      } finally {
        probe.dispose();
      }
    },
  };
}
