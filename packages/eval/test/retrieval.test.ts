import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@supcon/core';
import { clusteringNmi, kMeans, normalizedMutualInformation, retrievalMetrics } from '../src';
import { clusters, useCpu } from './helpers';

beforeAll(useCpu);

const polar = (angles: number[]): tf.Tensor2D => tf.tensor2d(angles.map((a) => [Math.cos(a), Math.sin(a)]));

describe('retrievalMetrics', () => {
  it('matches a hand-computed case against a reference set', () => {
    const q = polar([0, Math.PI / 2]);
    const ref = polar([0.1, 0.2, 0.3, 0.4, 0.5]);
    const before = tf.memory().numTensors;
    const r = retrievalMetrics(q, [0, 1], { recallK: [1, 2] }, { features: ref, labels: [0, 1, 0, 1, 0] });
    expect(tf.memory().numTensors).toBe(before);
    // query 0: ranking labels [0,1,0,1,0], R = 3 -> AP@R = (1 + 2/3) / 3; query 1: ranking [0,1,0,1,0], R = 2 -> (1/2) / 2
    expect(r.mapAtR).toBeCloseTo((5 / 9 + 1 / 4) / 2, 6);
    expect(r.precisionAt1).toBeCloseTo(0.5);
    expect(r.recallAtK).toEqual({ '1': 0.5, '2': 1 });
    expect(r.rPrecision).toBeCloseTo((2 / 3 + 1 / 2) / 2, 6);
    tf.dispose([q, ref]);
  });

  it('MAP@R rewards ranking order within the top R (paper definition)', () => {
    // R = 3 with relevant items at ranks 1 and 3 vs ranks 1 and 2
    const q = polar([0]);
    const a = retrievalMetrics(q, [0], {}, { features: polar([0.1, 0.2, 0.3, 0.4]), labels: [0, 1, 0, 0] });
    const b = retrievalMetrics(q, [0], {}, { features: polar([0.1, 0.2, 0.3, 0.4]), labels: [0, 0, 1, 0] });
    expect(a.mapAtR).toBeCloseTo((1 + 2 / 3) / 3, 6);
    expect(b.mapAtR).toBeCloseTo((1 + 1) / 3, 6);
    expect(a.rPrecision).toBeCloseTo(b.rPrecision); // R-precision ignores the order
    tf.dispose(q);
  });

  it('leave-one-out excludes the query itself', () => {
    const x = polar([0, 0.1, 0.05]);
    const r = retrievalMetrics(x, [0, 0, 1], { recallK: [1, 2] });
    // the third query has no other same-class item and is skipped
    expect(r.precisionAt1).toBe(0);
    expect(r.mapAtR).toBe(0);
    expect(r.recallAtK).toEqual({ '1': 0, '2': 1 });
    x.dispose();
  });

  it('is perfect on separated clusters and validates its inputs', () => {
    const { x, y } = clusters(4, 10, 8, 0.05, 1);
    const t = tf.tensor2d(x);
    const r = retrievalMetrics(t, y);
    expect(r.precisionAt1).toBe(1);
    expect(r.mapAtR).toBeCloseTo(1, 6);
    expect(() => retrievalMetrics(t, y.slice(1))).toThrow(/queries has 40 rows, labels has 39 entries/);
    t.dispose();
  });
});

describe('NMI and k-means', () => {
  it('NMI: perfect = 1 (any permutation), independent = 0, hand-computed case', () => {
    expect(normalizedMutualInformation([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 1, 1])).toBeCloseTo(1, 12);
    expect(normalizedMutualInformation([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(0, 12);
    // MI = (2/3) ln 2, H(a) = ln 2, H(b) = ln 3 -> MI / ((H(a)+H(b))/2)
    const expected = ((2 / 3) * Math.log(2)) / ((Math.log(2) + Math.log(3)) / 2);
    expect(normalizedMutualInformation([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])).toBeCloseTo(expected, 12);
    expect(expected).toBeCloseTo(0.515804, 5);
  });

  it('NMI of random labelings is near 0', () => {
    const rng = createRng(3);
    const a = Array.from({ length: 5000 }, () => rng.int(5));
    const b = Array.from({ length: 5000 }, () => rng.int(5));
    expect(normalizedMutualInformation(a, b)).toBeLessThan(0.01);
  });

  it('k-means finds 1-D clusters with the hand-computed centroids and inertia', () => {
    const data = [0, 1, 2, 10, 11, 12];
    const km = kMeans(data, 6, 1, 2, createRng(0));
    const c = Array.from(km.centroids).sort((p, q) => p - q);
    expect(c).toEqual([1, 11]);
    expect(km.inertia).toBeCloseTo(4);
    expect(km.assignments[0]).toBe(km.assignments[2]);
    expect(km.assignments[0]).not.toBe(km.assignments[3]);
  });

  it('clusteringNmi is 1 on separated clusters, deterministic under the seed, leak-free', () => {
    const { x, y } = clusters(5, 20, 6, 0.05, 2);
    const t = tf.tensor2d(x);
    const before = tf.memory().numTensors;
    const a = clusteringNmi(t, y, createRng(7));
    expect(tf.memory().numTensors).toBe(before);
    expect(a.nmi).toBeCloseTo(1, 10);
    expect(a.numClusters).toBe(5);
    const noisy = clusters(5, 20, 6, 2, 2);
    const tn = tf.tensor2d(noisy.x);
    const r1 = clusteringNmi(tn, noisy.y, createRng(7));
    const r2 = clusteringNmi(tn, noisy.y, createRng(7));
    expect(r1).toEqual(r2);
    tf.dispose([t, tn]);
  });
});
