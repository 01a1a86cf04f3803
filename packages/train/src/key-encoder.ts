/**
 * The momentum key encoder of `train.memory.momentum` (MoCo, He et al. 2020): a second model of the
 * same architecture as the trained (query) model, encoder + head, whose projections are what the
 * memory bank stores. Its weights start as a copy of the query model's and then follow them
 * slowly: after every step's update, for each trainable weight,
 *
 *   key = m * key + (1 - m) * query        (float32: m and 1 - m rounded to float32 once, as tfjs does)
 *
 * As in MoCo, whose update runs over the key encoder's `parameters()` (not its buffers), the
 * batch-norm moving statistics (non-trainable weights) are not averaged: the key model keeps its
 * own, updated by its own training-mode forward (batch statistics, as MoCo's key encoder in
 * train mode). Other non-trainable weights (frozen layers) stay the copy made at the start, which
 * is what the query model holds too.
 *
 * Every weight (moving statistics included) is saved in the checkpoint's task state as float32
 * base64, in weight order, with its shape, so that a resumed run is byte-exact.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fromBase64, toBase64 } from './memory-bank';

/** A key encoder in a checkpoint's task state (JSON). A type, not an interface: it must be a JSON value. */
export type KeyEncoderState = {
  momentum: number;
  /** Every weight of the key model (trainable and not), in the model's weight order. */
  weights: { shape: number[]; data: string }[];
};

const WHO = 'train.memory.momentum';
const shapeText = (shape: readonly (number | null)[]) => `[${shape.join(', ')}]`;

export class KeyEncoder {
  readonly momentum: number;
  private readonly model: tfl.LayersModel;
  /** The key model's trainable variables, paired by position with the query model's. */
  private readonly trainable: tf.Variable[];
  /** Its other variables (batch-norm moving statistics): a forward in training mode updates them. */
  private readonly statistics: tf.Variable[];
  /** Their values before the last `project`, until `settle`. */
  private before: tf.Tensor[] | undefined;
  private disposed = false;

  /**
   * Takes `key` (a model of `query`'s architecture, its own weights; this object disposes it) and
   * sets every weight of it to the query model's current values.
   */
  constructor(key: tfl.LayersModel, query: tfl.LayersModel, momentum: number) {
    if (!(momentum >= 0 && momentum < 1)) throw new Error(`${WHO}: expected a number from 0 up to (not including) 1, got ${momentum}`);
    const mismatch = (what: string, a: readonly { shape: readonly (number | null)[] }[], b: readonly { shape: readonly (number | null)[] }[]): string | undefined => {
      if (a.length !== b.length) return `${what}: the key model has ${a.length}, the trained model ${b.length}`;
      const i = a.findIndex((w, j) => shapeText(w.shape) !== shapeText(b[j]!.shape));
      return i < 0 ? undefined : `${what} ${i}: the key model's is ${shapeText(a[i]!.shape)}, the trained model's ${shapeText(b[i]!.shape)}`;
    };
    const problem = mismatch('weights', key.weights, query.weights) ?? mismatch('trainable weights', key.trainableWeights, query.trainableWeights);
    if (problem) {
      key.dispose();
      throw new Error(`${WHO}: the key model does not have the trained model's architecture (${problem}); the backbone and head factories must build the same model each time`);
    }
    const notFloat = key.weights.find((w) => w.dtype !== 'float32');
    if (notFloat) {
      key.dispose();
      throw new Error(`${WHO}: weight ${notFloat.name} is ${notFloat.dtype}; a key encoder averages float32 weights only`);
    }
    this.model = key;
    this.momentum = momentum;
    this.trainable = key.trainableWeights.map((w) => w.read() as tf.Variable);
    this.statistics = key.nonTrainableWeights.map((w) => w.read() as tf.Variable);
    // The variables share the query's data until either is next assigned (tensors are immutable).
    key.setWeights(query.getWeights());
  }

