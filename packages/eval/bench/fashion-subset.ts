/**
 * The Fashion-MNIST subset and the fixed "encoder" of the probe-vs-sklearn comparison, the same
 * as bench/probe-vs-sklearn.py builds them (used by probe.bench.ts and test/probe-sklearn.test.ts).
 *
 * Data: Debian's dataset-fashion-mnist (`/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz`):
 * the first `trainPerClass` images of each class of train-images (file order) and the first
 * `testPerClass` of each class of t10k-images, pixels / 255, rows in file order.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

/** Whether the four IDX files are present in `dir`. */
export function hasFashionMnist(dir = FASHION_MNIST_DIR): boolean {
  return FILES.every((f) => existsSync(path.join(dir, f)));
}

/** An IDX file (gzipped or not): its dimensions and uint8 payload. */
export function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  let raw: Uint8Array = readFileSync(file);
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0);
  if (magic >> 8 !== 0x08) throw new Error(`readIdx: ${file} is not a uint8 IDX file (magic 0x${magic.toString(16)})`);
  const dims = Array.from({ length: magic & 0xff }, (_, i) => view.getUint32(4 + 4 * i));
  return { dims, data: raw.subarray(4 + 4 * dims.length) };
}

export interface Split {
  /** `[n * dim]` row-major, pixels / 255. */
  x: Float32Array;
  y: Int32Array;
  n: number;
  dim: number;
}

function take(dir: string, prefix: string, perClass: number): Split {
  const images = readIdx(path.join(dir, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(path.join(dir, `${prefix}-labels-idx1-ubyte.gz`)).data;
  const dim = (images.dims[1] as number) * (images.dims[2] as number);
  const taken = new Array<number>(10).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < labels.length && keep.length < 10 * perClass; i++) {
    const c = labels[i] as number;
    if ((taken[c] as number) < perClass) {
      taken[c] = (taken[c] as number) + 1;
      keep.push(i);
    }
  }
  const x = new Float32Array(keep.length * dim);
  keep.forEach((src, row) => {
    for (let j = 0; j < dim; j++) x[row * dim + j] = (images.data[src * dim + j] as number) / 255;
  });
  return { x, y: Int32Array.from(keep, (i) => labels[i] as number), n: keep.length, dim };
}

/** The comparison's subset: 200 train / 100 test images per class by default. */
export function fashionSubset(trainPerClass = 200, testPerClass = 100, dir = FASHION_MNIST_DIR): { train: Split; test: Split } {
  if (!hasFashionMnist(dir)) {
    throw new Error(`fashionSubset: Fashion-MNIST IDX files not found in ${dir} (apt-get install dataset-fashion-mnist)`);
  }
  return { train: take(dir, 'train', trainPerClass), test: take(dir, 't10k', testPerClass) };
}

/**
 * mulberry32 (Tommy Ettinger, public domain): uniform floats in [0, 1) from one 32-bit state.
 * The Python side (probe-vs-sklearn.py) implements the same recurrence, so both draw the same
 * stream from a seed.
 */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ENCODER_SEED = 1234;
export const ENCODER_DIM = 512;

/**
 * The fixed nonlinear "encoder" relu(x R + c): R `[dim, 512]` (row-major) then c `[512]` drawn
 * from mulberry32(1234), R uniform in ±sqrt(3 / dim), c uniform in ±0.5.
 */
export function encoderFeatures(split: Split, seed = ENCODER_SEED, out = ENCODER_DIM): Split {
  const draw = mulberry32(seed);
  const a = Math.sqrt(3 / split.dim);
  const r = Float32Array.from({ length: split.dim * out }, () => (2 * draw() - 1) * a);
  const c = Float32Array.from({ length: out }, () => (2 * draw() - 1) * 0.5);
  const h = tf.tidy(() => tf.relu(tf.add(tf.matMul(tf.tensor2d(split.x, [split.n, split.dim]), tf.tensor2d(r, [split.dim, out])), tf.tensor1d(c))));
  const x = h.dataSync() as Float32Array;
  h.dispose();
  return { x, y: split.y, n: split.n, dim: out };
}
