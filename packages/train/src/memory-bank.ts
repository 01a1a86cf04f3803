/**
 * The memory bank of `train.memory`: a FIFO queue of earlier steps' projections and labels that the
 * loss adds to its contrast set (never anchors, no gradient). Rows are pushed after each step's
 * loss and update, so a step never contrasts its anchors with themselves. Held in plain typed
 * arrays (not tensors), saved in checkpoints so that a resumed run is byte-exact.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A bank in a checkpoint's task state (JSON): its rows as base64 of little-endian bytes. */
// A type, not an interface: checkpoint state must be a JSON value (an index signature).
export type MemoryBankState = {
  size: number;
  dim: number;
  /** Rows held (at most `size`). */
  count: number;
  /** Where the next row is written (the oldest row, once full). */
  next: number;
  features: string;
  labels: string;
  /** Banks of a `loss.multiLabel` run: the rows' multi-hot labels, `size * classes` bytes of 0/1. */
  classes?: number;
  multiHot?: string;
};

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));
/** The value of each base64 character code, 255 for any other. */
const B64_VALUES = (() => {
  const values = new Uint8Array(256).fill(255);
  B64_CODES.forEach((code, i) => (values[code] = i));
  return values;
})();
const ascii = new TextDecoder('latin1');

/** Base64 (standard alphabet, `=` padding) of `bytes`; checkpoint state holds weights and rows this way. */
export function toBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let j = 0;
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    out[j++] = B64_CODES[a >> 2]!;
    out[j++] = B64_CODES[((a & 3) << 4) | (b >> 4)]!;
    out[j++] = i + 1 < bytes.length ? B64_CODES[((b & 15) << 2) | (c >> 6)]! : 61; // '='
    out[j++] = i + 2 < bytes.length ? B64_CODES[c & 63]! : 61;
  }
  return ascii.decode(out);
}

/**
 * The bytes of base64 `text`, which must hold exactly `byteLength` of them.
 * @throws `${who}: ${what} is not base64 ...` / `... holds N bytes, expected M`.
 */
