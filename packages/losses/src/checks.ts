import type { Tensor } from '@tensorflow/tfjs-core';

/** Throws `fn: message` unless `ok`. */
export function assert(ok: boolean, fn: string, message: string): asserts ok {
  if (!ok) throw new Error(`${fn}: ${message}`);
}

export function assertRank(t: Tensor | undefined | null, rank: number, fn: string, name: string, layout: string): void {
  assert(t != null && typeof t === 'object' && 'rank' in t, fn, `${name} must be a tensor ${layout}`);
  assert(t.rank === rank, fn, `${name} must be ${layout}, got shape [${t.shape.join(', ')}]`);
}

export function assertPositive(value: number, fn: string, name: string): void {
  assert(typeof value === 'number' && Number.isFinite(value) && value > 0, fn, `${name} must be a positive number, got ${value}`);
}

export function assertOneOf<T extends string>(value: T, allowed: readonly T[], fn: string, name: string): void {
  assert(allowed.includes(value), fn, `${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${String(value)}'`);
}

/** Labels as plain integers (from a small 1-D tensor). */
export function labelValues(labels: Tensor, fn: string, expected: number): Int32Array {
  assertRank(labels, 1, fn, 'labels', '[batch]');
  assert(labels.shape[0] === expected, fn, `labels has ${labels.shape[0]} entries, features has batch ${expected}`);
  const values = labels.dataSync();
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    assert(Number.isInteger(values[i]), fn, `labels must be integers, got ${values[i]} at index ${i}`);
    out[i] = values[i];
  }
  return out;
}
