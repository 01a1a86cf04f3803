import type { Tensor2D } from '@tensorflow/tfjs-core';
import type { Rng } from '@supcon/core';
import { checkFeatures, toLabelArray } from './features';

/** Options of `kMeans`. */
export interface KMeansOptions {
  /** Maximum Lloyd iterations per run. Default 100. */
  maxIterations?: number;
  /** Independent k-means++ restarts; the lowest inertia wins. Default 3. */
  restarts?: number;
  /** Stop when the relative inertia change falls below this. Default 1e-6. */
  tolerance?: number;
}

/** Result of `kMeans`. */
export interface KMeansResult {
  assignments: Int32Array;
  /** `[k * dim]` row-major centroids. */
  centroids: Float64Array;
  /** Sum of squared distances to the assigned centroids. */
  inertia: number;
}

/**
 * Lloyd's k-means with seeded k-means++ initialisation, on `n` row-major points of `dim`.
 * @throws if k < 1 or k > n.
 */
export function kMeans(data: ArrayLike<number>, n: number, dim: number, k: number, rng: Rng, options: KMeansOptions = {}): KMeansResult {
  if (data.length !== n * dim) throw new Error(`kMeans: data has ${data.length} entries, expected n (${n}) x dim (${dim})`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`kMeans: k is ${k}, expected an integer in [1, ${n}]`);
  const maxIt = options.maxIterations ?? 100;
  const restarts = options.restarts ?? 3;
  const tol = options.tolerance ?? 1e-6;
  let best: KMeansResult | undefined;
  const dist = (i: number, c: Float64Array, j: number): number => {
    let s = 0;
    for (let t = 0; t < dim; t++) {
      const diff = (data[i * dim + t] as number) - (c[j * dim + t] as number);
      s += diff * diff;
    }
    return s;
  };
  for (let run = 0; run < restarts; run++) {
    const centroids = new Float64Array(k * dim);
    const first = rng.int(n);
    for (let t = 0; t < dim; t++) centroids[t] = data[first * dim + t] as number;
    const d2 = new Float64Array(n);
    for (let i = 0; i < n; i++) d2[i] = dist(i, centroids, 0);
    for (let j = 1; j < k; j++) {
      let total = 0;
      for (let i = 0; i < n; i++) total += d2[i] as number;
      let pick = n - 1;
      if (total > 0) {
        let u = rng.next() * total;
        for (let i = 0; i < n; i++) {
          u -= d2[i] as number;
          if (u < 0) {
            pick = i;
            break;
          }
        }
      } else {
        pick = rng.int(n);
      }
      for (let t = 0; t < dim; t++) centroids[j * dim + t] = data[pick * dim + t] as number;
      for (let i = 0; i < n; i++) d2[i] = Math.min(d2[i] as number, dist(i, centroids, j));
    }
    const assign = new Int32Array(n);
    let inertia = Infinity;
    for (let it = 0; it < maxIt; it++) {
      let next = 0;
      for (let i = 0; i < n; i++) {
        let bj = 0;
        let bd = Infinity;
        for (let j = 0; j < k; j++) {
          const dd = dist(i, centroids, j);
          if (dd < bd) {
            bd = dd;
            bj = j;
          }
        }
        assign[i] = bj;
        next += bd;
      }
      const sums = new Float64Array(k * dim);
      const cnt = new Float64Array(k);
      for (let i = 0; i < n; i++) {
        const j = assign[i] as number;
        cnt[j] = (cnt[j] as number) + 1;
        for (let t = 0; t < dim; t++) sums[j * dim + t] = (sums[j * dim + t] as number) + (data[i * dim + t] as number);
      }
      for (let j = 0; j < k; j++) {
        if ((cnt[j] as number) === 0) continue; // empty cluster keeps its centroid
        for (let t = 0; t < dim; t++) centroids[j * dim + t] = (sums[j * dim + t] as number) / (cnt[j] as number);
      }
      const done = Math.abs(inertia - next) <= tol * Math.max(next, 1e-12);
      inertia = next;
      if (done) break;
    }
    // final inertia against the final centroids
    let final = 0;
    for (let i = 0; i < n; i++) final += dist(i, centroids, assign[i] as number);
    if (!best || final < best.inertia) best = { assignments: assign, centroids, inertia: final };
  }
  return best as KMeansResult;
}

function entropy(counts: Iterable<number>, n: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
  return h;
}

/**
 * Normalised mutual information of two labelings with arithmetic normalisation (sklearn's
 * default): NMI = MI / ((H(a) + H(b)) / 2). Returns 1 when both labelings are constant.
 * @throws if the lengths differ.
 */
export function normalizedMutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`normalizedMutualInformation: a has ${a.length} entries, b has ${b.length}`);
  const n = a.length;
  if (n === 0) return 0;
  const ca = new Map<number, number>();
  const cb = new Map<number, number>();
  const joint = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ca.set(x, (ca.get(x) ?? 0) + 1);
    cb.set(y, (cb.get(y) ?? 0) + 1);
    const key = `${x},${y}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  const ha = entropy(ca.values(), n);
  const hb = entropy(cb.values(), n);
  if (ha === 0 && hb === 0) return 1;
  let mi = 0;
  for (const [key, c] of joint) {
    const [x, y] = key.split(',').map(Number) as [number, number];
    mi += (c / n) * Math.log((c * n) / ((ca.get(x) as number) * (cb.get(y) as number)));
  }
  const denom = (ha + hb) / 2;
  return denom <= 0 ? 0 : Math.min(1, Math.max(0, mi / denom));
}

/**
 * Clusters features with k-means (k = number of distinct labels, seeded k-means++) and returns
 * the NMI between clusters and labels, plus the inertia.
 * @param features `[n, dim]`; `labels` n integers.
 */
export function clusteringNmi(
  features: Tensor2D,
  labels: ArrayLike<number>,
  rng: Rng,
  options: KMeansOptions & { numClusters?: number; normalize?: boolean } = {},
): { nmi: number; inertia: number; numClusters: number } {
  checkFeatures(features, 'clustering: features', labels.length);
  const y = toLabelArray(labels, 'clustering: labels');
  const k = options.numClusters ?? new Set(y).size;
  const [n, d] = features.shape;
  const data = Float64Array.from(features.dataSync());
  if (options.normalize ?? true) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (data[i * d + t] as number) ** 2;
      const norm = Math.max(Math.sqrt(s), 1e-12);
      for (let t = 0; t < d; t++) data[i * d + t] = (data[i * d + t] as number) / norm;
    }
  }
  const km = kMeans(data, n, d, k, rng, options);
  return { nmi: normalizedMutualInformation(km.assignments, y), inertia: km.inertia, numClusters: k };
}
