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
  private count = 0;
  private next = 0;

  constructor(size: number, dim: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`train.memory.size: expected an integer >= 1 for a bank, got ${size}`);
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`memory bank: expected a projection dim >= 1, got ${dim}`);
    this.size = size;
    this.dim = dim;
    this.rows = new Float32Array(size * dim);
    this.rowLabels = new Int32Array(size);
  }

  /** Rows held now. */
  get length(): number {
    return this.count;
  }

  /** The rows held, oldest first, as `{ features [M, dim], labels [M] }`; undefined when empty. */
  tensors(): { features: tf.Tensor2D; labels: tf.Tensor1D } | undefined {
    if (this.count === 0) return undefined;
    const { dim } = this;
    const features = new Float32Array(this.count * dim);
    const labels = new Int32Array(this.count);
    // Full: the oldest row is at `next`; filling: rows 0..count-1 in order.
    const start = this.count === this.size ? this.next : 0;
    const head = this.count - start;
    features.set(this.rows.subarray(start * dim, (start + head) * dim), 0);
    labels.set(this.rowLabels.subarray(start, start + head), 0);
    if (start > 0) {
      features.set(this.rows.subarray(0, start * dim), head * dim);
      labels.set(this.rowLabels.subarray(0, start), head);
    }
    return { features: tf.tensor2d(features, [this.count, dim]), labels: tf.tensor1d(labels, 'int32') };
  }

  /** Appends `labels.length` rows of `features` (row-major, `dim` each), dropping the oldest when full. */
  push(features: Float32Array, labels: ArrayLike<number>): void {
    const n = labels.length;
    if (features.length !== n * this.dim) throw new Error(`memory bank: ${features.length} values for ${n} rows of ${this.dim}`);
    // More rows than the bank holds: only the last `size` can stay.
    const first = Math.max(0, n - this.size);
    for (let r = first; r < n; r++) {
      this.rows.set(features.subarray(r * this.dim, (r + 1) * this.dim), this.next * this.dim);
      this.rowLabels[this.next] = labels[r]!;
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
    };
  }

  /** Loads a saved bank of the same size and dim. */
  restore(state: MemoryBankState): void {
    if (state.size !== this.size || state.dim !== this.dim)
      throw new Error(`memory bank: the checkpoint holds a bank of ${state.size} x ${state.dim}, the config asks for ${this.size} x ${this.dim} (train.memory.size and the head's dim must match to resume)`);
    this.rows.set(new Float32Array(fromBase64(state.features, this.rows.byteLength, 'features').buffer));
    this.rowLabels.set(new Int32Array(fromBase64(state.labels, this.rowLabels.byteLength, 'labels').buffer));
    this.count = state.count;
    this.next = state.next;
  }
}