  /**
   * The key model's projections of `x` `[n, dim]`: a training-mode forward (batch statistics; the
   * key model's own moving statistics update), a new tensor the caller disposes. Call `settle`
   * once the step is decided, to keep or undo the moving statistics' update.
   *
   * Run it under the step's gradient tape, beside the query model's forward: no gradient is
   * taken for it (its variables are not differentiated and the loss does not use it), but tfjs
   * computes a dense layer with a bias and an activation as one fused kernel outside a tape and
   * as matMul, add and activation under one, which round differently; under the same tape, equal
   * weights give bitwise the query model's own projections.
   */
  project(x: tf.Tensor): tf.Tensor2D {
    this.check();
    this.settle(true);
    this.before = this.statistics.map((v) => tf.keep(tf.clone(v)));
    return tf.tidy(() => this.model.apply(x, { training: true }) as tf.Tensor2D);
  }

  /** After `project`: keep the moving statistics it updated (`kept`), or put back what they were. */
  settle(kept: boolean): void {
    const before = this.before;
    if (!before) return;
    this.before = undefined;
    if (!kept) this.statistics.forEach((v, i) => v.assign(before[i]!));
    tf.dispose(before);
  }

  /** The EMA step: each trainable key weight becomes m * key + (1 - m) * query (`query`: the trained model's trainable variables, in order). */
  follow(query: readonly tf.Variable[]): void {
    this.check();
    if (query.length !== this.trainable.length) throw new Error(`${WHO}: ${query.length} trainable weights to follow, the key model has ${this.trainable.length}`);
    const m = this.momentum;
    tf.tidy(() => {
      this.trainable.forEach((key, i) => key.assign(tf.add(tf.mul(key, m), tf.mul(query[i]!, 1 - m))));
    });
  }

  /** Every weight's values (a copy), in the model's weight order. */
  weights(): Float32Array[] {
    this.check();
    return this.model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
  }

  state(): KeyEncoderState {
    this.check();
    return {
      momentum: this.momentum,
      weights: this.model.weights.map((w) => {
        const values = w.read().dataSync() as Float32Array;
        return { shape: [...w.read().shape], data: toBase64(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)) };
      }),
    };
  }

  /** Loads saved weights into the key model. @throws a sentence when the state does not fit this model. */
  restore(state: KeyEncoderState): void {
    this.check();
    const weights = this.model.weights;
    if (state.momentum !== this.momentum)
      throw new Error(`${WHO}: the checkpoint's key encoder has momentum ${state.momentum}, the config asks for ${this.momentum} (resume a run with its own config)`);
    if (!Array.isArray(state.weights) || state.weights.length !== weights.length)
      throw new Error(`${WHO}: the checkpoint's key encoder holds ${Array.isArray(state.weights) ? state.weights.length : 'no'} weights, the model has ${weights.length} (the backbone and head must match to resume)`);
    weights.forEach((w, i) => {
      const saved = state.weights[i]!;
      if (typeof saved?.data !== 'string') throw new Error(`${WHO}: the checkpoint's key encoder weight ${i} holds no data`);
      if (!Array.isArray(saved.shape) || shapeText(saved.shape) !== shapeText(w.shape))
        throw new Error(`${WHO}: the checkpoint's key encoder weight ${i} has shape ${Array.isArray(saved.shape) ? shapeText(saved.shape) : 'none'}, the model's ${w.name} is ${shapeText(w.shape)} (the backbone and head must match to resume)`);
    });
    const values = state.weights.map((saved, i) => {
      const bytes = fromBase64(saved.data, weights[i]!.read().size * 4, `key encoder weight ${i}`, WHO);
      return tf.tensor(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), saved.shape, 'float32');
    });
    try {
      this.model.setWeights(values);
    } finally {
      tf.dispose(values);
    }
  }

  /** Frees the key model's weights; the encoder is unusable after. */
  dispose(): void {
    if (this.disposed) return;
    this.settle(true);
    this.disposed = true;
    this.model.dispose();
  }

  private check(): void {
    if (this.disposed) throw new Error(`${WHO}: the key encoder was disposed (training is over)`);
  }
}
