import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { EvalInput, EvalResult, EvaluatorPart } from '@supcon/core';
import { z } from 'zod';
import { clusteringNmi } from './clustering';
import { CORRUPTIONS, corruptImages, type CorruptionName } from './corruptions';
import { evaluateKnn } from './knn';
import { computeMce, extractCorruptionErrors, type CorruptionErrors } from './mce';
import { evaluateLinearProbe, LINEAR_PROBE_SOLVER_OPTIONS, probeScores, resolveLinearProbeSolver, trainLinearProbe, type LinearProbeOptions } from './probe';
import { retrievalMetrics } from './retrieval';
import { topKAccuracy } from './metrics';

/**
 * Options of the `linear-probe` evaluator (and of the probe inside `corruption`); see
 * `LinearProbeOptions`. Default: `solver: 'lbfgs'` — scikit-learn's `LogisticRegression`
 * (C 1, tol 1e-4) on standardised features, run to convergence (at most 2000 iterations).
 * `solver: 'sgd'` is the SupContrast minibatch protocol (epochs 30, batchSize 256, lr 0.1,
 * momentum 0.9, cosine, l2-normalised features). Without `solver`, a config that sets sgd
 * options only (`{ epochs: 30 }`, or a config.json resolved by an earlier version) keeps its
 * SGD meaning, with a warning. Options of the solver not chosen are rejected; those left out
 * take `trainLinearProbe`'s defaults.
 */
export const linearProbeSchema = z
  .object({
    /** 'lbfgs' (default) or 'sgd'. */
    solver: z.enum(['lbfgs', 'sgd']).optional(),
    /** Default 'standardize' (lbfgs) / 'l2' (sgd). */
    normalize: z.enum(['none', 'l2', 'standardize']).optional(),
    // lbfgs
    C: z.number().positive().optional(),
    tol: z.number().nonnegative().optional(),
    ftol: z.number().nonnegative().optional(),
    maxIterations: z.number().int().positive().optional(),
    memory: z.number().int().positive().optional(),
    // sgd
    epochs: z.number().int().positive().optional(),
    batchSize: z.number().int().positive().optional(),
    learningRate: z.number().positive().optional(),
    weightDecay: z.number().nonnegative().optional(),
    optimizer: z.enum(['sgd', 'adam']).optional(),
    momentum: z.number().min(0).max(1).optional(),
    schedule: z.enum(['cosine', 'step', 'constant']).optional(),
    milestones: z.array(z.number().min(0).max(1)).optional(),
    gamma: z.number().positive().optional(),
  })
  .superRefine((cfg, ctx) => {
    const given = (solver: 'lbfgs' | 'sgd'): string[] =>
      LINEAR_PROBE_SOLVER_OPTIONS[solver].filter((key) => (cfg as Record<string, unknown>)[key] !== undefined);
    if (cfg.solver === undefined) {
      const [lbfgs, sgd] = [given('lbfgs'), given('sgd')];
      if (lbfgs.length > 0 && sgd.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['solver'],
          message: `options ${lbfgs.join(', ')} are for solver 'lbfgs' and ${sgd.join(', ')} for 'sgd': set solver and drop the other's`,
        });
      }
      return;
    }
    const other = cfg.solver === 'lbfgs' ? 'sgd' : 'lbfgs';
    for (const key of given(other)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `applies to solver '${other}' only (solver is '${cfg.solver}'): drop it or set solver: '${other}'` });
    }
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
  /** Baseline for mCE: another run's summary.json (a file path in Node, a URL in browsers), or its errors `{ name: number[] }`. */
  baseline: z.union([z.string(), z.record(z.string(), z.array(z.number()))]).optional(),
});

const classCount = (...labels: ArrayLike<number>[]): number => {
  let m = 0;
  for (const l of labels) for (let i = 0; i < l.length; i++) m = Math.max(m, l[i] as number);
  return m + 1;
};

/** Warns when sgd options without `solver` select the SGD probe (the default is now L-BFGS). */
function warnInferredSgd(logger: EvalInput['logger'], who: string, cfg: LinearProbeConfig): void {
  if (cfg.solver === undefined && resolveLinearProbeSolver(cfg) === 'sgd') {
    logger.warn(`${who}: sgd options without 'solver' select the SGD probe as before; the default is now solver 'lbfgs' (sklearn's LogisticRegression): set solver: 'sgd' to keep SGD, or drop the sgd options`);
  }
}

/** Warns when an L-BFGS probe stopped before its tolerance (the figures may be those of an underfit probe). */
function warnUnconverged(logger: EvalInput['logger'], who: string, r: { solver: string; converged: boolean; iterations: number; stopReason: string }): void {
  if (r.solver === 'lbfgs' && !r.converged) {
    logger.warn(`${who}: L-BFGS stopped after ${r.iterations} iterations without converging (${r.stopReason}); raise maxIterations or tol`);
  }
}

function probeOptions(cfg: LinearProbeConfig, numClasses: number): LinearProbeOptions {
  const options: LinearProbeOptions = { numClasses };
  for (const [key, value] of Object.entries(cfg)) if (value !== undefined) (options as Record<string, unknown>)[key] = value;
  return options;
}

/**
 * `linear-probe`: top1/top5 (fractions), trainTop1, perClassAccuracy, confusionMatrix,
 * predictions, finalLoss, solver, iterations, converged (1 or 0: results hold no booleans),
 * stopReason and, for lbfgs, objective.
 */
export function createLinearProbeEvaluator(cfg: LinearProbeConfig): EvaluatorPart {
  return {
    key: 'linearProbe',
    evaluate(input: EvalInput): Promise<EvalResult> {
      const c = Math.max(input.train.classes.length, classCount(input.train.labels, input.test.labels));
      const r = evaluateLinearProbe(input.trainFeatures, input.train.labels, input.testFeatures, input.test.labels, input.rng.fork('linear-probe'), probeOptions(cfg, c));
      warnInferredSgd(input.logger, 'linear-probe', cfg);
      warnUnconverged(input.logger, 'linear-probe', r);
      return Promise.resolve({ ...r, converged: r.converged ? 1 : 0 });
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

/**
 * Reads a baseline given by location (`corruption.baseline` as a string) as text: a file in Node,
 * a URL in browsers. The package's entries pass theirs (see `createEvalPlugin`).
 */
export type ReadText = (location: string) => Promise<string>;

/** Options of the `corruption` evaluator besides its config. */
export interface CorruptionEvaluatorOptions {
  /**
   * How a string `baseline` is read. Default: a file path with node:fs in Node, a URL (relative
   * to the page) fetched in browsers.
   */
  readText?: ReadText;
}

async function loadBaseline(baseline: string | CorruptionErrors, readText: ReadText | undefined): Promise<CorruptionErrors> {
  if (typeof baseline !== 'string') return baseline;
  let text: string;
  try {
    if (!readText) throw new Error('no way to read it here: pass the baseline errors { name: number[] } instead');
    text = await readText(baseline);
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
export function corruptionEvaluator(cfg: z.infer<typeof corruptionSchema>, options: CorruptionEvaluatorOptions = {}): EvaluatorPart {
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
      const baseline = cfg.baseline === undefined ? undefined : await loadBaseline(cfg.baseline, options.readText);
      const probe = trainLinearProbe(input.trainFeatures, input.train.labels, input.rng.fork('corruption-probe'), probeOptions(cfg.probe, c));
      warnInferredSgd(input.logger, 'corruption probe', cfg.probe);
      warnUnconverged(input.logger, 'corruption probe', probe);
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
