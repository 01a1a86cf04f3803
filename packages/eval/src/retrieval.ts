import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { checkFeatures, l2Normalize, toLabelArray } from './features';

/** Options of `retrievalMetrics`. */
export interface RetrievalOptions {
  /** Values of k for recall@k. Default [1, 2, 4, 8]. */
  recallK?: number[];
  /** Query rows per similarity block. Default 256. */
  chunkSize?: number;
}

/** Retrieval metrics, all in [0, 1]. */
export interface RetrievalResult {
  precisionAt1: number;
  /** recall@k for each requested k, keyed 'k': fraction of queries with a same-class item in their top k. */
  recallAtK: Record<string, number>;
  /** MAP@R of Musgrave et al. (2020). */
  mapAtR: number;
  /** R-precision: fraction of same-class items in the top R. */
  rPrecision: number;
}

/**
 * Retrieval by cosine similarity. Without `reference*`, each query is searched among the other
 * queries (leave-one-out, the query itself excluded); otherwise among the reference set.
 * For a query with R same-class references (R > 0; queries with R = 0 are skipped):
 * precision@1 = [top-1 is same class]; recall@k = [any same-class item in the top k];
 * R-precision = (same-class in top R) / R; MAP@R = (1/R) Σ_{i≤R} P(i)·rel(i), P(i) = precision at i.
 * @param queries `[n, dim]`; `queryLabels` n integers.
 */
export function retrievalMetrics(
  queries: Tensor2D,
  queryLabels: ArrayLike<number>,
  options: RetrievalOptions = {},
  reference?: { features: Tensor2D; labels: ArrayLike<number> },
): RetrievalResult {
  checkFeatures(queries, 'retrieval: queries', queryLabels.length);
  const yq = toLabelArray(queryLabels, 'retrieval: queryLabels');
  const self = reference === undefined;
  const refFeatures = reference?.features ?? queries;
  const yr = self ? yq : toLabelArray(reference.labels, 'retrieval: reference labels');
  checkFeatures(refFeatures, 'retrieval: reference features', yr.length);
  if (refFeatures.shape[1] !== queries.shape[1]) {
    throw new Error(`retrieval: reference features have dim ${refFeatures.shape[1]}, queries have dim ${queries.shape[1]}`);
  }
  const recallK = options.recallK ?? [1, 2, 4, 8];
  for (const k of recallK) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`retrieval: recallK contains ${k}, expected integers >= 1`);
  }
  const counts = new Map<number, number>();
  for (const c of yr) counts.set(c, (counts.get(c) ?? 0) + 1);
  const nq = yq.length;
  const nr = yr.length;
  const available = self ? nr - 1 : nr;
  let maxR = 0;
  for (const c of yq) maxR = Math.max(maxR, (counts.get(c) ?? 0) - (self ? 1 : 0));
  const depth = Math.min(available, Math.max(maxR, ...recallK, 1));
  const chunk = options.chunkSize ?? 256;
  let valid = 0;
  let p1 = 0;
  let map = 0;
  let rp = 0;
  const recall = recallK.map(() => 0);
  if (depth < 1) {
    return { precisionAt1: 0, recallAtK: Object.fromEntries(recallK.map((k) => [String(k), 0])), mapAtR: 0, rPrecision: 0 };
  }
  // Transposed once: wasm's matMul with transposeB is many times slower at these sizes (see knn.ts).
  const ref = tf.tidy(() => tf.transpose(l2Normalize(refFeatures)) as Tensor2D);
  try {
    for (let start = 0; start < nq; start += chunk) {
      const size = Math.min(chunk, nq - start);
      const idx = tf.tidy(() => {
        const q = l2Normalize(tf.slice(queries, [start, 0], [size, -1]) as Tensor2D);
        let sims = tf.matMul(q, ref);
        if (self) {
          const eye = tf.cast(tf.oneHot(tf.range(start, start + size, 1, 'int32'), nr), 'float32');
          sims = tf.sub(sims, tf.mul(eye, 1e9));
        }
        return tf.topk(sims, depth, true).indices;
      });
      const ix = idx.dataSync();
      idx.dispose();
      for (let r = 0; r < size; r++) {
        const label = yq[start + r] as number;
        const R = (counts.get(label) ?? 0) - (self ? 1 : 0);
        if (R <= 0) continue;
        valid++;
        let hits = 0;
        let ap = 0;
        let firstHit = -1;
        for (let i = 0; i < depth; i++) {
          const rel = yr[ix[r * depth + i] as number] === label;
          if (rel && firstHit < 0) firstHit = i;
          if (i < R && rel) {
            hits++;
            ap += hits / (i + 1);
          }
        }
        if (firstHit === 0) p1++;
        map += ap / R;
        rp += hits / R;
        recallK.forEach((k, j) => {
          if (firstHit >= 0 && firstHit < k) recall[j] = (recall[j] as number) + 1;
        });
      }
    }
  } finally {
    ref.dispose();
  }
  const div = Math.max(valid, 1);
  return {
    precisionAt1: p1 / div,
    recallAtK: Object.fromEntries(recallK.map((k, j) => [String(k), (recall[j] as number) / div])),
    mapAtR: map / div,
    rPrecision: rp / div,
  };
}
