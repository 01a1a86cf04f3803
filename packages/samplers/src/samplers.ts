/**
 * Batch samplers: each `epoch(labels, e)` yields Int32Array batches of dataset indices, a pure
 * function of (seed, labels, e) — so resuming at epoch e replays it exactly.
 */
import type { Rng, SamplerPart } from '@supcon/core';

function check(name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name}: expected an integer >= ${min}, got ${value}`);
}

function byClass(labels: ArrayLike<number>): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    let g = groups.get(label);
    if (!g) groups.set(label, (g = []));
    g.push(i);
  }
  return groups;
}

export interface RandomSamplerOptions {
  batchSize: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** Every index once per epoch, in a fresh seeded order each epoch. */
export function randomSampler(rng: Rng, options: RandomSamplerOptions): SamplerPart {
  const { batchSize, dropLast = false } = options;
  check('random.batchSize', batchSize);
  const count = (n: number) => (dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize));
  return {
    *epoch(labels, epochIndex) {
      const order = Int32Array.from({ length: labels.length }, (_, i) => i);
      rng.fork(`epoch-${epochIndex}`).shuffle(order);
      const batches = count(order.length);
      for (let b = 0; b < batches; b++) yield order.slice(b * batchSize, Math.min((b + 1) * batchSize, order.length));
    },
    batchesPerEpoch: (labels) => count(labels.length),
  };
}

export interface MPerClassOptions {
  /** Images of each class in a batch. */
  m: number;
  /** A multiple of m: batchSize / m classes per batch. */
  batchSize: number;
  /** Batches per epoch (default: floor(dataset size / batchSize)). */
  batchesPerEpoch?: number;
}

/**
 * m-per-class batches: every batch holds exactly m images of each of batchSize/m distinct
 * classes. Epoch length: `batchesPerEpoch` batches (default floor(N / batchSize), so about one
 * pass over the data). Classes are drawn without replacement within a batch; images of a class
 * are taken from a per-class shuffled cycle, so over an epoch each image is used about equally;
 * a class with fewer than m images repeats its images within the batch (sampling with
 * replacement) — the stated rule for small classes.
 */
export function mPerClassSampler(rng: Rng, options: MPerClassOptions): SamplerPart {
  const { m, batchSize } = options;
  check('m-per-class.m', m);
  check('m-per-class.batchSize', batchSize);
  if (batchSize % m !== 0) throw new RangeError(`m-per-class.batchSize: must be a multiple of m (${m}), got ${batchSize}`);
  const classesPerBatch = batchSize / m;
  const perEpoch = (labels: ArrayLike<number>) => options.batchesPerEpoch ?? Math.max(1, Math.floor(labels.length / batchSize));
  return {
    *epoch(labels, epochIndex) {
      const groups = byClass(labels);
      if (groups.size < classesPerBatch) {
        throw new RangeError(`m-per-class: batchSize / m = ${classesPerBatch} classes per batch, but the labels have only ${groups.size} classes`);
      }
      const r = rng.fork(`epoch-${epochIndex}`);
      const classes = [...groups.keys()].sort((a, b) => a - b);
      const cursors = new Map<number, { order: number[]; pos: number }>();
      for (const c of classes) cursors.set(c, { order: r.shuffle([...groups.get(c)!]), pos: 0 });
      const take = (c: number): number => {
        const cur = cursors.get(c)!;
        if (cur.pos >= cur.order.length) {
          r.shuffle(cur.order);
          cur.pos = 0;
        }
        return cur.order[cur.pos++];
      };
      for (let b = 0; b < perEpoch(labels); b++) {
        const chosen = r.shuffle([...classes]).slice(0, classesPerBatch);
        const batch = new Int32Array(batchSize);
        let k = 0;
        for (const c of chosen) {
          const group = groups.get(c)!;
          if (group.length >= m) for (let j = 0; j < m; j++) batch[k++] = take(c);
          else for (let j = 0; j < m; j++) batch[k++] = group[r.int(group.length)];
        }
        yield batch;
      }
    },
    batchesPerEpoch: perEpoch,
  };
}

export interface ClassWeightedOptions {
  batchSize: number;
  /** Sampling weight of an image ∝ count(class)^-power (default 1: classes equally likely; 0: uniform). */
  power?: number;
  /** Batches per epoch (default ceil(N / batchSize)). */
  batchesPerEpoch?: number;
}

/** For imbalanced data: images drawn with replacement, weight ∝ (class count)^-power. */
export function classWeightedSampler(rng: Rng, options: ClassWeightedOptions): SamplerPart {
  const { batchSize, power = 1 } = options;
  check('class-weighted.batchSize', batchSize);
  if (!(power >= 0)) throw new RangeError(`class-weighted.power: expected a number >= 0, got ${power}`);
  const perEpoch = (labels: ArrayLike<number>) => options.batchesPerEpoch ?? Math.ceil(labels.length / batchSize);
  return {
    *epoch(labels, epochIndex) {
      const groups = byClass(labels);
      const cumulative = new Float64Array(labels.length);
      let total = 0;
      for (let i = 0; i < labels.length; i++) {
        total += groups.get(labels[i])!.length ** -power;
        cumulative[i] = total;
      }
      const r = rng.fork(`epoch-${epochIndex}`);
      for (let b = 0; b < perEpoch(labels); b++) {
        const batch = new Int32Array(batchSize);
        for (let j = 0; j < batchSize; j++) {
          const u = r.next() * total;
          let lo = 0;
          let hi = cumulative.length - 1;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (cumulative[mid] > u) hi = mid;
            else lo = mid + 1;
          }
          batch[j] = lo;
        }
        yield batch;
      }
    },
    batchesPerEpoch: perEpoch,
  };
}
