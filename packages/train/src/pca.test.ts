import { pca2d } from './pca';

describe('pca2d', () => {
  it('recovers the two directions of largest variance', () => {
    // Points spread 10x along (1,1,0)/sqrt2, 3x along z, 0.1x along (1,-1,0)/sqrt2.
    const n = 400;
    const data = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const a = 10 * Math.sin(i * 1.3);
      const b = 3 * Math.cos(i * 0.7);
      const c = 0.1 * Math.sin(i * 2.9);
      data.set([a / Math.SQRT2 + c / Math.SQRT2 + 5, a / Math.SQRT2 - c / Math.SQRT2 - 2, b + 1], i * 3);
    }
    const points = pca2d(data, n, 3);
    // First coordinate is +-a (up to centring), second +-b.
    let corrA = 0;
    let corrB = 0;
    const meanA = points.reduce((s, p) => s + p[0], 0) / n;
    expect(Math.abs(meanA)).toBeLessThan(1e-6);
    for (let i = 0; i < n; i++) {
      corrA += points[i][0] * 10 * Math.sin(i * 1.3);
      corrB += points[i][1] * 3 * Math.cos(i * 0.7);
    }
    const varA = points.reduce((s, p) => s + p[0] * p[0], 0);
    const varB = points.reduce((s, p) => s + p[1] * p[1], 0);
    expect(varA).toBeGreaterThan(varB);
    expect(Math.abs(corrA) / varA).toBeGreaterThan(0.99);
    expect(Math.abs(corrB) / varB).toBeGreaterThan(0.95);
  });

  it('checks the buffer size', () => {
    expect(() => pca2d(new Float32Array(5), 2, 3)).toThrow(/expected n\*d = 6/);
  });
});