export function fromBase64(text: string, byteLength: number, what: string, who = 'memory bank'): Uint8Array {
  let length = text.length;
  while (length > 0 && text.charCodeAt(length - 1) === 61) length--;
  const bytes = new Uint8Array(Math.floor((length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    const d = code < 256 ? B64_VALUES[code]! : 255;
    if (d === 255) throw new Error(`${who}: ${what} is not base64 (character ${i})`);
    value = ((value << 6) | d) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[j++] = (value >> bits) & 255;
    }
  }
  if (j !== byteLength) throw new Error(`${who}: ${what} holds ${j} bytes, expected ${byteLength}`);
  return bytes;
}

export class MemoryBank {
  readonly size: number;
  readonly dim: number;
  private readonly rows: Float32Array;
  private readonly rowLabels: Int32Array;
  /** With `classes`: each row's multi-hot labels, `classes` bytes of 0/1 per row. */
  readonly classes: number | undefined;
  private readonly rowMultiHot: Uint8Array | undefined;
  private count = 0;
  private next = 0;

  /** `classes`: also keep each row's multi-hot labels (`loss.multiLabel`), `classes` per row. */
  constructor(size: number, dim: number, classes?: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`train.memory.size: expected an integer >= 1 for a bank, got ${size}`);
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`memory bank: expected a projection dim >= 1, got ${dim}`);
    this.size = size;
    this.dim = dim;
    this.rows = new Float32Array(size * dim);
    this.rowLabels = new Int32Array(size);
    if (classes !== undefined) {
      if (!Number.isInteger(classes) || classes < 1) throw new Error(`memory bank: expected a class count >= 1 for multi-hot rows, got ${classes}`);
      this.classes = classes;
      this.rowMultiHot = new Uint8Array(size * classes);
    }
  }

  /** Rows held now. */
  get length(): number {
    return this.count;
  }

  /**
   * The rows held, oldest first, as `{ features [M, dim], labels [M] }`, and `multiHot`
   * float32 `[M, classes]` for a bank with classes; undefined when empty.
   */
  tensors(): { features: tf.Tensor2D; labels: tf.Tensor1D; multiHot?: tf.Tensor2D } | undefined {
    if (this.count === 0) return undefined;
    const { dim } = this;
    // Full: the oldest row is at `next`; filling: rows 0..count-1 in order.
    const start = this.count === this.size ? this.next : 0;
    const inOrder = <T extends Float32Array | Int32Array | Uint8Array>(from: T, out: T, width: number): T => {
      const head = this.count - start;
      out.set(from.subarray(start * width, (start + head) * width), 0);
      if (start > 0) out.set(from.subarray(0, start * width), head * width);
      return out;
    };
    const features = inOrder(this.rows, new Float32Array(this.count * dim), dim);
    const labels = inOrder(this.rowLabels, new Int32Array(this.count), 1);
    const result: { features: tf.Tensor2D; labels: tf.Tensor1D; multiHot?: tf.Tensor2D } = {
      features: tf.tensor2d(features, [this.count, dim]),
      labels: tf.tensor1d(labels, 'int32'),
    };
    if (this.rowMultiHot && this.classes !== undefined) {
      const rows = inOrder(this.rowMultiHot, new Uint8Array(this.count * this.classes), this.classes);
      result.multiHot = tf.tensor2d(Float32Array.from(rows), [this.count, this.classes]);
    }
    return result;
  }

  /**
   * Appends `labels.length` rows of `features` (row-major, `dim` each), dropping the oldest when
   * full; a bank with classes also takes their multi-hot rows (`classes` values of 0/1 each).
   */
  push(features: Float32Array, labels: ArrayLike<number>, multiHot?: Uint8Array): void {
    const n = labels.length;
    if (features.length !== n * this.dim) throw new Error(`memory bank: ${features.length} values for ${n} rows of ${this.dim}`);
    const C = this.classes;
    if (C !== undefined && multiHot?.length !== n * C) throw new Error(`memory bank: expected ${n} multi-hot rows of ${C} classes, got ${multiHot?.length ?? 'none'}`);
    if (C === undefined && multiHot) throw new Error('memory bank: multi-hot rows for a bank without classes');
    // More rows than the bank holds: only the last `size` can stay.
    const first = Math.max(0, n - this.size);
    for (let r = first; r < n; r++) {
      this.rows.set(features.subarray(r * this.dim, (r + 1) * this.dim), this.next * this.dim);
      this.rowLabels[this.next] = labels[r]!;
      if (C !== undefined) this.rowMultiHot!.set(multiHot!.subarray(r * C, (r + 1) * C), this.next * C);
      this.next = (this.next + 1) % this.size;
      if (this.count < this.size) this.count++;
    }
  }

  state(): MemoryBankState {
    return {
      size: this.size,
      dim: this.dim,
      count: this.count,
      next: this.next,
      features: toBase64(new Uint8Array(this.rows.buffer, this.rows.byteOffset, this.rows.byteLength)),
      labels: toBase64(new Uint8Array(this.rowLabels.buffer, this.rowLabels.byteOffset, this.rowLabels.byteLength)),
      ...(this.rowMultiHot ? { classes: this.classes, multiHot: toBase64(this.rowMultiHot) } : {}),
    };
  }

  /** Loads a saved bank of the same size and dim. */
  restore(state: MemoryBankState): void {
    if (state.size !== this.size || state.dim !== this.dim)
      throw new Error(`memory bank: the checkpoint holds a bank of ${state.size} x ${state.dim}, the config asks for ${this.size} x ${this.dim} (train.memory.size and the head's dim must match to resume)`);
    if ((state.classes ?? undefined) !== this.classes)
      throw new Error(
        this.classes === undefined
          ? 'memory bank: the checkpoint holds multi-hot labels (the run was started with loss.multiLabel); resume it with its own config'
          : state.classes === undefined
            ? 'memory bank: the checkpoint holds no multi-hot labels (the run was started without loss.multiLabel); resume it with its own config'
            : `memory bank: the checkpoint's multi-hot rows have ${state.classes} classes, the data has ${this.classes}`,
      );
    // Decoded (and so checked) in full before anything changes.
    const features = fromBase64(state.features, this.rows.byteLength, 'features');
    const labels = fromBase64(state.labels, this.rowLabels.byteLength, 'labels');
    const multiHot = this.rowMultiHot ? fromBase64(state.multiHot ?? '', this.rowMultiHot.byteLength, 'multiHot') : undefined;
    this.rows.set(new Float32Array(features.buffer));
    this.rowLabels.set(new Int32Array(labels.buffer));
    if (multiHot) this.rowMultiHot!.set(multiHot);
    this.count = state.count;
    this.next = state.next;
  }
}
