/**
 * Encoder features of a trained checkpoint, as tools/dump-encoder-features.mjs writes them: a
 * header FILE.json (shape, per split its rows, row offset and labels, the source checkpoint, the
 * commit, the sha256 of the data) and FILE.f32, float32 little-endian rows, train then test.
 *
 * - bench/reference/fashion-encoder-subset.*: committed, 200 train / 100 test images per class
 *   (the pixel case's images), 128-d;
 * - bench-results/fashion-encoder-full.* at the repository root: all 60000 / 10000 images, not
 *   committed (34 MiB): probe.bench.ts writes it when the checkpoint is at hand.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Split } from './fashion-subset';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const CHECKPOINT_SUBSET = path.join(__dirname, 'reference', 'fashion-encoder-subset.json');
export const CHECKPOINT_FULL = path.join(REPO_ROOT, 'bench-results', 'fashion-encoder-full.json');

export interface FeaturesHeader {
  format: 'supcon-encoder-features';
  version: number;
  data: string;
  dtype: 'float32';
  byteOrder: 'little';
  shape: [number, number];
  sha256: string;
  splits: Record<'train' | 'test', { rows: number; rowOffset: number; labels: number[]; indices?: number[] }>;
  source: { run: string; runName: string; checkpoint: string; epochsCompleted: number; globalStep: number; checkpointCreatedAt: string };
  commit: string;
  backend: string;
}

/** Reads a features file; `verify` checks the data against the header's sha256. */
export function readCheckpointFeatures(headerFile: string, verify = true): { train: Split; test: Split; header: FeaturesHeader } {
  const header = JSON.parse(readFileSync(headerFile, 'utf8')) as FeaturesHeader;
  if (header.format !== 'supcon-encoder-features' || header.dtype !== 'float32' || header.byteOrder !== 'little') {
    throw new Error(`readCheckpointFeatures: ${headerFile} is not a float32 little-endian supcon-encoder-features header`);
  }
  const dataFile = path.join(path.dirname(headerFile), header.data);
  if (!existsSync(dataFile)) throw new Error(`readCheckpointFeatures: ${dataFile} (named by ${headerFile}) is missing`);
  const bytes = readFileSync(dataFile);
  const [rows, dim] = header.shape;
  if (bytes.length !== rows * dim * 4) throw new Error(`readCheckpointFeatures: ${dataFile} has ${bytes.length} bytes, expected ${rows} x ${dim} float32`);
  if (verify) {
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== header.sha256) throw new Error(`readCheckpointFeatures: ${dataFile} has sha256 ${sha}, its header says ${header.sha256}`);
  }
  // an aligned little-endian copy (every host this runs on is little-endian; DataView would be slow)
  const all = new Float32Array(rows * dim);
  new Uint8Array(all.buffer).set(bytes);
  const split = (name: 'train' | 'test'): Split => {
    const s = header.splits[name];
    return { x: all.subarray(s.rowOffset * dim, (s.rowOffset + s.rows) * dim), y: Int32Array.from(s.labels), n: s.rows, dim };
  };
  return { train: split('train'), test: split('test'), header };
}
