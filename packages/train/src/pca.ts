/**
 * Projects rows of `features` (`[n, d]`, row-major) on their first two principal components,
 * for the report's embedding map. Power iteration with deflation on the d x d covariance:
 * O(n d^2 + iterations d^2), cheap for d <= 2048 and n of a few thousand.
 */
export function pca2d(features: Float32Array, n: number, d: number, iterations = 100): [number, number][] {
  if (features.length !== n * d) throw new Error(`pca2d: features has ${features.length} values, expected n*d = ${n * d}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j] / n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = features[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a];
  const components: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = new Float64Array(d).map((_, j) => Math.sin(j + 1 + c)); // deterministic start
    for (let it = 0; it < iterations; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += cov[a * d + b] * v[b];
        w[a] = s;
      }
      for (const u of components) {
        let dot = 0;
        for (let a = 0; a < d; a++) dot += w[a] * u[a];
        for (let a = 0; a < d; a++) w[a] -= dot * u[a];
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      v = w.map((x) => x / norm);
    }
    components.push(v);
  }
  const points: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    let x = 0;
    let y = 0;
    for (let j = 0; j < d; j++) {
      const centred = features[i * d + j] - mean[j];
      x += centred * components[0][j];
      y += centred * components[1][j];
    }
    points.push([x, y]);
  }
  return points;
}
