import { argmaxRows, confusionMatrix, perClassAccuracy, topKAccuracy } from '../src';
import { computeMce, extractCorruptionErrors } from '../src';

describe('classification metrics', () => {
  const scores = [0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.2, 0.3, 0.5];
  const labels = [1, 1, 0];
  it('top-k accuracy on hand-made scores', () => {
    expect(topKAccuracy(scores, labels, 3, 1)).toBeCloseTo(1 / 3);
    expect(topKAccuracy(scores, labels, 3, 2)).toBeCloseTo(2 / 3);
    expect(topKAccuracy(scores, labels, 3, 5)).toBe(1); // capped by numClasses
  });
  it('argmax, confusion matrix and per-class accuracy', () => {
    const pred = argmaxRows(scores, 3);
    expect(pred).toEqual([1, 0, 2]);
    const m = confusionMatrix(pred, labels, 3);
    expect(m).toEqual([
      [0, 0, 1],
      [1, 1, 0],
      [0, 0, 0],
    ]);
    expect(perClassAccuracy(m)).toEqual([0, 0.5, 0]);
  });
  it('names the arguments on bad input', () => {
    expect(() => topKAccuracy([1, 2], [0, 1], 3, 1)).toThrow(/scores has 2 entries.*labels \(2\) x numClasses \(3\)/);
  });
});

describe('computeMce', () => {
  it('matches the Hendrycks & Dietterich formula on hand numbers', () => {
    const { mCE, ce } = computeMce({ a: [0.1, 0.2], b: [0.3, 0.3] }, { a: [0.2, 0.2], b: [0.3, 0.9] });
    expect(ce.a).toBeCloseTo(75); // 0.3 / 0.4
    expect(ce.b).toBeCloseTo(50); // 0.6 / 1.2
    expect(mCE).toBeCloseTo(62.5);
  });
  it('is 100 against itself and rejects a missing baseline entry', () => {
    expect(computeMce({ a: [0.2, 0.4] }, { a: [0.2, 0.4] }).mCE).toBeCloseTo(100);
    expect(() => computeMce({ a: [0.1] }, { b: [0.1] })).toThrow(/baselineErrors has no entry 'a'/);
  });
  it('extracts errors from a summary.json object', () => {
    const summary = { eval: { corruption: { corruptions: { fog: { error: 0.2, perSeverity: [0.1, 0.3] } } } } };
    expect(extractCorruptionErrors(summary)).toEqual({ fog: [0.1, 0.3] });
    expect(extractCorruptionErrors({ fog: [0.5] })).toEqual({ fog: [0.5] });
    expect(() => extractCorruptionErrors({ x: 'y' })).toThrow(/found no corruption errors/);
  });
});
