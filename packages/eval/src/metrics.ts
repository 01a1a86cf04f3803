/**
 * Classification metrics on plain arrays of scores (`[n * numClasses]`, row-major) and labels.
 */

/**
 * Fraction of rows whose true label is among the `k` highest scores, in [0, 1]. Ties are broken
 * by the lower class index. `k` is capped by `numClasses`.
 * @throws if `scores.length !== labels.length * numClasses`.
 */
export function topKAccuracy(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
  k: number,
): number {
  const n = labels.length;
  if (scores.length !== n * numClasses) {
    throw new Error(`topKAccuracy: scores has ${scores.length} entries, expected labels (${n}) x numClasses (${numClasses})`);
  }
  if (n === 0) return 0;
  const kk = Math.min(Math.max(1, Math.floor(k)), numClasses);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    const sy = scores[i * numClasses + y] as number;
    let rank = 0;
    for (let c = 0; c < numClasses; c++) {
      const s = scores[i * numClasses + c] as number;
      if (s > sy || (s === sy && c < y)) rank++;
    }
    if (rank < kk) hits++;
  }
  return hits / n;
}

/** Index of the highest score of each row (lowest index on ties). */
export function argmaxRows(scores: ArrayLike<number>, numClasses: number): number[] {
  const n = Math.floor(scores.length / numClasses);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = scores[i * numClasses] as number;
    for (let c = 1; c < numClasses; c++) {
      const v = scores[i * numClasses + c] as number;
      if (v > bv) {
        bv = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

/** `[numClasses][numClasses]` counts: row = true class, column = predicted class. */
export function confusionMatrix(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
): number[][] {
  if (predictions.length !== labels.length) {
    throw new Error(`confusionMatrix: predictions has ${predictions.length} entries, labels has ${labels.length}`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const row = m[labels[i] as number];
    if (row) row[predictions[i] as number] = (row[predictions[i] as number] ?? 0) + 1;
  }
  return m;
}

/** Accuracy of each true class (diagonal over row sum); classes without samples get 0. */
export function perClassAccuracy(confusion: number[][]): number[] {
  return confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? 0 : (row[c] ?? 0) / total;
  });
}
