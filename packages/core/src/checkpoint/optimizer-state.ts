/**
 * An optimizer's state (`getWeights()`: iteration count, moments, ...) as files and back:
 * `optimizer.bin` (its variables in order) and `optimizer.json` (`{ className, weights: [{ name, shape, dtype }] }`).
 */
import { io, Variable } from '@tensorflow/tfjs-core';
import type { Optimizer, Tensor } from '@tensorflow/tfjs-core';
import type { RunStorage, StorageFile } from '../storage/types';
import { joinPath, readText } from '../storage/types';
import { toArrayBuffer, weightBytes } from './model-files';

/** One optimizer variable as `optimizer.getWeights()` returns it. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

interface OptimizerJson {
  className: string;
  weights: io.WeightsManifestEntry[];
}

export const OPTIMIZER_FILE = 'optimizer.json';
const OPTIMIZER_DATA = 'optimizer.bin';

/**
 * The optimizer's files: data first, then the manifest. The iteration scalar `getWeights()`
 * creates is disposed, so no tensors are left behind.
 */
export async function optimizerFiles(optimizer: Optimizer): Promise<StorageFile[]> {
  const className = optimizer.getClassName();
  const weights = await optimizer.getWeights();
  try {
    // Names are not unique across optimizers' variables: save them by position.
    const { data, specs } = await io.encodeWeights(weights.map((w, i) => ({ name: `${i}`, tensor: w.tensor })));
    const manifest: OptimizerJson = { className, weights: specs.map((s, i) => ({ ...s, name: weights[i].name })) };
    return [
      { name: OPTIMIZER_DATA, data: weightBytes(data) },
      { name: OPTIMIZER_FILE, data: JSON.stringify(manifest) },
    ];
  } finally {
    for (const w of weights) if (!(w.tensor instanceof Variable)) w.tensor.dispose();
  }
}

/** The saved optimizer of the checkpoint folder `dir`: its class and its variables as new tensors (the caller owns them). */
export async function readOptimizerState(storage: RunStorage, dir: string, file: string): Promise<{ className: string; weights: NamedTensor[] }> {
  const text = await readText(storage, joinPath(dir, file));
  const data = await storage.read(joinPath(dir, OPTIMIZER_DATA));
  if (text === undefined || data === undefined) throw new Error(`loadCheckpoint: ${storage.describe(dir)} lacks ${text === undefined ? file : OPTIMIZER_DATA}`);
  const manifest = JSON.parse(text) as OptimizerJson;
  const byIndex = io.decodeWeights(toArrayBuffer(data), manifest.weights.map((s, i) => ({ ...s, name: `${i}` })));
  return { className: manifest.className, weights: manifest.weights.map((s, i) => ({ name: s.name, tensor: byIndex[`${i}`] })) };
}

/**
 * Sets `optimizer`'s state to `weights` (same class, same variables in the same order) and
 * disposes `weights`. tfjs optimizers' setWeights makes new variables and drops the old ones
 * without disposing them: those it no longer holds are disposed, so loading into a used
 * optimizer does not leak.
 */
export async function restoreOptimizer(optimizer: Optimizer, saved: { className: string; weights: NamedTensor[] }): Promise<void> {
  const { className, weights } = saved;
  const actual = optimizer.getClassName();
  if (actual !== className) {
    for (const w of weights) w.tensor.dispose();
    throw new Error(`loadCheckpoint: the checkpoint's optimizer is ${className}, the optimizer passed is ${actual}`);
  }
  const previous = await optimizer.getWeights();
  try {
    await optimizer.setWeights(weights);
    const current = await optimizer.getWeights();
    const kept = new Set(current.map((w) => w.tensor));
    for (const w of current) if (!(w.tensor instanceof Variable)) w.tensor.dispose();
    for (const w of previous) if (w.tensor instanceof Variable && !kept.has(w.tensor) && !w.tensor.isDisposed) w.tensor.dispose();
  } finally {
    for (const w of previous) if (!(w.tensor instanceof Variable)) w.tensor.dispose();
    for (const w of weights) w.tensor.dispose();
  }
}
